"""The model manifest: which file serves which role, under which licence, with which SHA-256.

Shipped models are pinned in ``models/manifest.toml``. Packs the operator adds themselves
(InsightFace, OpenCV Zoo, MediaPipe files in ``models/<pack>/``) are registered once with
``raiten models register``, which records their hashes in ``models/manifest.local.toml``; from
then on a changed or damaged file is refused exactly like a shipped one.
"""

from __future__ import annotations

import enum
import hashlib
import importlib.util
import logging
import os
import platform
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktopapp.core.vision.types import ModelInfo, Role

log = logging.getLogger(__name__)

MANIFEST = "manifest.toml"
LOCAL_MANIFEST = "manifest.local.toml"
MANIFEST_VERSION = 1


def platform_tag() -> str:
    """``linux-x86_64``, ``windows-amd64``, ``darwin-arm64``: keys compiled model files by OS."""
    return f"{platform.system().lower()}-{platform.machine().lower()}"


def default_models_dir() -> Path:
    """Where ``manifest.toml`` and user-supplied model files live.

    ``RAITEN_MODELS_DIR`` wins; then ``models/`` beside a frozen bundle's executable; then the
    source tree's ``models/``; then the copy of the manifest packed into the wheel.
    """
    env = os.environ.get("RAITEN_MODELS_DIR")
    if env:
        return Path(env)
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent / "models"
    package_dir = Path(__file__).resolve().parents[2]
    source_tree = package_dir.parent / "models"
    if (source_tree / MANIFEST).is_file():
        return source_tree
    return package_dir / "_models"


class ModelProblem(enum.StrEnum):
    MISSING = "missing"
    MISMATCH = "mismatch"
    UNREADABLE = "unreadable"
    CORRUPT = "corrupt"
    UNKNOWN = "unknown"
    MANIFEST = "manifest"


_ADVICE = {
    ModelProblem.MISSING: "Put the file back (reinstalling Raiten restores the shipped models).",
    ModelProblem.MISMATCH: (
        "The file is damaged or was replaced. Reinstall Raiten, or for a pack you added "
        "yourself copy it again and run 'raiten models register'."
    ),
    ModelProblem.UNREADABLE: "Check that the file can be read by this user account.",
    ModelProblem.CORRUPT: "The file could not be loaded as a model. Copy it again.",
    ModelProblem.UNKNOWN: "Choose a model listed by 'raiten models list'.",
    ModelProblem.MANIFEST: "Reinstall Raiten to restore models/manifest.toml.",
}


class ModelError(Exception):
    """A model could not be used. ``str()`` is one plain sentence naming the file and the fix."""

    def __init__(self, problem: ModelProblem, model_id: str, path: Path | None, detail: str = ""):
        self.problem = problem
        self.model_id = model_id
        self.path = path
        self.detail = detail
        what = {
            ModelProblem.MISSING: "is missing",
            ModelProblem.MISMATCH: "does not match its SHA-256 in the model manifest",
            ModelProblem.UNREADABLE: "cannot be read",
            ModelProblem.CORRUPT: "is not a usable model",
            ModelProblem.UNKNOWN: "is not a known model",
            ModelProblem.MANIFEST: "is missing or malformed",
        }[problem]
        subject = f"Model file {path}" if path is not None else f"Model '{model_id}'"
        if problem is ModelProblem.MANIFEST:
            subject = f"Model manifest {path}"
        super().__init__(f"{subject} ({model_id}) {what}. {_ADVICE[problem]}")

    @property
    def advice(self) -> str:
        return _ADVICE[self.problem]


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file of a model: a resource of an installed package, or a path under models/."""

    key: str
    sha256: str
    path: str
    package: str | None = None
    platform: str | None = None

    def locate(self, models_dir: Path) -> Path | None:
        if self.package is None:
            return models_dir / self.path
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations))) / self.path


@dataclass(frozen=True, slots=True)
class ModelEntry:
    model_id: str
    role: Role
    backend: str
    licence: str
    commercial_use: bool
    source: str
    files: tuple[FileSpec, ...]
    default: bool = False
    notice: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            self.model_id, self.role, self.backend, self.licence, self.commercial_use, self.source
        )

    def files_for(self, tag: str) -> list[FileSpec]:
        return [f for f in self.files if f.platform is None or f.platform == tag]


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) so several cameras hash once."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def _parse_entry(raw: dict[str, Any], origin: Path) -> ModelEntry:
    try:
        files = tuple(
            FileSpec(
                key=str(f["key"]),
                sha256=str(f["sha256"]).lower(),
                path=str(f["path"]),
                package=f.get("package"),
                platform=f.get("platform"),
            )
            for f in raw["file"]
        )
        return ModelEntry(
            model_id=str(raw["id"]),
            role=Role(raw["role"]),
            backend=str(raw["backend"]),
            licence=str(raw["licence"]),
            commercial_use=bool(raw["commercial_use"]),
            source=str(raw["source"]),
            files=files,
            default=bool(raw.get("default", False)),
            notice=str(raw.get("notice", "")),
            options=dict(raw.get("options", {})),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(
            ModelProblem.MANIFEST, str(raw.get("id", "?")), origin, f"bad entry: {exc!r}"
        ) from exc


def _read_manifest(path: Path) -> list[ModelEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(ModelProblem.MANIFEST, "manifest", path, repr(exc)) from exc
    if data.get("version") != MANIFEST_VERSION:
        raise ModelError(
            ModelProblem.MANIFEST, "manifest", path, f"version {data.get('version')!r}"
        )
    return [_parse_entry(raw, path) for raw in data.get("model", [])]


class ModelRegistry:
    """The models this installation knows, by id and by role."""

    def __init__(self, models_dir: Path, entries: list[ModelEntry]):
        self.models_dir = models_dir
        self._entries = {e.model_id: e for e in entries}

    @classmethod
    def load(cls, models_dir: Path | None = None) -> ModelRegistry:
        models_dir = models_dir or default_models_dir()
        entries = _read_manifest(models_dir / MANIFEST)
        local = models_dir / LOCAL_MANIFEST
        if local.is_file():
            entries += _read_manifest(local)
        return cls(models_dir, entries)

    def entries(self, role: Role | None = None) -> list[ModelEntry]:
        return [e for e in self._entries.values() if role is None or e.role is role]

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self._entries[model_id]
        except KeyError:
            raise ModelError(ModelProblem.UNKNOWN, model_id, None) from None

    def default(self, role: Role) -> ModelEntry:
        for entry in self.entries(role):
            if entry.default:
                return entry
        raise ModelError(ModelProblem.UNKNOWN, f"default {role.value}", None)

    def verified_paths(self, entry: ModelEntry) -> dict[str, Path]:
        """Paths of the entry's files for this platform, each checked against its SHA-256."""
        tag = platform_tag()
        specs = entry.files_for(tag)
        if not specs:
            raise ModelError(ModelProblem.MISSING, entry.model_id, None, f"no file for {tag}")
        paths: dict[str, Path] = {}
        for spec in specs:
            path = spec.locate(self.models_dir)
            if path is None or not path.is_file():
                raise ModelError(
                    ModelProblem.MISSING, entry.model_id, path or Path(spec.package or spec.path)
                )
            try:
                actual = sha256_of(path)
            except OSError as exc:
                raise ModelError(ModelProblem.UNREADABLE, entry.model_id, path, repr(exc)) from exc
            if actual != spec.sha256:
                log.error(
                    "SHA-256 mismatch for %s: expected %s, found %s", path, spec.sha256, actual
                )
                raise ModelError(ModelProblem.MISMATCH, entry.model_id, path)
            paths[spec.key] = path
        return paths
