"""Registering an InsightFace model pack the operator copied into ``models/<pack>/``.

``register_pack`` recognises the pack's files by name, records their SHA-256 in
``models/manifest.local.toml`` and from then on the registry refuses a changed file exactly like
a shipped one. Entries other tools wrote to the local manifest are kept as they are.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from desktopapp.core.vision.registry import (
    LOCAL_MANIFEST,
    MANIFEST,
    MANIFEST_VERSION,
    FileSpec,
    ModelEntry,
    sha256_of,
)
from desktopapp.core.vision.types import Role

log = logging.getLogger(__name__)

INSIGHTFACE_LICENCE = (
    "InsightFace pretrained model: non-commercial research use only unless licensed from "
    "InsightFace"
)

# (file name patterns, id suffix, role, backend), matched case-insensitively. Other files of a
# pack (1k3d68.onnx, 2d106det.onnx: landmark models Raiten does not use) are left alone.
_KINDS: tuple[tuple[tuple[str, ...], str, Role, str], ...] = (
    (("det_*.onnx", "scrfd*.onnx"), "scrfd", Role.FACE_DETECTION, "insightface_scrfd"),
    (
        ("w600k*.onnx", "glint*.onnx", "arcface*.onnx"),
        "arcface",
        Role.FACE_FEATURES,
        "insightface_arcface",
    ),
    (("genderage.onnx",), "genderage", Role.FACE_ATTRIBUTES, "insightface_genderage"),
)

# Written with each new entry so the operator sees, and can tune, what the backend assumes.
_DEFAULT_OPTIONS: dict[Role, dict[str, Any]] = {
    Role.FACE_DETECTION: {"min_confidence": 0.5},
    Role.FACE_FEATURES: {"threshold": 0.30},
    Role.FACE_ATTRIBUTES: {},
}

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "pack"


class _Found(NamedTuple):
    path: Path
    model_id: str
    role: Role
    backend: str


def _recognise(pack_dir: Path) -> list[_Found]:
    """Each file of the pack Raiten can use, with its model id, role and backend."""
    found: list[_Found] = []
    files = sorted(p for p in pack_dir.iterdir() if p.is_file())
    for patterns, suffix, role, backend in _KINDS:
        matches = [
            p for p in files if any(fnmatch.fnmatchcase(p.name.lower(), pat) for pat in patterns)
        ]
        for path in matches:
            # A pack rarely has two files of one kind; when it does, the file names the id.
            name = suffix if len(matches) == 1 else f"{suffix}-{_slug(path.stem)}"
            found.append(_Found(path, f"{_slug(pack_dir.name)}-{name}", role, backend))
    return found


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # 'inf', '-inf', '0.3', '1e-05' are all valid TOML floats
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to the model manifest")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _render(models: list[dict[str, Any]]) -> str:
    """The local manifest as TOML: one ``[[model]]`` per entry, ``[[model.file]]`` below it."""
    lines = [
        "# Model packs registered on this machine by 'raiten models register'. Each file's",
        "# SHA-256 was taken when it was registered; register the pack again after replacing it.",
        f"version = {MANIFEST_VERSION}",
    ]
    for model in models:
        lines += ["", "[[model]]"]
        tables = {k: v for k, v in model.items() if _is_table_array(v)}
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in model.items() if k not in tables]
        for name, rows in tables.items():
            for row in rows:
                lines += ["", f"[[model.{_toml_key(name)}]]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in row.items()]
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a crash never leaves a half-written manifest."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_models(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(
            f"The model manifest {path} cannot be read ({exc}); fix or remove it."
        ) from exc
    models = data.get("model", [])
    if not isinstance(models, list):
        raise ValueError(f"The model manifest {path} is malformed; fix or remove it.")
    return [dict(m) for m in models]


def _entry(models_dir: Path, found: _Found, options: Mapping[str, Any]) -> ModelEntry:
    pack = found.path.parent.relative_to(models_dir).as_posix()
    return ModelEntry(
        model_id=found.model_id,
        role=found.role,
        backend=found.backend,
        licence=INSIGHTFACE_LICENCE,
        commercial_use=False,
        source=f"user-supplied pack models/{pack}/",
        files=(
            FileSpec(
                key="onnx",
                sha256=sha256_of(found.path),
                path=found.path.relative_to(models_dir).as_posix(),
            ),
        ),
        options={**_DEFAULT_OPTIONS[found.role], **options},
    )


def _as_table(entry: ModelEntry) -> dict[str, Any]:
    return {
        "id": entry.model_id,
        "role": entry.role.value,
        "backend": entry.backend,
        "licence": entry.licence,
        "commercial_use": entry.commercial_use,
        "source": entry.source,
        "options": entry.options,
        "file": [{"key": f.key, "path": f.path, "sha256": f.sha256} for f in entry.files],
    }


def register_pack(models_dir: Path, pack_dir: Path) -> list[ModelEntry]:
    """Record the usable models of ``pack_dir`` (a folder in ``models_dir``) in the local manifest.

    Registering a pack again replaces its entries with fresh hashes, keeping any options the
    operator tuned in the local manifest.
    """
    models_dir = models_dir.resolve()
    pack_dir = pack_dir.resolve()
    if not pack_dir.is_dir() or pack_dir == models_dir or not pack_dir.is_relative_to(models_dir):
        raise ValueError(
            f"The model pack {pack_dir} must be a folder inside {models_dir}; "
            "copy the pack there first."
        )
    found = _recognise(pack_dir)
    if not found:
        raise ValueError(
            f"No InsightFace model was found in {pack_dir}; expected files such as "
            "det_10g.onnx, w600k_r50.onnx or genderage.onnx."
        )
    new_ids = {item.model_id for item in found}

    shipped = {str(m.get("id")) for m in _read_models(models_dir / MANIFEST)}
    if clash := sorted(new_ids & shipped):
        raise ValueError(
            f"The model id {clash[0]} is already used by {models_dir / MANIFEST}; "
            "rename the pack folder and register it again."
        )

    local_path = models_dir / LOCAL_MANIFEST
    prefix = pack_dir.relative_to(models_dir).as_posix() + "/"
    kept: list[dict[str, Any]] = []
    tuned: dict[str, dict[str, Any]] = {}
    for model in _read_models(local_path):
        files = model.get("file", [])
        own = model.get("id") in new_ids or (
            bool(files)
            and all(isinstance(f, Mapping) and "package" not in f for f in files)
            and all(str(f.get("path", "")).startswith(prefix) for f in files)
        )
        if not own:
            kept.append(model)
        elif isinstance(model.get("options"), Mapping):
            tuned[str(model.get("id"))] = dict(model["options"])
    entries = [_entry(models_dir, item, tuned.get(item.model_id, {})) for item in found]

    _write_atomically(local_path, _render(kept + [_as_table(e) for e in entries]))
    log.info("registered pack %s: %s", prefix.rstrip("/"), ", ".join(e.model_id for e in entries))
    return entries
