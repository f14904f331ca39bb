"""bench/chain.py runs end to end on a tiny scale; timings are only checked to exist."""

from __future__ import annotations

from bench import chain as bench
from tests.chain.conftest import PgServer


def test_the_chain_benchmark_pushes_pulls_and_runs_a_round(pg_server: PgServer) -> None:
    # pg_server: the benchmark starts a server of its own, but only where the suite can.
    result = bench.run(visitors=300, stores=3)
    assert result["chain.pushed"] == result["chain.pulled"] == 300
    assert result["chain.pulled_recognised"] == 1.0
    for key in ("chain.push_100k_s", "chain.pull_100k_s", "chain.round_50_s"):
        value = result[key]
        assert isinstance(value, float) and value > 0, key
    assert result["chain.round_visitors_per_store"] == [3 * bench.VISITORS_PER_STORE_ROUND]
