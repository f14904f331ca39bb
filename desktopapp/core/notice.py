"""The notice profile (G-01): what the public is told before any camera is analysed.

Analysis refuses to start until the profile is complete. Every change of the profile is a new
numbered version in the database, so signage and the audit log can say which notice was in
force when.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktopapp.core.modes import Mode

log = logging.getLogger(__name__)

REQUIRED_KEYS = (
    "operator",
    "store",
    "purpose",
    "items",
    "contact",
    "policy_url",
    "feedback_url",
    "retention_days",
)
# Words that show the purpose admits face feature matching (PPC Q&A 2023: when face
# identification is used, the stated purpose must say so).
_FACE_MATCHING_WORDS = (("face", "feature"), ("face", "recogni"), ("face", "match"), ("顔",))


_PROBLEM_TEXT = {
    "missing": "missing {key}",
    "not_url": "{key} must be a web address (https://…)",
    "no_face_matching": "purpose must say that face feature data is matched",
}


class NoticeError(Exception):
    """The profile file cannot be used; ``str()`` says why in one sentence."""


class NoticeProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    operator: str = ""
    store: str = ""
    purpose: str = ""
    items: list[str] = Field(default_factory=list)
    contact: str = ""
    policy_url: str = ""
    feedback_url: str = ""
    retention_days: int = Field(default=0, ge=0, le=3650)
    retention_from: Literal["first", "last"] = "first"
    mode: Mode = Mode.REPEAT
    language: Literal["ja", "en"] = "ja"

    def problem_items(self) -> list[tuple[str, str]]:
        """Why analysis may not start yet, as (problem, key): ``missing``, ``not_url`` or
        ``no_face_matching``. The UI words each in the operator's language."""
        missing = [key for key in REQUIRED_KEYS if not getattr(self, key)]
        if self.mode is not Mode.REPEAT and "retention_days" in missing:
            missing.remove("retention_days")  # nothing personal is kept beyond the visit
        items = [("missing", key) for key in missing]
        for key in ("policy_url", "feedback_url"):
            value = getattr(self, key)
            if value and not value.startswith(("https://", "http://")):
                items.append(("not_url", key))
        if self.mode is Mode.REPEAT and self.purpose:
            text = self.purpose.lower()
            if not any(all(w in text for w in words) for words in _FACE_MATCHING_WORDS):
                items.append(("no_face_matching", "purpose"))
        return items

    def problems(self) -> list[str]:
        """The same, as plain English for the command line and the log."""
        return [_PROBLEM_TEXT[problem].format(key=key) for problem, key in self.problem_items()]

    @property
    def missing_keys(self) -> list[str]:
        return [key for problem, key in self.problem_items() if problem == "missing"]

    @property
    def complete(self) -> bool:
        return not self.problems()


def load_profile_file(path: Path) -> NoticeProfile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NoticeError(f"cannot read notice profile {path}: {exc}") from exc
    try:
        return NoticeProfile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NoticeError(f"notice profile {path}: '{where}': {first['msg']}") from exc


@dataclass(frozen=True, slots=True)
class NoticeVersion:
    version: int
    created_at: datetime
    profile: NoticeProfile


class NoticeStore:
    """The versions of the notice profile in the database."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def current(self) -> NoticeVersion | None:
        row = self.db.execute(
            "SELECT version, created_at, profile_json FROM notice_version "
            "ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return NoticeVersion(
            int(row[0]),
            datetime.fromisoformat(row[1]),
            NoticeProfile.model_validate_json(row[2]),
        )

    def save(self, profile: NoticeProfile, now: datetime | None = None) -> NoticeVersion:
        """Store ``profile`` as a new version unless it equals the current one."""
        current = self.current()
        if current is not None and current.profile == profile:
            return current
        payload: dict[str, Any] = profile.model_dump(mode="json")
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        version = (current.version if current else 0) + 1
        created = now or datetime.now(UTC)
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO notice_version (version, created_at, profile_json, sha256) "
                "VALUES (?, ?, ?, ?)",
                (version, created.isoformat(), text, hashlib.sha256(text.encode()).hexdigest()),
            )
        log.info("notice profile version %d saved", version)
        return NoticeVersion(version, created, profile)


class NoticeGateError(Exception):
    """Analysis may not start: the notice profile is missing or incomplete."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items
        self.problems = [_PROBLEM_TEXT[problem].format(key=key) for problem, key in items]
        super().__init__(
            "Analysis cannot start until the notice profile is complete: "
            + "; ".join(self.problems)
        )


def require_complete_notice(store: NoticeStore) -> NoticeVersion:
    """The notice in force, or NoticeGateError naming every missing key (G-01)."""
    current = store.current()
    if current is None:
        raise NoticeGateError([("missing", key) for key in REQUIRED_KEYS])
    items = current.profile.problem_items()
    if items:
        raise NoticeGateError(items)
    return current
