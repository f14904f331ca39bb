"""bench/store_bulk.py runs end to end on a tiny scale; timings are only checked to exist."""

from __future__ import annotations

import json

import pytest

from bench import store_bulk as bench
from desktopapp.core.store.bulk import PATH_POINTS_PER_VISIT


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    measured: dict[str, object] = bench.run(rows=2000)
    return measured


def test_headline_numbers_are_positive(result: dict[str, object]) -> None:
    for key in (
        "store.purge_1m_s",
        "store.purge_1m_cpu_s",
        "store.retention_1m_s",
        "store.retention_1m_cpu_s",
        "store.insert_visits_per_s",
        "store.insert_path_points_per_s",
    ):
        value = result[key]
        assert isinstance(value, float) and value > 0, key
    for key in ("store.file_bytes", "store.file_bytes_after_retention"):
        value = result[key]
        assert isinstance(value, int) and value > 0, key


def test_the_data_and_what_was_deleted(result: dict[str, object]) -> None:
    assert result["store.rows"] == result["store.purge.deleted_visits"] == 2000
    assert result["store.path_points"] == 2000 * PATH_POINTS_PER_VISIT
    assert 0 < result["store.zone_dwell"] < 2000
    for field in ("visitors", "templates", "visits", "path_points", "anonymous_visits"):
        deleted = result[f"store.retention.deleted_{field}"]
        assert isinstance(deleted, int) and deleted > 0, field
    assert result["store.retention.statistics_kept"] is True
    assert result["store.purge.statistics_kept"] is True


def test_reports_render(result: dict[str, object]) -> None:
    table = bench.markdown(result)
    assert "| purge, statistics kept (2,000 visits) |" in table
    assert json.loads(json.dumps(result)) == result


def test_with_chain_outbox_triggers_the_sweep_queues_its_statistics() -> None:
    measured = bench.run(rows=2000, outbox=True)
    assert measured["store.retention.statistics_kept"] is True
    assert measured["store.purge.statistics_kept"] is True
    # The sweep's fold wrote the statistics rows, each queued once however often the fold
    # added to it, and nothing else (visitors whose time is up are expired by the server
    # itself); the purge left the chain before it deleted.
    swept = measured["store.retention.outbox_rows"]
    assert isinstance(swept, int) and swept > 0
    assert swept == measured["store.retention.statistics_rows"]
    assert measured["store.purge.outbox_rows"] == 0
    assert "| chain changes queued (sweep, purge) |" in bench.markdown(measured)
