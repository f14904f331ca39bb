"""The ``raiten`` command (DESIGN.md "Command line"). The GUI is the product; this serves
schedulers, integrators and tests. ``--json`` prints one JSON object on stdout and nothing else
there; bad input exits 2 with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import getpass
import importlib.util
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import sqlite_utils

from desktopapp.core.access import Role as UserRole
from desktopapp.core.analytics import Analytics, Period
from desktopapp.core.chain.errors import ChainError
from desktopapp.core.config import SettingsError, load_settings, resolve_data_dir
from desktopapp.core.counting import CountingLine
from desktopapp.core.floor import Space
from desktopapp.core.images import ImageReadError, read_image
from desktopapp.core.logs import setup_logging
from desktopapp.core.model_change import ExclusionModelError
from desktopapp.core.modes import Mode
from desktopapp.core.notice import (
    REQUIRED_KEYS,
    NoticeError,
    NoticeGateError,
    NoticeStore,
    load_profile_file,
    require_complete_notice,
)
from desktopapp.core.pipeline import TrackClosed
from desktopapp.core.reports.export_csv import ExportError
from desktopapp.core.reports.signage import (
    SIGN_LANGUAGES,
    SignageError,
    SignageOptions,
    signage_pages,
    write_signage,
)
from desktopapp.core.requests import (
    NoFaceError,
    PublicRequests,
    RequestError,
    probe_from_image,
    probe_from_source,
)
from desktopapp.core.selftest import isolate_keyring, scratch_data_dir
from desktopapp.core.sources import SourceError, SourceSpec, parse_source, redact_url
from desktopapp.core.staff import StaffMember, StaffRegister
from desktopapp.core.store.crypto import DataKeyError
from desktopapp.core.store.db import DB_FILE, StoreError, store_error
from desktopapp.core.store.retention import RetentionPolicy, ScrubIncompleteError
from desktopapp.core.store.users import PasswordRuleError, UserError, UserStore
from desktopapp.core.vision.engine import VisionEngine, false_match_rate, match_margin
from desktopapp.core.vision.registry import ModelError, ModelRegistry
from desktopapp.core.vision.types import Role, Vector

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
YES = frozenset({"yes", "y", "true", "1", "same"})
NO = frozenset({"no", "n", "false", "0", "different"})


class BadInputError(Exception):
    """Input the operator can fix; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(text)


def _engine(args: argparse.Namespace, roles: Sequence[Role]) -> VisionEngine:
    return VisionEngine.configured(load_settings(args.data_dir).vision, roles)


def _feature(engine: VisionEngine, path: Path) -> Vector | None:
    from desktopapp.core.verification import largest_face_feature  # noqa: PLC0415

    return largest_face_feature(engine, read_image(path))


def cmd_compare(args: argparse.Namespace) -> int:
    engine = _engine(args, [Role.FACE_DETECTION, Role.FACE_FEATURES])
    assert engine.embedder is not None
    features = []
    for path in (args.image_a, args.image_b):
        feature = _feature(engine, path)
        if feature is None:
            raise BadInputError(f"no face found in {path}")
        features.append(feature)
    score = float(features[0] @ features[1])
    threshold = engine.embedder.threshold
    same = score >= threshold
    verdict = "same person" if same else "different people"
    _emit(
        args,
        {
            "score": round(score, 6),
            "same": same,
            "threshold": threshold,
            "model": engine.embedder.info.model_id,
        },
        f"{verdict}: similarity {score:.4f}, threshold {threshold:.4f} "
        f"({engine.embedder.info.model_id})",
    )
    return 0


