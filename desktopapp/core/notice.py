"""The notice profile (G-01): what the public is told before any camera is analysed.

Analysis refuses to start until the profile is complete. Every change of the profile is a new
numbered version in the database, so signage and the audit log can say which notice was in
force when.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from desktopapp.core.modes import Mode

log = logging.getLogger(__name__)

# A shop without a website may leave policy_url and feedback_url empty: the sign then prints
# the full policy as its second page and takes opinions at the contact point (G-02, G-16).
REQUIRED_KEYS = (
    "operator",
    "store",
    "purpose",
    "items",
    "contact",
    "retention_days",
)
Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")
# Words that show the purpose admits face feature matching (PPC Q&A 2023: when face
# identification is used, the stated purpose must say so).
_FACE_MATCHING_WORDS = (("face", "feature"), ("face", "recogni"), ("face", "match"), ("顔",))
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]")
# What an address typed without its scheme looks like: a host name with a dot, then a path.
_HOST = re.compile(r"^[\w.-]+\.[a-z]{2,}(:\d+)?(/\S*)?$", re.IGNORECASE)


_PROBLEM_TEXT = {
    "missing": "missing {key}",
    "not_url": "{key} must be a web address (https://…)",
    "no_face_matching": "purpose must say that face feature data is matched",
}


class NoticeError(Exception):
    """The profile file cannot be used; ``str()`` says why in one sentence."""


class SignTexts(BaseModel):
    """The words of the notice in one language. Names left empty are printed as the main
    profile spells them (a shop's name is its name in both languages)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    operator: str = ""
    store: str = ""
    purpose: str = ""
    items: list[str] = Field(default_factory=list)
    contact: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.purpose and self.items and self.contact)


class NoticeProfile(BaseModel):
    """The notice; ``purpose``, ``items`` and ``contact`` are in ``language``, and ``texts``
    holds the same in the other language for an English, Japanese or bilingual sign."""

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
    language: Language = "ja"
    texts: dict[Language, SignTexts] = Field(default_factory=dict)

    @field_validator("policy_url", "feedback_url", mode="before")
    @classmethod
    def _complete_address(cls, value: object) -> object:
        """``example.jp/privacy`` means https://example.jp/privacy: completed, not refused."""
        if isinstance(value, str):
            text = value.strip()
            if text and "://" not in text and _HOST.match(text):
                return "https://" + text
        return value

    def texts_in(self, language: Language) -> SignTexts | None:
        """The notice's words in ``language`` with the names filled in; None when they are
        not all given in that language."""
        if language == self.language:
            main = SignTexts(purpose=self.purpose, items=self.items, contact=self.contact)
        else:
            main = self.texts.get(language) or SignTexts()
        filled = main.model_copy(
            update={"operator": main.operator or self.operator, "store": main.store or self.store}
        )
        if not filled.complete:
            return None
        if language == "en":
            # An English sign prints no Japanese: names in kanji need their English spelling.
            words = [filled.operator, filled.store, filled.purpose, filled.contact, *filled.items]
            if any(_JAPANESE.search(text) for text in words):
                return None
        return filled

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
        if self.mode is Mode.REPEAT:
            purposes = [self.purpose, *(t.purpose for t in self.texts.values())]
            for text in filter(None, purposes):
                if not _admits_face_matching(text):
                    items.append(("no_face_matching", "purpose"))
                    break
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


def _admits_face_matching(purpose: str) -> bool:
    text = purpose.lower()
    return any(all(w in text for w in words) for words in _FACE_MATCHING_WORDS)


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


# Starting texts the operator edits, in the sign's language (not the UI's): a Japanese sign
# gets Japanese suggestions whatever language the screens are in.
_SUGGESTED: dict[Language, dict[str, tuple[str, tuple[str, ...]]]] = {
    "ja": {
        "repeat": (
            "店舗運営とサービス向上のため、カメラ画像から顔特徴量を抽出・照合して再来店の回数を"
            "把握し、推定した年代・性別とあわせて分析します。画像は保存しません。",
            ("顔特徴量", "推定した年代・性別", "来店の日時と滞在時間"),
        ),
        "count": (
            "通行人数や店内の混雑状況を、人の形だけから数えるためです。顔は分析せず、画像は"
            "保存しません。",
            ("人数", "日時"),
        ),
        "other": (
            "店舗のレイアウトとサービスの改善のため、推定した年代・性別と店内での動きを分析"
            "します。画像や個人を特定できるデータは保存しません。",
            ("推定した年代・性別", "店内での動き", "来店の日時と滞在時間"),
        ),
    },
    "en": {
        "repeat": (
            "To improve our store and service: face feature data is extracted from camera "
            "images and matched to count repeat visits, together with estimated age band and "
            "gender. No images are kept.",
            (
                "face feature data",
                "estimated age band and gender",
                "date, time and length of visits",
            ),
        ),
        "count": (
            "To count how many people pass by or are in the store, from body shapes only. "
            "No faces are analysed and no images are kept.",
            ("number of people", "date and time"),
        ),
        "other": (
            "To improve our store layout and service from estimated age band, gender and "
            "movement in the store. No images and no data that identifies a person are kept.",
            (
                "estimated age band and gender",
                "movement in the store",
                "date, time and length of visits",
            ),
        ),
    },
}


def suggested_texts(mode: Mode, language: Language) -> tuple[str, list[str]]:
    """A purpose (admitting face matching in repeat mode, G-01) and items, in ``language``."""
    if mode is Mode.REPEAT:
        kind = "repeat"
    elif mode in (Mode.PASSERBY, Mode.CROWD):
        kind = "count"
    else:
        kind = "other"
    purpose, items = _SUGGESTED[language][kind]
    return purpose, list(items)
