"""Storage benchmark: bulk insert, retention sweep and purge over a million visit rows.

Run from the repository root::

    .venv/bin/python bench/store_bulk.py                 # Markdown table
    .venv/bin/python bench/store_bulk.py --json          # one JSON object
    .venv/bin/python bench/store_bulk.py --rows 100000   # a smaller run
    .venv/bin/python bench/store_bulk.py --outbox        # as a store joined to a chain

A synthetic gallery is written to a fresh database in a temporary folder: one visitor per
``VISITS_PER_VISITOR`` visits (1 % staff), one AES-GCM encrypted 128-float template each,
``PATH_POINTS_PER_VISIT`` path points per visit, ``ZONE_DWELL_SHARE`` of the visits with time in
a zone, and ``ANONYMOUS_SHARE`` of the visits without a visitor (attribute-only mode).
First-seen times spread over ``SPAN_DAYS`` days and the retention period is half of that, so
the sweep deletes about half of everything (anonymous visits included). The file is
copied; the sweep runs on one copy and the purge (keeping statistics) on the other. Both times
include the WAL truncation and VACUUM that make the deleted bytes unrecoverable. Times are
single wall-clock runs (``time.perf_counter``); the DESIGN targets are a purge of 1M visit rows
in 10 s and a retention sweep over 1M rows in 30 s.

With ``--outbox`` the file carries, before the sweep and the purge, chain mode's own outbox
tables and triggers (``desktopapp.core.chain.local.install``, as a joined store has them): an
outbox row for every visitor, template and visit written or changed and every visitor erased,
and one mark for every statistics row the fold adds to. The purge leaves the chain before it
deletes anything, so it queues nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.store.bulk import measure_store  # noqa: E402 - shared with `raiten bench`

log = logging.getLogger(__name__)


def run(rows: int = 1_000_000, outbox: bool = False) -> dict[str, Any]:
    """Generate ``rows`` visits, then time a retention sweep and a purge: a flat dict of dotted
    keys. ``store.retention_1m_s`` and ``store.purge_1m_s`` are wall-clock seconds at ``rows``
    (1M by default); the ``_cpu_s`` twins are this process's CPU seconds, steadier on a busy
    machine. With ``outbox``, chain mode's outbox triggers are in place for both (the purge
    leaves the chain first)."""
    started = time.perf_counter()
    result: dict[str, Any] = {
        **machine(),
        "machine.sqlite": sqlite3.sqlite_version,
    }
    result |= measure_store(rows, outbox)
    result["machine.loadavg_end"] = load_average()
    result["store.seconds"] = time.perf_counter() - started
    return result


def markdown(result: dict[str, Any]) -> str:
    """The result as a Markdown table."""

    def mb(key: str) -> str:
        return f"{result[key] / 1e6:.1f} MB"

    def timed(key: str) -> str:
        return f"{result[key]:.2f} s (CPU {result[key.replace('_s', '_cpu_s')]:.2f} s)"

    deleted = ", ".join(
        f"{result[f'store.retention.deleted_{field}']:,} {field.replace('_', ' ')}"
        for field in ("visitors", "templates", "visits", "path_points", "anonymous_visits")
    )
    lines = [
        f"Storage benchmark: {result['store.rows']:,} visits ({result['store.anonymous_visits']:,}"
        f" anonymous), {result['store.visitors']:,} visitors and templates, "
        f"{result['store.path_points']:,} path points, {result['store.zone_dwell']:,} zone "
        f"dwell rows{'; chain outbox triggers in place' if result['store.outbox'] else ''}; "
        f"{result['machine.cpus']} CPUs, "
        f"load average {result['machine.loadavg_start']} -> {result['machine.loadavg_end']}, "
        f"SQLite {result['machine.sqlite']}, {result['store.seconds']:.0f} s "
        f"({result['machine.platform']}).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| insert visits (executemany, one transaction) "
        f"| {result['store.insert_visits_per_s']:,.0f} rows/s | |",
        f"| insert path points | {result['store.insert_path_points_per_s']:,.0f} rows/s | |",
        f"| file after generation | {mb('store.file_bytes')} | |",
        f"| retention sweep ({deleted}; "
        f"{result['store.retention.folded_visits']:,} visits folded) "
        f"| {timed('store.retention_1m_s')} | ≤ 30 s |",
        f"| file after sweep | {mb('store.file_bytes_after_retention')} | |",
        f"| purge, statistics kept ({result['store.purge.deleted_visits']:,} visits) "
        f"| {timed('store.purge_1m_s')} | ≤ 10 s |",
        f"| file after purge (statistics only) | {mb('store.file_bytes_after_purge')} | |",
        f"| visit totals unchanged (sweep, purge) | {result['store.retention.statistics_kept']}, "
        f"{result['store.purge.statistics_kept']} | True, True |",
    ]
    if result["store.outbox"]:
        lines.append(
            f"| chain changes queued (sweep, purge) | {result['store.retention.outbox_rows']:,}, "
            f"{result['store.purge.outbox_rows']:,} | |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rows", type=int, default=1_000_000, help="visit rows (default 1M)")
    parser.add_argument(
        "--outbox", action="store_true", help="with chain mode's outbox triggers in place"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(rows=args.rows, outbox=args.outbox)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