def _read_pairs(csv_path: Path) -> list[tuple[Path, Path, bool]]:
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {csv_path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    missing = {"file_x", "file_y", "decision"} - set(reader.fieldnames or [])
    if missing:
        raise BadInputError(f"{csv_path} lacks the column(s) {', '.join(sorted(missing))}")
    pairs = []
    for row in reader:
        line = reader.line_num
        decision = (row["decision"] or "").strip().lower()
        if decision not in YES | NO:
            raise BadInputError(f"{csv_path} line {line}: decision must be Yes or No")
        files = []
        for column in ("file_x", "file_y"):
            name = (row[column] or "").strip()
            path = csv_path.parent / name
            if not name or not path.is_file():
                raise BadInputError(f"{csv_path} line {line}: no such file {name!r}")
            files.append(path)
        pairs.append((files[0], files[1], decision in YES))
    if not pairs:
        raise BadInputError(f"{csv_path} holds no pairs")
    return pairs


def cmd_calibrate(args: argparse.Namespace) -> int:
    if args.folder is not None:
        return _calibrate_folder(args)
    if args.write or args.target_fmr is not None or args.as_taken:
        raise BadInputError("--write, --target-fmr and --as-taken need --folder")
    from desktopapp.core.calibration import false_matches_at  # noqa: PLC0415
    from desktopapp.core.verification import calibrate  # noqa: PLC0415

    pairs = _read_pairs(args.pairs)
    engine = _engine(args, [Role.FACE_DETECTION, Role.FACE_FEATURES])
    assert engine.embedder is not None
    cache: dict[Path, Vector | None] = {}
    scores: list[float] = []
    labels: list[bool] = []
    no_face = 0
    for path_x, path_y, same in pairs:
        for path in (path_x, path_y):
            if path not in cache:
                cache[path] = _feature(engine, path)
        fx, fy = cache[path_x], cache[path_y]
        if fx is None or fy is None:
            no_face += 1
            continue
        scores.append(float(fx @ fy))
        labels.append(same)
    threshold = engine.embedder.threshold
    result = calibrate(scores, labels, threshold)
    impostor = [s for s, same in zip(scores, labels, strict=True) if not same]
    payload = {
        "pairs": len(pairs),
        "accuracy_at_threshold": result.accuracy_at_threshold,
        "best_threshold": result.best_threshold,
        "best_accuracy": result.best_accuracy,
        "tar_at_far_1e-3": result.tar_at_far_1e3,
        "no_face": no_face,
        "threshold": threshold,
        "model": engine.embedder.info.model_id,
        **_false_match_payload(false_matches_at(impostor, threshold) if impostor else None),
    }
    lines = [f"{k}: {v}" for k, v in payload.items()]
    _emit(args, payload, "\n".join(lines))
    return 0


def _false_match_payload(rate: Any) -> dict[str, Any]:
    """The false-match rate at a threshold with its 95 % upper bound (None without impostors)."""
    if rate is None:
        return {
            "impostor_pairs": 0,
            "false_matches": 0,
            "false_match_rate": None,
            "false_match_rate_upper_95": None,
        }
    return {
        "impostor_pairs": rate.trials,
        "false_matches": rate.errors,
        "false_match_rate": rate.rate,
        "false_match_rate_upper_95": float(f"{rate.upper_95:.3g}"),
    }


def _calibrate_folder(args: argparse.Namespace) -> int:
    from desktopapp.core.calibration import (  # noqa: PLC0415
        TARGET_FALSE_MATCH_RATE,
        CameraQuality,
        calibrate_folder,
        folder_features,
    )
    from desktopapp.core.config import save_settings  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    target = TARGET_FALSE_MATCH_RATE if args.target_fmr is None else args.target_fmr
    if not 0.0 < target < 1.0:
        raise BadInputError("--target-fmr must be above 0 and below 1")
    settings = load_settings(args.data_dir)
    engine = VisionEngine.configured(
        settings.vision.model_copy(update={"feature_processes": 0}),
        [Role.FACE_DETECTION, Role.FACE_FEATURES],
    )
    assert engine.embedder is not None
    try:
        found = folder_features(engine, args.folder, None if args.as_taken else CameraQuality())
        result = calibrate_folder(found, engine.embedder.threshold, target)
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc

    def half(h: Any) -> dict[str, Any]:
        return {
            "identities": h.calibrated_on,
            "threshold": h.threshold,
            "other_half": {
                **_false_match_payload(h.false_matches),
                "false_non_match_rate": round(h.false_non_matches.rate, 4),
            },
        }

    payload: dict[str, Any] = {
        "model": engine.embedder.info.model_id,
        "quality": "as taken" if args.as_taken else "camera",
        "photos": result.photos,
        "identities": result.identities,
        "no_face": result.no_face,
        "genuine_pairs": result.genuine,
        "threshold": engine.embedder.threshold,
        **_false_match_payload(result.active),
        "false_non_match_rate": round(result.active_non_matches.rate, 4),
        "accuracy_at_threshold": round(result.active_accuracy, 5),
        "visitor_comparisons": result.visitor_active.trials,
        "visitor_false_match_rate": result.visitor_active.rate,
        "visitor_false_match_rate_upper_95": float(f"{result.visitor_active.upper_95:.3g}"),
        "target_false_match_rate": target,
        "calibrated": {
            "threshold": result.threshold,
            **_false_match_payload(result.chosen),
            "false_non_match_rate": round(result.chosen_non_matches.rate, 4),
            "accuracy": round(result.chosen_accuracy, 5),
        },
        "split": [half(h) for h in result.split],
        "written": False,
    }
    if args.write:
        # The bound, not the point estimate: the repeat rate's band must not understate.
        rate = float(f"{result.chosen.upper_95:.3g}")
        settings.vision.threshold = result.threshold
        settings.vision.false_match_rate = rate
        save_settings(args.data_dir, settings)
        _audit(
            open_database(args.data_dir),
            "settings.calibrate",
            {
                "model": payload["model"],
                "threshold": result.threshold,
                "false_match_rate": rate,
                "photos": result.photos,
                "identities": result.identities,
                "folder": args.folder.name,
                "quality": payload["quality"],
            },
        )
        payload["written"] = True
    chosen = payload["calibrated"]
    text = "\n".join(
        [
            f"{payload['model']}: {result.photos} photos of {result.identities} people "
            f"({result.no_face} without a face), {result.genuine} genuine and "
            f"{result.impostor} impostor pairs",
            f"at the active threshold {payload['threshold']}: {result.active.errors} false "
            f"matches, rate {result.active.rate:.2e} (95 % upper bound "
            f"{result.active.upper_95:.2e}); pairs accuracy {result.active_accuracy:.4f}",
            f"for a false-match rate of {target:.2g}: threshold {result.threshold}, "
            f"{result.chosen.errors} false matches (95 % upper bound "
            f"{result.chosen.upper_95:.2e}), false non-match rate "
            f"{chosen['false_non_match_rate']}, pairs accuracy {chosen['accuracy']}",
            *(
                f"split {i}: threshold {h.threshold} from {h.calibrated_on} people; on the "
                f"others {h.false_matches.errors}/{h.false_matches.trials} false matches "
                f"(95 % upper bound {h.false_matches.upper_95:.2e}), false non-match rate "
                f"{h.false_non_matches.rate:.3f}"
                for i, h in enumerate(result.split, 1)
            ),
            "written to the settings" if payload["written"] else "(not written: add --write)",
        ]
    )
    _emit(args, payload, text)
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    registry = ModelRegistry.load()
    rows = []
    for entry in registry.entries():
        try:
            registry.verified_paths(entry)
            status = "ok"
        except ModelError as exc:
            status = exc.problem.value
        rows.append(
            {
                "id": entry.model_id,
                "role": entry.role.value,
                "default": entry.default,
                "licence": entry.licence,
                "commercial_use": entry.commercial_use,
                "status": status,
            }
        )
    text = "\n".join(
        f"{r['id']:<22} {r['role']:<16} {'default' if r['default'] else '':<8}"
        f"{r['status']:<11} {'' if r['commercial_use'] else 'NON-COMMERCIAL '}{r['licence']}"
        for r in rows
    )
    _emit(args, {"models_dir": str(registry.models_dir), "models": rows}, text)
    return 0


def cmd_models_register(args: argparse.Namespace) -> int:
    from desktopapp.core.vision.packs import register_pack  # noqa: PLC0415

    registry = ModelRegistry.load()
    try:
        entries = register_pack(registry.models_dir, args.pack.resolve())
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    rows = [{"id": e.model_id, "role": e.role.value, "licence": e.licence} for e in entries]
    text = "\n".join(f"registered {r['id']} ({r['role']}): {r['licence']}" for r in rows)
    _emit(args, {"registered": rows}, text)
    return 0


def _notice_store(args: argparse.Namespace) -> NoticeStore:
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    return NoticeStore(open_database(args.data_dir))


def _cli_actor() -> str:
    """The command line acts as the local administrator, recorded as cli:<os user>."""
    return f"cli:{getpass.getuser()}"


def _audit(db: sqlite_utils.Database, action: str, details: dict[str, Any]) -> None:
    from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415

    AuditLog(db).append(_cli_actor(), action, details)


def cmd_retention(args: argparse.Namespace) -> int:
    from desktopapp.core.store.retention import sweep  # noqa: PLC0415

    store = _notice_store(args)
    current = store.current()
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError as exc:
        raise BadInputError(f"--now must be an ISO date and time, not {args.now!r}") from exc
    if now.tzinfo is None:
        now = now.astimezone()  # the operator's local time zone
    # Like the hourly sweep: whatever the notice's mode, with a day where it names no period.
    policy = RetentionPolicy.of_notice(current.profile if current else None)
    with _deletion(args, store.db, "retention.sweep", {"now": now.isoformat()}) as record:
        result = record(sweep(store.db, policy, now))
    payload = dataclasses.asdict(result)
    _emit(args, payload, "\n".join(f"{k}: {v}" for k, v in payload.items()))
    return 0


@contextlib.contextmanager
def _deletion(
    args: argparse.Namespace, db: sqlite_utils.Database, action: str, details: dict[str, Any]
) -> Iterator[Callable[[Any], Any]]:
    """Around a deletion that returns its result (SweepResult, PurgeResult): the audit entry
    and fresh backups follow it, also when it committed but its file clean-up failed
    (ScrubIncompleteError, re-raised afterwards so that the operator is told)."""
    done: list[Any] = []

    def record(result: Any) -> Any:
        done.append(result)
        return result

    try:
        yield record
    except ScrubIncompleteError as exc:
        if exc.result is None:
            raise
        _audit(db, action, {**details, **dataclasses.asdict(exc.result), "scrub_pending": True})
        _replace_backups(args, db)
        raise
    result = done[0]
    _audit(db, action, {**details, **dataclasses.asdict(result)})
    if getattr(result, "deleted", True):
        _replace_backups(args, db)


def _bench_mode(args: argparse.Namespace) -> Mode:
    """The notice's mode when a store is set up here (its cameras run it), else repeat
    analysis, the heaviest."""
    if not (args.data_dir / DB_FILE).is_file():
        return Mode.REPEAT
    current = _notice_store(args).current()
    return current.profile.mode if current is not None else Mode.REPEAT


def cmd_bench(args: argparse.Namespace) -> int:
    from desktopapp.core.benchmark import BenchPlan  # noqa: PLC0415
    from desktopapp.ui.bench_dialog import run_bench_with_view  # noqa: PLC0415

    mode = _bench_mode(args)
    plan = BenchPlan.quick() if args.quick else BenchPlan()
    result = run_bench_with_view(load_settings(args.data_dir).vision, mode, plan)
    cameras = result["pipeline.cameras_at_10fps"]
    lines = [
        f"This PC can analyse {cameras} camera(s) at 10 fps or more ({result['bench.settings']}).",
        *(
            f"{key}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in result.items()
            if key != "pipeline.runs"
        ),
    ]
    _emit(args, result, "\n".join(lines))
    return 0


def _replace_backups(args: argparse.Namespace, db: sqlite_utils.Database) -> None:
    """Personal data was deleted: the backups holding it go, a fresh one replaces them. A
    failure to write the fresh one is a warning; the deletion stands."""
    from desktopapp.core.store.backup import replace_backups  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415

    try:
        replace_backups(db, args.data_dir, Cipher(load_key(args.data_dir)), datetime.now(UTC))
    except StoreError as exc:
        print(f"raiten: warning: no fresh backup was written: {exc}", file=sys.stderr)


def cmd_backup_list(args: argparse.Namespace) -> int:
    from desktopapp.core.store.backup import list_backups  # noqa: PLC0415

    rows = [
        {"name": b.name, "taken_at": b.taken_at.isoformat(), "size": b.size}
        for b in list_backups(args.data_dir)
    ]
    text = "\n".join(f"{r['name']}  {r['taken_at']}  {r['size']} bytes" for r in rows)
    _emit(args, {"backups": rows}, text or "no backups yet")
    return 0


def cmd_backup_create(args: argparse.Namespace) -> int:
    from desktopapp.core.store.backup import create_backup  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    db = open_database(args.data_dir)
    backup = create_backup(db, args.data_dir, Cipher(load_key(args.data_dir)), datetime.now(UTC))
    _audit(db, "backup.create", {"backup": backup.name})
    _emit(args, {"name": backup.name, "size": backup.size}, f"wrote {backup.name}")
    return 0


def cmd_backup_restore(args: argparse.Namespace) -> int:
    from desktopapp.core.store.backup import list_backups, restore_backup  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    if not args.yes:
        raise BadInputError(
            "restoring replaces the database with the backup: close Raiten, add --yes"
        )
    backups = list_backups(args.data_dir)
    chosen = backups[:1] if args.name == "latest" else [b for b in backups if b.name == args.name]
    if not chosen:
        raise BadInputError(f"no backup called {args.name!r}: see `raiten backup list`")
    backup = chosen[0]
    aside = restore_backup(
        args.data_dir, backup, Cipher(load_key(args.data_dir)), datetime.now(UTC)
    )
    db = open_database(args.data_dir)
    _audit(db, "backup.restore", {"backup": backup.name})
    db.conn.close()
    payload = {"restored": backup.name, "set_aside": str(aside) if aside else None}
    _emit(
        args,
        payload,
        f"restored {backup.name}" + (f"; the old file is in {aside}" if aside else ""),
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from desktopapp.core.store.purge import purge_personal_data  # noqa: PLC0415

    if not args.yes:
        raise BadInputError("purge deletes every visitor and visit for good: add --yes")
    store = _notice_store(args)
    details = {
        "keep_statistics": args.keep_statistics,
        "include_exclusions": args.include_exclusions,
    }
    with _deletion(args, store.db, "purge", details) as record:
        result = record(
            purge_personal_data(
                store.db,
                keep_statistics=args.keep_statistics,
                include_exclusions=args.include_exclusions,
            )
        )
    payload = dataclasses.asdict(result)
    _emit(args, payload, "\n".join(f"{k}: {v}" for k, v in payload.items()))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    result = AuditLog(open_database(args.data_dir)).verify()
    payload = {
        "ok": result.ok,
        "entries": result.entries,
        "first_bad_id": result.first_bad_id,
        "problem": result.problem,
    }
    text = (
        f"audit log intact: {result.entries} entries"
        if result.ok
        else f"AUDIT LOG DAMAGED: {result.problem}"
    )
    _emit(args, payload, text)
    return 0 if result.ok else 1


def cmd_notice_set(args: argparse.Namespace) -> int:
    profile = load_profile_file(args.file)
    store = _notice_store(args)
    previous = store.current()
    version = store.save(profile)
    if previous is None or previous.version != version.version:
        _audit(store.db, "notice.set", {"version": version.version})
    problems = profile.problems()
    payload = {
        "version": version.version,
        "complete": not problems,
        "problems": problems,
        "missing": profile.missing_keys,
    }
    text = f"notice profile version {version.version} saved"
    if problems:
        text += "; analysis stays blocked until fixed: " + "; ".join(problems)
    _emit(args, payload, text)
    return 0


def cmd_notice_show(args: argparse.Namespace) -> int:
    current = _notice_store(args).current()
    if current is None:
        _emit(
            args,
            {"version": None, "complete": False, "profile": None, "missing": list(REQUIRED_KEYS)},
            "no notice profile yet: set one with 'raiten notice set FILE.toml'",
        )
        return 0
    profile = current.profile
    payload = {
        "version": current.version,
        "created_at": current.created_at.isoformat(),
        "complete": profile.complete,
        "problems": profile.problems(),
        "missing": profile.missing_keys,
        "profile": profile.model_dump(mode="json"),
    }
    lines = [f"version {current.version} ({current.created_at.astimezone():%Y-%m-%d %H:%M})"]
    lines += [f"{key}: {value}" for key, value in payload["profile"].items()]
    lines.append("complete" if profile.complete else "INCOMPLETE: " + "; ".join(profile.problems()))
    _emit(args, payload, "\n".join(lines))
    return 0


def cmd_signage(args: argparse.Namespace) -> int:
    store = _notice_store(args)
    current = store.current()
    if current is None:
        raise BadInputError("no notice profile yet: set one with 'raiten notice set FILE.toml'")
    options = SignageOptions(args.lang or current.profile.language, args.size)
    write_signage(args.out, current, options)
    details = {"version": current.version, "language": options.language, "size": options.size}
    # The name only: where the operator keeps files is none of the audit log's business.
    _audit(store.db, "signage.print", {**details, "file": args.out.name})
    _emit(
        args,
        {"file": str(args.out.resolve()), **details, "pages": signage_pages(current)},
        f"sign for notice version {current.version} written to {args.out} "
        f"({options.language}, {options.size})",
    )
    return 0


def _local_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInputError(f"{option} must be a date as YYYY-MM-DD, not {text!r}") from exc


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()).astimezone()  # the operator's zone


def _analytics(db: sqlite_utils.Database, args: argparse.Namespace) -> Analytics:
    settings = load_settings(args.data_dir)
    return Analytics(
        db,
        k=settings.reports.min_group,
        false_match_rate=false_match_rate(settings.vision),
    )


def cmd_export(args: argparse.Namespace) -> int:
    from desktopapp.core.reports.export_csv import write_csv  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".pdf"):
        raise BadInputError("--out must name a .csv or a .pdf file")
    until = _local_day(args.until, "--to") if args.until else date.today()
    since = _local_day(args.since, "--from") if args.since else until - timedelta(days=29)
    if since > until:
        raise BadInputError("--from must not be after --to")
    db = open_database(args.data_dir)
    analytics = _analytics(db, args)
    store_id = None
    if args.store is not None:
        stores = {store.name: store.store_id for store in analytics.stores()}
        store_id = stores.get(args.store.strip())
        if store_id is None:
            raise BadInputError(f"there is no store named {args.store!r}")
    period = Period(_local_midnight(since), _local_midnight(until + timedelta(days=1)), store_id)
    notice = NoticeStore(db).current()
    language = args.lang or (notice.profile.language if notice else "ja")
    if suffix == ".csv":
        summary = write_csv(args.out, analytics, period, language)
    else:
        # The PDF report is a module of its own; a build without it still exports CSV.
        if importlib.util.find_spec("desktopapp.core.reports.export_pdf") is None:
            raise BadInputError("PDF export is not available yet")
        from desktopapp.core.reports.export_pdf import write_pdf  # noqa: PLC0415

        summary = write_pdf(args.out, analytics, period, language)
    details = {
        "format": summary.format,
        "from": since.isoformat(),
        "to": until.isoformat(),
        "store": summary.store,
        # The name only: where the operator keeps files is none of the audit log's business.
        "file": args.out.name,
    }
    _audit(db, "export", details)
    payload = {
        **details,
        "file": str(args.out.resolve()),
        "language": summary.language,
        "notice_versions": list(summary.notice_versions),
        "tables": summary.tables,
        "suppressed_cells": summary.suppressed_cells,
        "bytes": summary.bytes,
    }
    _emit(
        args,
        payload,
        f"{summary.format.upper()} export of {since} to {until} "
        f"({summary.store or 'all stores'}) written to {args.out}",
    )
    return 0


