"""Chain benchmark: push and pull of a big gallery, and one sync round of a 50-store chain.

Run from the repository root (as root the server runs as the ``postgres`` user)::

    .venv/bin/python bench/chain.py                      # Markdown table
    .venv/bin/python bench/chain.py --json               # one JSON object
    .venv/bin/python bench/chain.py --visitors 10000 --stores 10

A PostgreSQL server of its own is started on a Unix socket (tests/chain/pgserver.py). Store A
holds ``--visitors`` visitors with ``TEMPLATES_PER_VISITOR`` AES-GCM encrypted 128-float
templates each, written straight into its database and then queued by ``join``; the push sends
them all (re-encrypted under the gallery key) in 2000-row server transactions. Store B, empty,
pulls them all and writes them into its own database under its own key. The quality figure of
the same run: a noisy copy of each of 1000 pulled visitors' faces is searched in B's gallery as
the recorder would build it, and the share matched to the right visitor is reported. The chain
round: ``--stores`` stores each record ``VISITORS_PER_STORE_ROUND`` new visitors, then each
syncs once in turn (push, pull, merge check); the round's wall time is reported, and a second
round with nothing new shows the cost of a sync that finds nothing to do. The DESIGN target is
≤60 s each for the push and the pull of 100k visitors.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.chain import membership  # noqa: E402
from desktopapp.core.chain.sync import ChainSync  # noqa: E402
from desktopapp.core.matching import Gallery  # noqa: E402
from desktopapp.core.store.crypto import Cipher  # noqa: E402
from desktopapp.core.store.db import immediate_transaction, open_database  # noqa: E402
from desktopapp.core.store.visits import VisitStore  # noqa: E402
from tests.chain.pgserver import remove_server, start_server  # noqa: E402

log = logging.getLogger(__name__)

DIM = 128
TEMPLATES_PER_VISITOR = 2
THRESHOLD = 0.92
VISITORS_PER_STORE_ROUND = 20
QUALITY_PROBES = 1000
OPERATOR = "Bench Mart"
ROUND_OPERATOR = "Round Mart"


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _fill(data: Path, name: str, faces: np.ndarray, now: datetime) -> list[str]:
    """Write one visitor per face (each with TEMPLATES_PER_VISITOR noisy templates) into the
    store's database; the visitor ids."""
    db = open_database(data)
    store = VisitStore(db, Cipher(b"\x01" * 32))
    rng = np.random.default_rng(len(faces))
    ids = [str(uuid.UUID(int=int(rng.integers(1 << 62)) << 64 | i)) for i in range(len(faces))]
    with immediate_transaction(db.conn):
        operator_id, store_id = store.ensure_operator_and_store(OPERATOR, name, now)
        for visitor_id, face in zip(ids, faces, strict=True):
            store.add_visitor(
                visitor_id,
                operator_id=operator_id,
                store_id=store_id,
                kind="customer",
                seen=now,
                expires_at=now + timedelta(days=180),
            )
            noisy = _unit(face + rng.standard_normal((TEMPLATES_PER_VISITOR, DIM)) * 0.02)
            store.replace_templates(
                visitor_id, "bench", [(0.9 - 0.1 * k, v) for k, v in enumerate(noisy)], now
            )
    db.conn.close()
    return ids


class _Pc:
    """A store PC of the benchmark: its folder, database and syncer (fixed key, no keyring)."""

    def __init__(self, root: Path, name: str, enrolment: Path, now: datetime) -> None:
        self.data = root / name
        self.db = open_database(self.data)
        self.cipher = Cipher(b"\x01" * 32)
        membership.join(self.db, self.cipher, enrolment, name, now)
        self.syncer = ChainSync(self.db, self.cipher, threshold=THRESHOLD, now=lambda: now)

    def close(self) -> None:
        self.db.conn.close()


def _quality(pc: _Pc, ids: Sequence[str], faces: np.ndarray) -> float:
    operator = pc.db.execute("SELECT id FROM operator").fetchone()[0]
    gallery = Gallery.from_templates(
        VisitStore(pc.db, pc.cipher).templates(int(operator), "customer", None, "bench"),
        DIM,
        THRESHOLD,
    )
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(ids), min(QUALITY_PROBES, len(ids)), replace=False)
    probes = _unit(faces[chosen] + rng.standard_normal((len(chosen), DIM)) * 0.02)
    results = gallery.search_many(probes)
    right = sum(r.visitor_id == ids[i] for r, i in zip(results, chosen.tolist(), strict=True))
    return right / len(chosen)


def run(visitors: int = 100_000, stores: int = 50) -> dict[str, Any]:
    server = start_server()
    if server is None:
        raise SystemExit("PostgreSQL is not installed (scripts/install-system-deps.sh)")
    root = Path(tempfile.mkdtemp(prefix="raiten-bench-chain-"))
    now = datetime.now(UTC).replace(microsecond=0)
    result: dict[str, Any] = {"chain.visitors": visitors, "chain.stores": stores}
    try:
        url = server.url(server.new_database())
        enrolment = root / "bench.enrol"
        membership.init_operator(url, enrolment, OPERATOR)
        faces = _unit(np.random.default_rng(1).standard_normal((visitors, DIM)))
        ids = _fill(root / "A", "A", faces, now)
        a = _Pc(root, "A", enrolment, now)
        b = _Pc(root, "B", enrolment, now)
        with a.syncer.connect() as pg:
            started = time.perf_counter()
            pushed, _ = a.syncer.push(pg)
            result["chain.push_100k_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        synced = b.syncer.sync()
        result["chain.pull_100k_s"] = round(time.perf_counter() - started, 2)
        result["chain.pushed"] = pushed
        result["chain.pulled"] = synced.pulled
        result["chain.pulled_recognised"] = round(_quality(b, ids, faces), 4)
        a.close()
        b.close()

        # The round is a chain of its own (another operator), so the stores do not pull A's
        # gallery first.
        round_enrolment = root / "round.enrol"
        membership.init_operator(url, round_enrolment, ROUND_OPERATOR)
        pcs = [_Pc(root / "round", f"S{i:02d}", round_enrolment, now) for i in range(stores)]
        rng = np.random.default_rng(3)
        for pc in pcs:
            store = VisitStore(pc.db, pc.cipher)
            with immediate_transaction(pc.db.conn):
                operator_id, store_id = store.ensure_operator_and_store(
                    ROUND_OPERATOR, pc.data.name, now
                )
                for face in _unit(rng.standard_normal((VISITORS_PER_STORE_ROUND, DIM))):
                    visitor_id = str(uuid.uuid4())
                    store.add_visitor(
                        visitor_id,
                        operator_id=operator_id,
                        store_id=store_id,
                        kind="customer",
                        seen=now,
                        expires_at=now + timedelta(days=180),
                    )
                    store.replace_templates(visitor_id, "bench", [(0.9, face)], now)
        for label in ("chain.round_50_s", "chain.idle_round_50_s"):
            started = time.perf_counter()
            for pc in pcs:
                pc.syncer.sync()
            result[label] = round(time.perf_counter() - started, 2)
        held = {int(pc.db.execute("SELECT count(*) FROM visitor").fetchone()[0]) for pc in pcs}
        result["chain.round_visitors_per_store"] = sorted(held)
        for pc in pcs:
            pc.close()
    finally:
        remove_server(server)
        shutil.rmtree(root, ignore_errors=True)
    result["load_average"] = load_average()
    result["machine"] = machine()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.visitors, args.stores)
    if args.json:
        print(json.dumps(result))
    else:
        print("| measure | value |\n|---|---|")
        for key, value in result.items():
            print(f"| {key} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
