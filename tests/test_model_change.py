"""Issue 16 point 7, after a change of the face features model: galleries read only the
templates of the model in use, and opt-outs or staff enrolled with another model stop repeat
analysis instead of being silently ignored. Real SQLite data folders, the real dlib model on
real faces; rows "of another model" are written through the store API, as a model pack would
have written them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from desktopapp.core.model_change import ExclusionModelError
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.requests import OPT_OUT_EXPIRY, PublicRequests, probe_from_image
from desktopapp.core.sources import Frame
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.tracking import TrackerConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image
from desktopapp.core.visits import CUSTOMER, DO_NOT_TRACK, STAFF, RecorderConfig, VisitRecorder
from tests.conftest import FACES
from tests.test_analyse_time_and_mode import _cli, _data

pytestmark = pytest.mark.timeout(300)

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PACK = "pack-arcface-512"  # another features model of another dimension
SAME_DIM = "other-128"  # another features model of dlib's dimension


def _sighting(engine: VisionEngine, image: Image) -> TrackClosed:
    analyser = FrameAnalyser(1, engine, PipelineConfig(tracker=TrackerConfig(min_hits=1)))
    closed = analyser.process(Frame(image.copy(), 0, 0.0, time.monotonic()))[1]
    closed += analyser.finish(1.0)
    assert len(closed) == 1 and closed[0].feature is not None
    return closed[0]


def _store(data: Path) -> VisitStore:
    return VisitStore(open_database(data), Cipher(load_key(data)))


def _recorder(data: Path, engine: VisionEngine, mode: Mode = Mode.REPEAT) -> VisitRecorder:
    embedder = engine.embedder
    assert embedder is not None
    return VisitRecorder(
        _store(data),
        RecorderConfig(
            operator="Op",
            store="Shibuya",
            mode=mode,
            retention=RetentionPolicy(days=30),
            model=embedder.info.model_id,
            threshold=embedder.threshold,
            dim=embedder.dim,
        ),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )


def _write_other_model(
    data: Path, kind: str, model: str, vector: np.ndarray, visitor_id: str
) -> None:
    """A visitor of ``kind`` whose template ``model`` made, written through the store API."""
    store = _store(data)
    with store.db.conn:
        operator_id, store_id = store.ensure_operator_and_store("Op", "Shibuya", BASE)
        store.add_visitor(
            visitor_id,
            operator_id=operator_id,
            store_id=store_id,
            kind=kind,
            seen=BASE,
            expires_at=OPT_OUT_EXPIRY if kind != CUSTOMER else BASE + timedelta(days=30),
        )
        store.replace_templates(visitor_id, model, [(1.0, vector.astype(np.float32))], BASE)
    store.db.conn.close()


def test_customers_of_another_model_are_neither_loaded_nor_matched(
    tmp_path: Path, engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    data = tmp_path / "data"
    obama = _sighting(engine, face_image["obama.jpg"])
    assert obama.feature is not None
    # The same person under a model of another dimension, and (worse) a vector of the same
    # dimension that another model made: here obama's own, which would match if compared.
    rng = np.random.default_rng(3)
    _write_other_model(data, CUSTOMER, PACK, rng.standard_normal(512), "pack-visitor")
    _write_other_model(data, CUSTOMER, SAME_DIM, obama.feature, "same-dim-visitor")

    recorder = _recorder(data, engine)  # today's code: ValueError on the 512-d template
    first = recorder.record(obama)

    assert first.outcome == "visit" and first.new_visitor and not first.is_repeat
    assert first.visitor_id not in ("pack-visitor", "same-dim-visitor")
    assert recorder.galleries[CUSTOMER].visitors == 1


def test_counter_search_reads_only_the_model_in_use(
    tmp_path: Path, engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    data = tmp_path / "data"
    probe = probe_from_image(engine, face_image["obama.jpg"].copy())
    _write_other_model(data, CUSTOMER, PACK, np.ones(512), "pack-visitor")
    _write_other_model(data, CUSTOMER, SAME_DIM, probe, "same-dim-visitor")
    embedder = engine.embedder
    assert embedder is not None
    db = open_database(data)
    requests = PublicRequests(
        db,
        Cipher(load_key(data)),
        AuditLog(db),
        threshold=embedder.threshold,
        dim=embedder.dim,
        model=embedder.info.model_id,
    )

    assert requests.find(probe, actor="admin") == []
    # The clerk is told that two visitors were made by another model and were not searched.
    assert requests.unsearchable() == 2
    db.conn.close()


@pytest.mark.parametrize("kind", [DO_NOT_TRACK, STAFF])
def test_an_exclusion_of_another_model_stops_repeat_recording(
    tmp_path: Path, engine: VisionEngine, face_image: dict[str, Image], kind: str
) -> None:
    data = tmp_path / "data"
    obama = _sighting(engine, face_image["obama.jpg"])
    assert obama.feature is not None and engine.embedder is not None
    _write_other_model(data, kind, SAME_DIM, obama.feature, "old-exclusion")

    # Today's code loads the template and compares it as if dlib had made it; with the
    # refusal nobody is recorded until the operator decides.
    with pytest.raises(ExclusionModelError) as refused:
        _recorder(data, engine)
    message = str(refused.value)
    assert SAME_DIM in message and engine.embedder.info.model_id in message
    assert "switch the face features model back" in message
    assert "Staff / Requests" in message

    # Modes that keep no identity recognise no exclusion: they go on.
    attributes = _recorder(data, engine, Mode.ATTRIBUTES)
    assert attributes.galleries[DO_NOT_TRACK].visitors == 0
    assert attributes.record(obama).visitor_id is None


def test_an_exclusion_of_the_model_in_use_still_suppresses(
    tmp_path: Path, engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    data = tmp_path / "data"
    obama = _sighting(engine, face_image["obama.jpg"])
    assert obama.feature is not None and engine.embedder is not None
    model = engine.embedder.info.model_id
    _write_other_model(data, DO_NOT_TRACK, model, obama.feature, "opt-out")
    _write_other_model(data, CUSTOMER, PACK, np.ones(512), "pack-customer")

    assert _recorder(data, engine).record(obama).outcome == "suppressed"


def test_analyse_refuses_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    data = _data(tmp_path)
    _write_other_model(data, DO_NOT_TRACK, PACK, np.ones(512), "old-opt-out")
    done = _cli(data, "analyse", str(FACES / "obama.jpg"))

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and PACK in lines[0] and "1 opt-out(s)" in lines[0]
    db = open_database(data)
    assert db.execute("SELECT COUNT(*) FROM visit").fetchone()[0] == 0
    db.conn.close()