def cmd_incident_report(args: argparse.Namespace) -> int:
    from desktopapp.core.reports.export_csv import write_incident_csv  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    db = open_database(args.data_dir)
    report = _analytics(db, args).incident_report(datetime.now(UTC))

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    records = {
        record.kind: {
            "total": record.total,
            "oldest": when(record.oldest),
            "newest": when(record.newest),
            "by_month": {month.month: month.count for month in record.by_month},
        }
        for record in report.records
    }
    payload: dict[str, Any] = {
        "generated_at": report.generated_at.isoformat(),
        "notice_version": report.notice_version,
        "total": report.total,
        "oldest": when(report.oldest),
        "newest": when(report.newest),
        "records": records,
    }
    if args.out is not None:
        write_incident_csv(args.out, report, args.lang, tz=None)
        payload["file"] = str(args.out.resolve())
    _audit(db, "incident.report", {"total": report.total, "file": args.out and args.out.name})
    notice = f"notice version {report.notice_version}" if report.notice_version else "no notice"
    lines = [f"personal records held: {report.total} ({notice})"]
    for record in report.records:
        months = ", ".join(f"{m.month}: {m.count}" for m in record.by_month)
        lines.append(f"{record.kind}: {record.total}" + (f" ({months})" if months else ""))
    _emit(args, payload, "\n".join(lines))
    return 0


