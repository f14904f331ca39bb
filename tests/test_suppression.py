"""Complementary suppression (core.suppression, G-07): no small count can be worked out from
what is published, checked by an attacker who knows every rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktopapp.core.suppression import Disclosure


def _feasible(domains: list[set[int]], total: int) -> list[set[int]]:
    """For each hidden cell, the values it can take so that all hidden cells add up to
    ``total`` with every cell in its domain (subset-sum, from both ends)."""
    n = len(domains)
    before = [{0}]
    for domain in domains:
        before.append({a + v for a in before[-1] for v in domain if a + v <= total})
    after = [{0}]
    for domain in reversed(domains):
        after.append({a + v for a in after[-1] for v in domain if a + v <= total})
    after.reverse()
    result = []
    for i, domain in enumerate(domains):
        rest = {a + b for a in before[i] for b in after[i + 1] if a + b <= total}
        result.append({v for v in domain if total - v in rest})
    assert n == len(result)
    return result


def _published(d: Disclosure, keys: list[str], total: str) -> tuple[list[str], str]:
    return [d.text(key, "hidden") for key in keys], d.text(total, "hidden")


@settings(max_examples=300, deadline=None)
@given(
    k=st.integers(min_value=3, max_value=6),
    counts=st.lists(st.integers(min_value=0, max_value=14), min_size=1, max_size=6),
)
def test_no_small_count_can_be_worked_out_from_a_shown_total(k: int, counts: list[int]) -> None:
    d = Disclosure(k)
    keys = [d.add(f"c{i}", count) for i, count in enumerate(counts)]
    total = d.add("total", sum(counts))
    d.adds_up(total, keys)
    cells, shown_total = _published(d, keys, total)
    assert all(text == f"<{k}" for text, n in zip(cells, counts, strict=True) if 0 < n < k)
    if shown_total != str(sum(counts)):
        return  # the total itself is hidden: nothing to subtract from
    known = sum(n for text, n in zip(cells, counts, strict=True) if text == str(n))
    # What a reader knows of a hidden cell: "<k" is 1..k-1; "hidden" is 0 or k and more.
    domains = [
        set(range(1, k)) if text == f"<{k}" else {0, *range(k, sum(counts) + 1)}
        for text in cells
        if text in (f"<{k}", "hidden")
    ]
    feasible = _feasible(domains, sum(counts) - known)
    small = [
        v
        for text, v in zip([t for t in cells if t in (f"<{k}", "hidden")], feasible, strict=True)
        if text == f"<{k}"
    ]
    for values in small:
        assert len(values) >= 2, (counts, cells, feasible)


def test_a_row_and_its_column_both_protect_a_small_cell() -> None:
    # visits = new + repeat per bucket, and each column adds up to a shown total.
    d = Disclosure(5)
    rows = [(12, 10, 2), (30, 20, 10), (25, 15, 10)]
    keys = []
    for i, (visits, new, repeat) in enumerate(rows):
        cells = [
            d.add((i, name), n)
            for name, n in zip(("v", "n", "r"), (visits, new, repeat), strict=True)
        ]
        d.adds_up(cells[0], cells[1:])
        keys.append(cells)
    for column, name in enumerate(("v", "n", "r")):
        total = d.add(("total", name), sum(row[column] for row in rows))
        d.adds_up(total, [cells[column] for cells in keys])
    assert d.hidden((0, "r")) and d.primary((0, "r"))
    # In its row the 2 takes the 10 with it; in its column the smallest other repeat count.
    assert d.hidden((0, "n")) and not d.primary((0, "n"))
    assert sum(d.hidden((i, "r")) for i in range(3)) >= 2
    assert d.text((0, "r"), "hidden") == "<5" and d.text((0, "n"), "hidden") == "hidden"


def test_a_virtual_total_is_never_hidden_and_a_count_has_one_value() -> None:
    d = Disclosure(5)
    parts = [d.add("a", 1), d.add("b", 0)]
    total = d.add("sum", 1, virtual=True)
    d.adds_up(total, parts)
    assert not d.hidden("sum") and d.hidden("a")
    with pytest.raises(ValueError, match="two counts"):
        d.add("a", 2)
    with pytest.raises(KeyError):
        d.adds_up("sum", ["missing"])


def test_days_without_visits_stay_shown_when_a_small_day_is_protected() -> None:
    """Five visits on one day and one on another of thirty: the small day and the day that
    protects it are hidden, and so is the total (6 = 1 + 5 would give the 1 away), but the
    28 days without a visit stay 0: a hidden zero would protect no one and blank the chart."""
    d = Disclosure(5)
    days = [0] * 30
    days[3], days[10] = 5, 1
    keys = [d.add(("day", i), n) for i, n in enumerate(days)]
    total = d.add("total", sum(days))
    d.adds_up(total, keys)
    assert d.text(("day", 10), "hidden") == "<5"
    assert d.text(("day", 3), "hidden") == "hidden"
    assert d.hidden(total)
    assert [d.text(key, "hidden") for key, n in zip(keys, days, strict=True) if n == 0] == [
        "0"
    ] * 28
