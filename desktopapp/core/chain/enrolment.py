"""The enrolment file that ``raiten chain init`` writes and ``raiten chain join`` takes.

It carries where the server is (never the administrator's user or password), the operator,
the enrolment role that may only enrol stores, and the operator's gallery key: the 256-bit
AES-GCM key every store encrypts templates with before they leave the PC. The server never
sees that key. The file is written readable by its owner only; the operator carries it to
each store PC and should keep it like a key to the premises.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktopapp.core.chain.errors import ChainError, ChainProblem

FORMAT = "raiten-chain-enrolment"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Enrolment:
    server: dict[str, Any]
    """libpq connection parameters without user and password."""
    operator_id: str
    operator_name: str
    enrol_role: str
    enrol_password: str
    gallery_key: bytes

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "server": self.server,
                "operator": {"id": self.operator_id, "name": self.operator_name},
                "enrol": {"role": self.enrol_role, "password": self.enrol_password},
                "gallery_key": base64.b64encode(self.gallery_key).decode(),
            },
            ensure_ascii=False,
            indent=2,
        )


def new_gallery_key() -> bytes:
    return secrets.token_bytes(32)


def write_enrolment(enrolment: Enrolment, path: Path) -> None:
    """Write the file readable by its owner only; an existing file is never overwritten (it
    may be the only copy of another operator's key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ChainError(
            ChainProblem.BAD_ENROLMENT, f"{path} exists already; choose another file name"
        ) from exc
    except OSError as exc:
        raise ChainError(ChainProblem.BAD_ENROLMENT, f"cannot write {path}: {exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(enrolment.to_json())


def read_enrolment(path: Path) -> Enrolment:
    """The enrolment in ``path``; ChainError (BAD_ENROLMENT) for anything else."""

    def bad(reason: str) -> ChainError:
        return ChainError(
            ChainProblem.BAD_ENROLMENT, f"{path} is not a usable enrolment file: {reason}"
        )

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad("not an enrolment file") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise bad("not an enrolment file")
    if raw.get("version") != VERSION:
        raise bad(f"version {raw.get('version')!r}, this Raiten reads version {VERSION}")
    try:
        key = base64.b64decode(raw["gallery_key"], validate=True)
        enrolment = Enrolment(
            server=dict(raw["server"]),
            operator_id=str(raw["operator"]["id"]),
            operator_name=str(raw["operator"]["name"]),
            enrol_role=str(raw["enrol"]["role"]),
            enrol_password=str(raw["enrol"]["password"]),
            gallery_key=key,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise bad("a field is missing or damaged") from exc
    if len(enrolment.gallery_key) != 32:
        raise bad("the gallery key is damaged")
    return enrolment