def cmd_import_pos(args: argparse.Namespace) -> int:
    from desktopapp.core.pos import PosImportError, import_pos_csv  # noqa: PLC0415
    from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    if not 0 <= args.tolerance_minutes <= 60:
        raise BadInputError("--tolerance-minutes must be between 0 and 60")
    db = open_database(args.data_dir)
    try:
        result = import_pos_csv(
            db,
            args.file,
            store=args.store,
            tolerance=timedelta(minutes=args.tolerance_minutes),
            actor=_cli_actor(),
            audit=AuditLog(db),
        )
    except PosImportError as exc:
        raise BadInputError(f"{args.file.name}: {exc}") from exc
    payload = {
        "import_id": result.import_id,
        "imported": result.imported,
        "linked": result.linked,
        "problems": [{"line": p.line, "message": p.message} for p in result.problems],
        "dropped": [{"header": d.header, "reason": d.reason} for d in result.dropped],
    }
    lines = [f"imported: {result.imported}", f"linked to visits: {result.linked}"]
    lines += [f"skipped line {p.line}: {p.message}" for p in result.problems]
    lines += [f"dropped column {d.header!r}: {d.reason}" for d in result.dropped]
    _emit(args, payload, "\n".join(lines))
    return 0


def cmd_register_camera(args: argparse.Namespace) -> int:
    from desktopapp.core.pos import (  # noqa: PLC0415
        DEFAULT_TOLERANCE,
        find_store,
        link_purchases,
        set_register_camera,
    )
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    db = open_database(args.data_dir)
    try:
        set_register_camera(db, args.store, args.register, args.camera_id)
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    store_id = find_store(db, args.store)
    assert store_id is not None  # set_register_camera found it
    # Purchases imported before the register had a camera can be linked now.
    linked = link_purchases(db, store_id, DEFAULT_TOLERANCE)
    details = {
        "store": args.store.strip(),
        "register": args.register.strip(),
        "camera_id": args.camera_id,
        "linked": linked,
    }
    _audit(db, "pos.register_camera", details)
    _emit(
        args,
        details,
        f"register {details['register']} of {details['store']} is watched by camera "
        f"{args.camera_id}; {linked} purchases linked to visits",
    )
    return 0


def _user_store(args: argparse.Namespace) -> UserStore:
    from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    db = open_database(args.data_dir)
    return UserStore(db, AuditLog(db))


