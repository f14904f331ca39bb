"""Which published counts to hide so that no small group can be told apart (G-07).

Primary suppression hides every count of 1 to k − 1 people. That alone is not enough where
counts add up to a total that is shown too: with the total and all parts but one on the page,
the hidden part is a subtraction away. So, for each such sum, complementary suppression hides
more cells until every sum with a hidden member has at least two hidden members and, where
the total is known, no small hidden part can be pinned down: a reader knows what the hidden
parts add up to, that "<k" means 1 to k − 1 and that a cell hidden for protection holds 0 or
k or more, so two cells of "<5" adding up to 2 are 1 and 1, and "<5" beside "hidden" adding up
to 6 is 1 beside 5. It picks the smallest other count each time, which loses the least, and
repeats until no sum needs more: hiding a cell can expose it in another sum. Each sum is
checked on its own; a reader solving a whole table of row and column sums at once might still
narrow a cell down further (the usual limit of this heuristic).

Cells are named by any hashable key, so that the same count shown in two tables (visits by
age band and gender in the demographics and the spend table) is hidden in both. A "virtual"
total is one that is never printed but can be worked out (from another distribution with the
same total); it is treated as known and is never hidden itself.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence

log = logging.getLogger(__name__)

Key = Hashable


def is_small(count: int, k: int) -> bool:
    """True when ``count`` people are so few that one could be singled out (G-07)."""
    return 0 < count < k


class Disclosure:
    def __init__(self, k: int):
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k
        self._values: dict[Key, int] = {}
        self._virtual: set[Key] = set()
        self._sums: list[tuple[Key, tuple[Key, ...]]] = []
        self._hidden: set[Key] | None = None

    def add(self, key: Key, count: int, *, virtual: bool = False) -> Key:
        """A count that is published (or, ``virtual``, known without being printed)."""
        if key in self._values and self._values[key] != count:
            raise ValueError(f"cell {key!r} was given two counts, {self._values[key]} and {count}")
        self._values[key] = count
        if virtual:
            self._virtual.add(key)
        self._hidden = None
        return key

    def adds_up(self, total: Key, parts: Sequence[Key]) -> None:
        """The counts of ``parts`` add up to the count of ``total``."""
        missing = [key for key in (total, *parts) if key not in self._values]
        if missing:
            raise KeyError(f"cells not added yet: {missing!r}")
        self._sums.append((total, tuple(parts)))
        self._hidden = None

    def _solve(self) -> set[Key]:
        values, k = self._values, self.k
        hidden = {
            key for key, count in values.items() if is_small(count, k) and key not in self._virtual
        }
        changed = True
        while changed:
            changed = False
            for total, parts in self._sums:
                members = [total, *parts]
                covered = [key for key in members if key in hidden]
                if not covered:
                    continue
                exposed = len(covered) == 1
                if not exposed and total not in hidden:
                    known = values[total] - sum(values[p] for p in parts if p not in hidden)
                    exposed = self._pinned(parts, hidden, known)
                if not exposed:
                    continue
                # A hidden zero can leave a reader unsure which of two protecting cells holds
                # a count, but never narrows down a small part: its true 0 is the one value
                # that fits beside it. Where a small part is at stake zeros are not hidden,
                # else five visits on one day and one on another hid all thirty days before
                # the total was hidden anyway.
                small_at_stake = any(p in hidden and is_small(values[p], k) for p in members)
                candidates = sorted(
                    (p for p in parts if p not in hidden and (values[p] or not small_at_stake)),
                    key=lambda p: (values[p] == 0, values[p]),
                )
                if candidates:
                    hidden.add(candidates[0])
                elif total not in hidden and total not in self._virtual:
                    hidden.add(total)
                else:
                    continue  # nothing left to hide in this sum
                changed = True
        return hidden

    def _pinned(self, parts: Sequence[Key], hidden: set[Key], known: int) -> bool:
        """Whether a reader can tell a small hidden part's exact count, knowing that the
        hidden parts add up to ``known``, that "<k" means 1 to k − 1 and that a cell hidden to
        protect another holds 0 or k or more."""
        k = self.k
        small = sum(1 for p in parts if p in hidden and is_small(self._values[p], k))
        others = sum(1 for p in parts if p in hidden) - small
        if not small:
            return False
        # Every small part has the same range, so one check serves them all.
        m = small - 1  # the other small parts: m to m(k - 1) together
        possible = 0
        for x in range(1, k):
            rest = known - x
            if m <= rest <= m * (k - 1) or (others and rest >= m + k):
                possible += 1
        # With k = 2, "<2" means 1 whatever the sum: the sum tells nothing more.
        return possible < min(2, k - 1)

    @property
    def hidden_keys(self) -> frozenset[Key]:
        if self._hidden is None:
            self._hidden = self._solve()
        return frozenset(self._hidden)

    def hidden(self, key: Key) -> bool:
        return key in self.hidden_keys

    def primary(self, key: Key) -> bool:
        """Hidden because it is small itself (shown as "<k"), not to protect another cell."""
        return is_small(self._values[key], self.k)

    def count(self, key: Key) -> int:
        return self._values[key]

    def __contains__(self, key: Key) -> bool:
        return key in self._values

    def text(self, key: Key, hidden_text: str, shown: str | None = None) -> str:
        """The cell as printed: "<k" for a small count, ``hidden_text`` for one hidden to
        protect another, else ``shown`` (default: the count)."""
        if self.hidden(key):
            return f"<{self.k}" if self.primary(key) else hidden_text
        return str(self._values[key]) if shown is None else shown

    def any_hidden(self, *keys: Key) -> bool:
        """For a figure computed from ``keys`` (a rate, an amount): with the other figures it
        would give a hidden count away."""
        return any(self.hidden(key) for key in keys)
