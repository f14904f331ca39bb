"""Consenting employees enrolled as staff: recognised so that they are left out of every
statistic (DESIGN "Matching"), and withdrawn when they ask or leave.

Enrolment is an administrator's act with the employee present and consenting. Raiten keeps no
name (G-05): each staff member gets the next free number, which the shop writes on the signed
consent form it keeps; the database records when the employee consented and which account
recorded it, and the audit log says the same. The capture is made like the counter's
(``requests.probe_from_image`` / ``probe_from_source``) and stored only as the encrypted
template of a ``staff`` visitor, through the same exclusion path as an opt-out: the same person
enrolled twice becomes one staff member with a further capture. Removal deletes the templates
and scrubs the file. Staff never expire with the retention period (they would be counted as
customers again unasked); purge keeps them unless told otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlite_utils

from desktopapp.core.requests import PublicRequests, RequestError
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.visits import STAFF
from desktopapp.core.vision.types import Vector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StaffMember:
    visitor_id: str
    number: int
    consented_on: date
    recorded_at: datetime
    recorded_by: str
    templates: int


@dataclass(frozen=True, slots=True)
class Enrolment:
    member: StaffMember
    merged: bool
    """The person was enrolled already: the capture joined their record."""


class StaffRegister:
    """Staff of one database, on the connection of ``requests`` (whose thread owns it)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        requests: PublicRequests,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._requests = requests
        self._audit = audit
        self._clock = clock

    def enrol(self, probe: Vector, *, consented_on: date, actor: str) -> Enrolment:
        """Enrol the employee whose feature is ``probe``; they consented on ``consented_on``
        (not in the future). Audited."""
        now = self._clock()
        if consented_on > now.astimezone().date():
            raise RequestError("The date of consent cannot be in the future.")

        def record_consent(visitor_id: str) -> None:
            (number,) = self._db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM staff_consent"
            ).fetchone()
            self._db.conn.execute(
                "INSERT INTO staff_consent (visitor_id, number, consented_on, recorded_at, "
                "recorded_by) VALUES (?, ?, ?, ?, ?)",
                (
                    visitor_id,
                    int(number),
                    consented_on.isoformat(),
                    now.astimezone(UTC).isoformat(),
                    actor,
                ),
            )

        exclusion = self._requests.exclude(probe, STAFF, created=record_consent)
        member = self.member(exclusion.visitor_id)
        self._audit.append(
            actor,
            "staff.add",
            {
                "visitor": member.visitor_id,
                "number": member.number,
                "consented_on": member.consented_on.isoformat(),
                "merged": exclusion.merged,
            },
        )
        log.info("staff %d enrolled (merged: %s)", member.number, exclusion.merged)
        return Enrolment(member, exclusion.merged)

    def members(self) -> list[StaffMember]:
        """Every staff member, by number."""
        rows = self._db.execute(
            "SELECT c.visitor_id, c.number, c.consented_on, c.recorded_at, c.recorded_by, "
            "(SELECT COUNT(*) FROM template t WHERE t.visitor_id = c.visitor_id) "
            "FROM staff_consent c JOIN visitor v ON v.id = c.visitor_id ORDER BY c.number"
        ).fetchall()
        return [
            StaffMember(
                str(visitor_id),
                int(number),
                date.fromisoformat(consented_on),
                datetime.fromisoformat(recorded_at),
                str(recorded_by),
                int(templates),
            )
            for visitor_id, number, consented_on, recorded_at, recorded_by, templates in rows
        ]

    def member(self, visitor_id: str) -> StaffMember:
        for member in self.members():
            if member.visitor_id == visitor_id:
                return member
        raise RequestError(f"There is no staff member {visitor_id}.")

    def by_number(self, number: int) -> StaffMember:
        for member in self.members():
            if member.number == number:
                return member
        raise RequestError(f"There is no staff member number {number}: see 'raiten staff list'.")

    def remove(self, number: int, *, actor: str) -> StaffMember:
        """Withdraw staff member ``number``: their templates are deleted and the file scrubbed;
        from now on they are analysed like anybody else. Audited."""
        member = self.by_number(number)
        templates = self._requests.remove_exclusion(member.visitor_id, STAFF)
        self._audit.append(
            actor,
            "staff.remove",
            {"visitor": member.visitor_id, "number": member.number, "templates": templates},
        )
        log.info("staff %d removed", member.number)
        return member