def _new_password() -> str:
    """One line from stdin, so that it never shows in the process list or shell history; on a
    terminal, a prompt that does not echo."""
    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise BadInputError("no password given: pipe it in as one line on stdin")
    return password


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _user_store(args).all()
    now = datetime.now(UTC)
    rows = [
        {
            "name": user.name,
            "role": user.role.value,
            "created_at": user.created_at.isoformat(),
            "failed_attempts": user.failed_attempts,
            "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        }
        for user in users
    ]
    lines = [
        f"{user.name}\t{user.role}"
        + (
            f"\tlocked until {user.locked_until.astimezone():%H:%M}"
            if user.locked_until and user.locked_until > now
            else ""
        )
        for user in users
    ]
    text = "\n".join(lines) or "no accounts yet: add one with 'raiten users add NAME --role admin'"
    _emit(args, {"users": rows}, text)
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    store = _user_store(args)
    user = store.create(args.name, _new_password(), UserRole(args.role), actor=_cli_actor())
    _emit(
        args,
        {"name": user.name, "role": user.role.value},
        f"account {user.name} created ({user.role})",
    )
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    # The way back in for an administrator who forgot the password: whoever can run commands
    # as the PC's user can already read and replace the data folder.
    _user_store(args).set_password(args.name, _new_password(), actor=_cli_actor())
    _emit(args, {"name": args.name.strip()}, f"password of {args.name.strip()} changed")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    user = _user_store(args).set_role(args.name, UserRole(args.role), actor=_cli_actor())
    _emit(
        args,
        {"name": user.name, "role": user.role.value},
        f"{user.name} is now {user.role}",
    )
    return 0


def _staff_register(
    args: argparse.Namespace, engine: VisionEngine | None
) -> tuple[sqlite_utils.Database, StaffRegister]:
    from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    db = open_database(args.data_dir)
    embedder = engine.embedder if engine else None
    audit = AuditLog(db)
    requests = PublicRequests(
        db,
        Cipher(load_key(args.data_dir)),
        audit,
        threshold=embedder.threshold if embedder else 1.0,
        dim=embedder.dim if embedder else 0,
        model=embedder.info.model_id if embedder else "",
    )
    return db, StaffRegister(db, requests, audit)


def _staff_row(member: StaffMember) -> dict[str, Any]:
    return {
        "number": member.number,
        "consented_on": member.consented_on.isoformat(),
        "recorded_at": member.recorded_at.isoformat(),
        "recorded_by": member.recorded_by,
        "captures": member.templates,
    }


def cmd_staff_add(args: argparse.Namespace) -> int:
    from desktopapp.core.store.cameras import CameraStore  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    if (args.image is None) == (args.camera is None):
        raise BadInputError("give either a picture of the employee or --camera N, not both")
    if not args.consented:
        raise BadInputError(
            "staff enrolment needs the employee's consent: add --consented once they have "
            "agreed (keep the signed form with the staff number)"
        )
    consented_on = (
        _local_day(args.consented_on, "--consented-on")
        if args.consented_on
        else datetime.now().astimezone().date()
    )
    engine = _engine(args, [Role.FACE_DETECTION, Role.FACE_FEATURES])
    try:
        if args.image is not None:
            probe = probe_from_image(engine, read_image(args.image))
        else:
            db = open_database(args.data_dir)
            cameras = CameraStore(db, Cipher(load_key(args.data_dir))).all()
            db.conn.close()
            chosen = [c for c in cameras if c.camera_id == args.camera]
            if not chosen:
                raise BadInputError(f"there is no camera number {args.camera}")
            probe = probe_from_source(engine, chosen[0].source)
    except (NoFaceError, SourceError) as exc:
        raise BadInputError(str(exc)) from exc
    enrolment = _staff_register(args, engine)[1].enrol(
        probe, consented_on=consented_on, actor=_cli_actor()
    )
    member = enrolment.member
    _emit(
        args,
        {**_staff_row(member), "merged": enrolment.merged},
        (
            f"already enrolled as staff {member.number}: the picture was added to that record"
            if enrolment.merged
            else f"enrolled as staff {member.number} (consent of {member.consented_on}); "
            "write this number on the signed consent form"
        ),
    )
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    members = _staff_register(args, None)[1].members()
    rows = [_staff_row(member) for member in members]
    lines = [
        f"staff {m.number}\tconsented {m.consented_on}\trecorded by {m.recorded_by} "
        f"on {m.recorded_at.astimezone():%Y-%m-%d %H:%M}\t{m.templates} captures"
        for m in members
    ]
    _emit(args, {"staff": rows}, "\n".join(lines) or "no staff enrolled")
    return 0


def cmd_staff_remove(args: argparse.Namespace) -> int:
    db, register = _staff_register(args, None)
    member = register.remove(args.number, actor=_cli_actor())
    _replace_backups(args, db)
    _emit(
        args,
        {"removed": member.number},
        f"staff {member.number} removed; their captures are deleted",
    )
    return 0


def _analysis_inputs(texts: Sequence[str]) -> list[tuple[str, SourceSpec | list[Path]]]:
    """Each SRC as a video/stream spec, or as a list of still images (one visit each)."""
    from desktopapp.core.images import IMAGE_SUFFIXES  # noqa: PLC0415

    inputs: list[tuple[str, SourceSpec | list[Path]]] = []
    for text in texts:
        path = Path(text)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise BadInputError(f"{path} holds no image files")
            inputs.append((text, images))
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            if not path.is_file():
                raise BadInputError(f"no such file {path}")
            inputs.append((text, [path]))
        else:
            try:
                inputs.append((text, parse_source(text)))
            except ValueError as exc:
                raise BadInputError(str(exc)) from exc
    return inputs


def _counting_line(text: str) -> CountingLine:
    """NAME:X1,Y1,X2,Y2 in fractions of the picture."""
    name, _colon, ends = text.rpartition(":")
    try:
        x1, y1, x2, y2 = (float(v) for v in ends.split(","))
        return CountingLine(name, (x1, y1), (x2, y2), Space.IMAGE)
    except ValueError as exc:
        raise BadInputError(f"--line {text!r}: {exc}") from exc


def _analysis_start(text: str | None, now: datetime) -> datetime | None:
    """``--start`` as an aware time (a bare time is the operator's local time): never in the
    future, since no visit may be dated after the analysis."""
    if text is None:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInputError(
            f"--start must be an ISO date and time such as 2026-11-01T09:00, not {text!r}"
        ) from exc
    if start.tzinfo is None:
        start = start.astimezone()
    if start > now:
        raise BadInputError(f"--start {text} is in the future: visits cannot be dated after now")
    return start


@dataclasses.dataclass(slots=True)
class _Analysed:
    """One file or image (placed in time once all are read), or one live stream (wall clock),
    with the tracks it closed, in the analyser's clock."""

    name: str
    events: list[TrackClosed]
    begins: float = 0.0
    ends: float = 0.0
    live: bool = False
    placed_at: datetime | None = None

    def to_datetime(self, t: float) -> datetime:
        if self.placed_at is None:
            return datetime.fromtimestamp(t, UTC)  # live: frames carry time.time()
        return self.placed_at + timedelta(seconds=t - self.begins)


def _place(items: list[_Analysed], start: datetime | None, now: datetime) -> None:
    """Files and images lie one day apart: from ``start``, or so that the last one ends
    ``now``. BadInputError if any would end after ``now``."""
    files = [item for item in items if not item.live]
    for index, item in enumerate(files):
        length = timedelta(seconds=item.ends - item.begins)
        if start is None:
            item.placed_at = now - timedelta(days=len(files) - 1 - index) - length
        else:
            item.placed_at = start + timedelta(days=index)
            if item.placed_at + length > now:
                raise BadInputError(
                    f"--start {start.isoformat()} would date {item.name} after now (sources "
                    f"lie one day apart): give an earlier --start; nothing was recorded"
                )


def cmd_analyse(args: argparse.Namespace) -> int:
    from desktopapp.core.model_change import (  # noqa: PLC0415
        applies_exclusions,
        require_recognisable_exclusions,
    )
    from desktopapp.core.modes import ModeError, allowed_mode, engine_for_mode  # noqa: PLC0415
    from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig  # noqa: PLC0415
    from desktopapp.core.sources import Frame, SourceKind, iter_frames  # noqa: PLC0415
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415
    from desktopapp.core.store.visits import VisitStore  # noqa: PLC0415
    from desktopapp.core.tracking import TrackerConfig  # noqa: PLC0415
    from desktopapp.core.visits import RecorderConfig, VisitRecorder  # noqa: PLC0415

    now = datetime.now(UTC)
    start = _analysis_start(args.start, now)
    db = open_database(args.data_dir)
    notice = require_complete_notice(NoticeStore(db))
    profile = notice.profile
    try:
        mode = allowed_mode(profile.mode, Mode(args.mode) if args.mode else None)
    except ModeError as exc:
        raise BadInputError(f"--mode {args.mode}: {exc}") from exc
    inputs = _analysis_inputs(args.sources)
    vision = load_settings(args.data_dir).vision
    engine = engine_for_mode(vision, mode)
    if applies_exclusions(mode) and engine.embedder is not None:
        # Before any footage is read: an opt-out this model cannot recognise would be recorded.
        require_recognisable_exclusions(
            VisitStore(db, Cipher(load_key(args.data_dir))), engine.embedder.info.model_id
        )
    # Files are read as fast as the machine allows and every shot is waited for; a live
    # camera defers shots while the feature processes are saturated.
    lines = tuple(_counting_line(t) for t in args.line)
    video_config = PipelineConfig(mode=mode, lines=lines, wait_for_features=True)
    live_config = PipelineConfig(mode=mode, lines=lines)
    # A still image is a single sighting: it must count as a track of its own.
    still_config = PipelineConfig(
        mode=mode, tracker=TrackerConfig(min_hits=1), wait_for_features=True
    )
    started = time.perf_counter()
    frames = faces = 0
    items: list[_Analysed] = []
    for camera_id, (name, source) in enumerate(inputs, start=1):
        if isinstance(source, list):
            analyser = FrameAnalyser(camera_id, engine, still_config)
            for index, image_path in enumerate(source):
                analyser.start_stream()
                # The analyser's clock must run forward; placing the image moves the visit.
                moment = index * 10.0
                frame = Frame(read_image(image_path), index, moment, time.monotonic())
                closed = analyser.process(frame)[1] + analyser.finish(moment + 1.0)
                items.append(_Analysed(str(image_path), closed, moment, moment + 1.0))
        else:
            live = source.kind not in (SourceKind.FILE, SourceKind.DEMO)
            analyser = FrameAnalyser(camera_id, engine, live_config if live else video_config)
            item = _Analysed(name, [], live=live)
            deadline = time.monotonic() + args.seconds if live else None
            timestamp = 0.0
            try:
                for frame in iter_frames(
                    source, max_frames=int(args.seconds * 30) if live else None
                ):
                    if analyser.frames == 0:
                        item.begins = frame.timestamp
                    timestamp = frame.timestamp
                    item.events += analyser.process(frame)[1]
                    if deadline is not None and time.monotonic() > deadline:
                        break
            except SourceError as exc:
                raise BadInputError(str(exc)) from exc
            item.ends = timestamp + (0.0 if live else video_config.tracker.max_missing_seconds)
            item.events += analyser.finish(item.ends)
            items.append(item)
        log.info("analysed %s: %d frames", redact_url(name), analyser.frames)
        frames += analyser.frames
        faces += analyser.faces
    _place(items, start, now)

    current: list[_Analysed] = []

    def placed(t: float) -> datetime:
        return current[0].to_datetime(t)  # the source of the event being recorded

    recorder = VisitRecorder(
        VisitStore(db, Cipher(load_key(args.data_dir))),
        RecorderConfig.for_notice(
            profile,
            engine.embedder,
            mode,
            args.store,
            match_margin(vision),
        ),
        to_datetime=placed,
    )
    crossings = {line.name: {"in": 0, "out": 0} for line in lines}
    people = 0
    per_visit: list[dict[str, object]] = []
    totals = {"visits": 0, "new_visitors": 0, "repeat_visits": 0, "unknown_visits": 0}
    # In the order the people were seen, so that the first sighting is the new visit.
    timeline = sorted(
        ((item, event) for item in items for event in item.events),
        key=lambda pair: pair[0].to_datetime(pair[1].first_seen),
    )
    for item, event in timeline:
        current[:] = [item]
        if event.kind == "person":
            people += 1
            for crossing in event.crossings:
                crossings[crossing.line][crossing.direction.value] += 1
        outcome = recorder.record(event)
        if outcome.outcome != "visit":
            continue
        totals["visits"] += 1
        totals["new_visitors"] += int(outcome.new_visitor)
        totals["repeat_visits"] += int(outcome.is_repeat)
        totals["unknown_visits"] += int(mode is Mode.REPEAT and outcome.visitor_id is None)
        per_visit.append(
            {
                "source": item.name,
                "visitor": outcome.visitor_id,
                "repeat": outcome.is_repeat,
                "age_band": outcome.age_band,
                "gender": outcome.gender,
            }
        )
    elapsed = time.perf_counter() - started
    payload: dict[str, object] = {
        "frames": frames,
        "faces": faces,
        "tracks": len(timeline),
        **totals,
        "fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
        "mode": mode.value,
        "persons": people,
        "crossings": crossings,
        "notice_version": notice.version,
    }
    text = "\n".join(f"{k}: {v}" for k, v in payload.items())
    if args.per_visit:
        # DESIGN's contract: with --per-visit, "visits" lists the visits instead of counting.
        payload["visits"] = per_visit
        text += "".join(
            f"\n{v['source']}: "
            + ("unknown" if v["visitor"] is None else "repeat" if v["repeat"] else "new")
            + f" {v['visitor'] or ''}"
            for v in per_visit
        )
    _emit(args, payload, text)
    return 0


def cmd_anonymise(args: argparse.Namespace) -> int:
    from desktopapp.core.anonymise import MODE as ANONYMISE_MODE  # noqa: PLC0415
    from desktopapp.core.anonymise import AnonymiseError, anonymise, check_paths  # noqa: PLC0415
    from desktopapp.core.modes import engine_for_mode  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    try:
        check_paths(args.source, args.out, force=args.force)
        db = open_database(args.data_dir)
        notice = require_complete_notice(NoticeStore(db))
        engine = engine_for_mode(load_settings(args.data_dir).vision, ANONYMISE_MODE)
        result = anonymise(args.source, args.out, engine, force=args.force)
    except AnonymiseError as exc:
        raise BadInputError(str(exc)) from exc
    details = {
        "source": args.source.name,
        "out": args.out.name,
        "frames": result.frames,
        "notice_version": notice.version,
    }
    _audit(db, "anonymise", details)
    payload = result.as_dict()
    text = f"{result.frames} frames anonymised into {args.out} in {result.seconds:.1f} s"
    _emit(args, payload, text)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    # The CLI must work without Qt loaded: the GUI is imported only here.
    if args.self_test:
        from desktopapp.ui.app import run_self_test  # noqa: PLC0415

        return run_self_test(args.data_dir, as_json=args.json)
    from desktopapp.ui.app import run_gui  # noqa: PLC0415

    return run_gui(args.data_dir)


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    options.add_argument("--data-dir", type=Path, help="data folder", **unset)
    options.add_argument("--json", action="store_true", help="print one JSON object", **unset)
    options.add_argument("-v", "--verbose", action="store_true", help="debug logging", **unset)
    return options


def build_parser() -> argparse.ArgumentParser:
    # The options mean the same before and after a command at every level: only the top level
    # has defaults; a (sub)command's copy sets an option only when it is given there, because
    # argparse copies every value a subcommand's namespace holds over the outer one.
    common = _common_options(suppress=True)

    parser = _Parser(
        prog="raiten",
        description="Raiten store camera analytics",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation: open the main window with the demo camera in a "
        "temporary data folder, load every default model, print a summary and exit",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    compare = sub.add_parser("compare", parents=[common], help="compare the faces in two images")
    compare.add_argument("image_a", type=Path)
    compare.add_argument("image_b", type=Path)
    compare.set_defaults(func=cmd_compare)

    calib = sub.add_parser(
        "calibrate", parents=[common], help="measure the threshold and false-match rate"
    )
    calib_input = calib.add_mutually_exclusive_group(required=True)
    calib_input.add_argument("--pairs", type=Path, help="CSV: file_x,file_y,decision")
    calib_input.add_argument(
        "--folder", type=Path, help="labelled photos: one sub-folder of photos per person"
    )
    calib.add_argument(
        "--target-fmr",
        type=float,
        default=None,
        help="per-comparison false-match rate to choose the threshold for (--folder)",
    )
    calib.add_argument(
        "--write",
        action="store_true",
        help="save the chosen threshold and its false-match rate in the settings (--folder)",
    )
    calib.add_argument(
        "--as-taken",
        action="store_true",
        help="compare the photos as taken, not as a cheap camera would show them (--folder)",
    )
    calib.set_defaults(func=cmd_calibrate)

    models = sub.add_parser("models", parents=[common], help="the models Raiten can use")
    models_sub = models.add_subparsers(dest="models_command", parser_class=_Parser, required=True)
    listing = models_sub.add_parser("list", parents=[common], help="models, licences, status")
    listing.set_defaults(func=cmd_models_list)
    register = models_sub.add_parser(
        "register", parents=[common], help="record a model pack placed in models/<pack>/"
    )
    register.add_argument("pack", type=Path)
    register.set_defaults(func=cmd_models_register)

    analyse = sub.add_parser(
        "analyse", parents=[common], help="run the pipeline over videos, images or streams"
    )
    analyse.add_argument("sources", nargs="+", metavar="SRC")
    analyse.add_argument("--mode", choices=[m.value for m in Mode], default=None)
    analyse.add_argument("--store", default=None, help="store name (visits arrive with the store)")
    analyse.add_argument(
        "--seconds", type=float, default=10.0, help="how long to read a live stream"
    )
    analyse.add_argument("--per-visit", action="store_true", help="list every visit (with --json)")
    analyse.add_argument(
        "--start",
        default=None,
        metavar="ISO-DATETIME",
        help="when the first file or image was taken (the others follow one day apart); "
        "default: the last one ends now",
    )
    analyse.add_argument(
        "--line",
        action="append",
        default=[],
        metavar="NAME:X1,Y1,X2,Y2",
        help="a counting line across the picture, ends as fractions of its width and height "
        "(repeatable; crossing from the line's left to its right is 'in')",
    )
    analyse.set_defaults(func=cmd_analyse)

    anonymise = sub.add_parser(
        "anonymise",
        parents=[common],
        help="write a copy of a video with every face and person masked, without audio or "
        "metadata (incidental capture); JSON: frames, faces, persons, seconds (time taken), fps",
    )
    anonymise.add_argument("source", type=Path, metavar="SRC", help="a video file")
    anonymise.add_argument("out", type=Path, metavar="OUT", help="the copy: .mp4, .avi or .mkv")
    anonymise.add_argument("--force", action="store_true", help="replace OUT if it exists")
    anonymise.set_defaults(func=cmd_anonymise)

    retention = sub.add_parser("retention", parents=[common], help="run the retention sweep")
    retention.add_argument("--now", default=None, help="as of this ISO date-time")
    retention.set_defaults(func=cmd_retention)

    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="how many cameras this PC can analyse at its settings, and the other "
        "performance figures (about two minutes)",
    )
    bench.add_argument(
        "--quick", action="store_true", help="every step on a tiny scale, in seconds"
    )
    bench.set_defaults(func=cmd_bench)

    purge = sub.add_parser("purge", parents=[common], help="delete all personal data")
    purge.add_argument("--yes", action="store_true", help="confirm")
    purge.add_argument("--keep-statistics", action="store_true", help="keep aggregate counts")
    purge.add_argument(
        "--include-exclusions",
        action="store_true",
        help="delete opt-outs and staff too (by default a person's request outlives a purge)",
    )
    purge.set_defaults(func=cmd_purge)

    backup = sub.add_parser("backup", parents=[common], help="the encrypted daily backups")
    backup_sub = backup.add_subparsers(dest="backup_command", parser_class=_Parser, required=True)
    backup_list = backup_sub.add_parser("list", parents=[common], help="the backups, newest first")
    backup_list.set_defaults(func=cmd_backup_list)
    backup_create = backup_sub.add_parser("create", parents=[common], help="take a backup now")
    backup_create.set_defaults(func=cmd_backup_create)
    backup_restore = backup_sub.add_parser(
        "restore", parents=[common], help="replace the database with a backup (Raiten closed)"
    )
    backup_restore.add_argument("name", help="a name from `raiten backup list`, or latest")
    backup_restore.add_argument("--yes", action="store_true", help="confirm")
    backup_restore.set_defaults(func=cmd_backup_restore)

    audit = sub.add_parser("audit", parents=[common], help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", parser_class=_Parser, required=True)
    verify = audit_sub.add_parser("verify", parents=[common], help="check the hash chain")
    verify.set_defaults(func=cmd_audit_verify)

    notice = sub.add_parser("notice", parents=[common], help="the notice profile (signage)")
    notice_sub = notice.add_subparsers(dest="notice_command", parser_class=_Parser, required=True)
    notice_set = notice_sub.add_parser("set", parents=[common], help="set it from a TOML file")
    notice_set.add_argument("file", type=Path)
    notice_set.set_defaults(func=cmd_notice_set)
    notice_show = notice_sub.add_parser("show", parents=[common], help="show the one in force")
    notice_show.set_defaults(func=cmd_notice_show)

    signage = sub.add_parser(
        "signage", parents=[common], help="print the entrance sign of the notice in force"
    )
    signage.add_argument("--out", type=Path, required=True, help="the PDF to write")
    signage.add_argument(
        "--lang", choices=SIGN_LANGUAGES, default=None, help="default: the notice's; ja+en both"
    )
    signage.add_argument("--size", choices=["A4", "A3"], default="A4", help="paper size")
    signage.set_defaults(func=cmd_signage)

    export = sub.add_parser(
        "export", parents=[common], help="export the aggregates of a period (CSV or PDF)"
    )
    export.add_argument("--out", type=Path, required=True, help="FILE.csv or FILE.pdf")
    export.add_argument(
        "--from", dest="since", metavar="DATE", default=None, help="first day, YYYY-MM-DD"
    )
    export.add_argument(
        "--to", dest="until", metavar="DATE", default=None, help="last day (default: today)"
    )
    export.add_argument("--store", default=None, help="store name (default: all stores)")
    export.add_argument("--lang", choices=["ja", "en"], default=None, help="default: the notice's")
    export.set_defaults(func=cmd_export)

    incident = sub.add_parser(
        "incident-report", parents=[common], help="count the personal records held (G-15)"
    )
    incident.add_argument("--out", type=Path, default=None, help="also write it as FILE.csv")
    incident.add_argument("--lang", choices=["ja", "en"], default="ja", help="language of --out")
    incident.set_defaults(func=cmd_incident_report)

    import_pos = sub.add_parser(
        "import-pos", parents=[common], help="import sales from a POS CSV export"
    )
    import_pos.add_argument("file", type=Path)
    import_pos.add_argument("--store", required=True, help="the store the sales belong to")
    import_pos.add_argument(
        "--tolerance-minutes",
        type=float,
        default=2.0,
        help="how far a sale may be from a visit seen at its register (default 2)",
    )
    import_pos.set_defaults(func=cmd_import_pos)

    register_camera = sub.add_parser(
        "register-camera", parents=[common], help="say which camera watches a register"
    )
    register_camera.add_argument("--store", required=True, help="store name")
    register_camera.add_argument("register", help="the register as written in the POS export")
    register_camera.add_argument("camera_id", type=int, help="camera number")
    register_camera.set_defaults(func=cmd_register_camera)

    users = sub.add_parser("users", parents=[common], help="staff accounts and roles")
    users_sub = users.add_subparsers(dest="users_command", parser_class=_Parser, required=True)
    roles = [role.value for role in UserRole]
    users_list = users_sub.add_parser("list", parents=[common], help="accounts and their roles")
    users_list.set_defaults(func=cmd_users_list)
    users_add = users_sub.add_parser(
        "add", parents=[common], help="add an account; the password is read from stdin"
    )
    users_add.add_argument("name")
    users_add.add_argument("--role", choices=roles, required=True)
    users_add.set_defaults(func=cmd_users_add)
    users_password = users_sub.add_parser(
        "set-password", parents=[common], help="new password from stdin; lifts a lock-out"
    )
    users_password.add_argument("name")
    users_password.set_defaults(func=cmd_users_set_password)
    users_role = users_sub.add_parser("set-role", parents=[common], help="change a role")
    users_role.add_argument("name")
    users_role.add_argument("role", choices=roles)
    users_role.set_defaults(func=cmd_users_set_role)

    staff = sub.add_parser(
        "staff", parents=[common], help="consenting staff, left out of every statistic"
    )
    staff_sub = staff.add_subparsers(dest="staff_command", parser_class=_Parser, required=True)
    staff_add = staff_sub.add_parser(
        "add", parents=[common], help="enrol an employee from a picture or a camera"
    )
    staff_add.add_argument("image", type=Path, nargs="?", default=None, metavar="IMG")
    staff_add.add_argument("--camera", type=int, default=None, metavar="N", help="camera number")
    staff_add.add_argument(
        "--consented", action="store_true", help="confirm that the employee has agreed"
    )
    staff_add.add_argument(
        "--consented-on", default=None, metavar="DATE", help="day of consent (default: today)"
    )
    staff_add.set_defaults(func=cmd_staff_add)
    staff_list = staff_sub.add_parser("list", parents=[common], help="the enrolled staff")
    staff_list.set_defaults(func=cmd_staff_list)
    staff_remove = staff_sub.add_parser(
        "remove", parents=[common], help="withdraw a staff member (deletes their captures)"
    )
    staff_remove.add_argument("number", type=int, metavar="ID", help="the staff number")
    staff_remove.set_defaults(func=cmd_staff_remove)
    from desktopapp.cli_chain import register as register_chain  # noqa: PLC0415

    register_chain(sub, common, _Parser, _emit, _cli_actor)

    parser.set_defaults(func=cmd_gui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        if args.command is not None:
            parser.error("--self-test takes no command")
        # Never the operator's data folder, log or keyring: a scratch folder, removed after.
        isolate_keyring()
        args.data_dir = scratch_data_dir()
    else:
        args.data_dir = resolve_data_dir(args.data_dir)
    setup_logging(args.data_dir, verbose=args.verbose)
    try:
        result: int = args.func(args)
        return result
    except (
        BadInputError,
        ImageReadError,
        ModelError,
        SettingsError,
        NoticeError,
        NoticeGateError,
        ExclusionModelError,
        SignageError,
        ExportError,
        PasswordRuleError,
        UserError,
        DataKeyError,
        RequestError,
        ChainError,
    ) as exc:
        log.error("%s failed: %s", args.command, exc)
        print(f"raiten: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ScrubIncompleteError as exc:
        log.error("%s: %s", args.command, exc)
        print(
            "raiten: the data was deleted and the deletion is in the audit log, but another "
            "program kept the database's log from being cleared, so deleted data may remain in "
            f"the data folder's files: close Raiten and other programs using {args.data_dir}, "
            "then run `raiten retention` to finish the clean-up",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        # The database's condition (damaged, locked, disk full…) is not a bug: exit 1 with the
        # sentence that names it.
        problem = (
            store_error(exc, args.data_dir / DB_FILE)
            if isinstance(exc, StoreError | sqlite3.Error)
            else None
        )
        if problem is not None:
            log.error("%s: %s", args.command, problem)
            print(f"raiten: {problem}", file=sys.stderr)
            return 1
        log.exception("%s failed unexpectedly", args.command)
        print(
            f"raiten: {args.command or 'raiten'} failed unexpectedly; details are in the log "
            f"in {args.data_dir / 'logs'}",
            file=sys.stderr,
        )
        return 1


def gui_main() -> int:
    return main([])
