"""The audit log (G-09) for an administrator: who did what when, filtered, and a chain check."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta

from PySide6.QtCore import QDate, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.services.audit import AuditEntry, AuditVerification
from desktopapp.ui.dates import local_time_text
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

# Newest entries first; older ones by narrowing the period.
MAX_ROWS = 5000
EntriesQuery = Callable[[datetime, datetime, str | None, str | None], list[AuditEntry]]


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# Kept for the record, shown only in the details view: the whole set of settings, timings.
_DETAILS_ONLY = frozenset({"settings", "seconds"})
# Lists of records (the visitors a search found) show this many references, then a count.
MAX_REFERENCES = 5


def short_reference(value: str) -> str:
    """A record's random id as staff can read it aloud and find again: ``#3f2a9c1b``."""
    return "#" + value[:8].lower()


class AuditTexts(QObject):
    def action_labels(self) -> dict[str, str]:
        return {
            "login": self.tr("Signed in"),
            "login.failed": self.tr("Sign-in failed"),
            "login.locked": self.tr("Account locked"),
            "setup.complete": self.tr("First-run setup"),
            "notice.set": self.tr("Notice profile changed"),
            "signage.print": self.tr("Signage printed"),
            "settings.change": self.tr("Settings changed"),
            "camera.save": self.tr("Camera saved"),
            "camera.remove": self.tr("Camera removed"),
            "user.create": self.tr("Account created"),
            "user.role": self.tr("Role changed"),
            "user.password": self.tr("Password changed"),
            "user.remove": self.tr("Account removed"),
            "user.unlock": self.tr("Account unlocked"),
            "analysis.stop": self.tr("Analysis stopped"),
            "staff.add": self.tr("Staff enrolled"),
            "staff.remove": self.tr("Staff removed"),
            "request.search": self.tr("Request: search"),
            "request.erase": self.tr("Request: erasure"),
            "request.opt_out": self.tr("Request: opt-out"),
            "request.opt_out_withdrawn": self.tr("Request: opt-out withdrawn"),
            "retention.sweep": self.tr("Retention sweep"),
            "purge": self.tr("Purge of personal data"),
            "export": self.tr("Export"),
            "pos.import": self.tr("Sales imported"),
            "pos.register_camera": self.tr("Register linked to a camera"),
            "pos.register_camera.remove": self.tr("Register unlinked"),
            "database.restore": self.tr("Database restored from a backup"),
            "database.start_empty": self.tr("Damaged database set aside"),
        }

    def field_labels(self) -> dict[str, str]:
        return {
            "visitor": self.tr("visitor"),
            "visitors": self.tr("visitors"),
            "matches": self.tr("found"),
            "visits": self.tr("visits"),
            "templates": self.tr("feature records"),
            "path_points": self.tr("path points"),
            "camera": self.tr("camera"),
            "camera_id": self.tr("camera"),
            "name": self.tr("name"),
            "role": self.tr("role"),
            "old": self.tr("before"),
            "new": self.tr("after"),
            "version": self.tr("notice version"),
            "language": self.tr("language"),
            "size": self.tr("paper"),
            "file": self.tr("file"),
            "format": self.tr("format"),
            "from": self.tr("from"),
            "to": self.tr("to"),
            "store": self.tr("store"),
            "register": self.tr("register"),
            "zone": self.tr("zone"),
            "linked": self.tr("linked"),
            "imported": self.tr("imported"),
            "keep_statistics": self.tr("statistics kept"),
            "changed": self.tr("changed"),
            "backup": self.tr("backup"),
            "set_aside": self.tr("set aside as"),
            "anonymous_visits": self.tr("anonymous visits"),
            "folded_visits": self.tr("visits kept as statistics"),
            "now": self.tr("as of"),
            "user": self.tr("account"),
        }

    def who(self, actor: str) -> str:
        kind, _, name = actor.partition(":")
        if not name:
            return self.tr("Raiten (automatic)") if actor == "system" else actor
        if kind in ("user", "setup"):
            return name
        if kind == "cli":
            return self.tr("%1 (command line)").replace("%1", name)
        if kind == "demo":
            return self.tr("demo")
        if kind == "file":
            return self.tr("settings file edited outside Raiten")
        return actor

    def value(self, value: object, *, full: bool = False) -> str:
        """A detail's value in plain words: short references for record ids, local minutes
        for times (``full``: the whole id and the second, for the details view)."""
        if isinstance(value, bool):
            return self.tr("yes") if value else self.tr("no")
        if value is None:
            return "–"
        if isinstance(value, list):
            shown = [self.value(v, full=full) for v in value]
            if not full and len(shown) > MAX_REFERENCES:
                rest = len(shown) - MAX_REFERENCES
                shown = [*shown[:MAX_REFERENCES], self.tr("%1 more").replace("%1", str(rest))]
            return ", ".join(shown) if shown else "–"
        if isinstance(value, dict):
            return "; ".join(
                f"{key}: {self.value(v[0], full=full)} → {self.value(v[1], full=full)}"
                if isinstance(v, list) and len(v) == 2
                else f"{key}: {self.value(v, full=full)}"
                for key, v in value.items()
            )
        if isinstance(value, float):
            return f"{value:g}"
        text = str(value)
        if _UUID.match(text):
            return text if full else short_reference(text)
        if _MOMENT.match(text):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return text
            if moment.tzinfo is None:
                return text
            local = moment.astimezone()
            return local.strftime("%Y-%m-%d %H:%M:%S") if full else local_time_text(moment)
        return text

    def summary(self, entry: AuditEntry) -> str:
        """The entry's details in one line: "visitor: #3f2a9c1b, visits: 2"."""
        labels = self.field_labels()
        return ", ".join(
            f"{labels.get(key, key.replace('_', ' '))}: {self.value(value)}"
            for key, value in entry.details.items()
            if key not in _DETAILS_ONLY
        )

    def details(self, entry: AuditEntry) -> str:
        """Everything the entry holds, one line each, for "Details…"."""
        labels = self.field_labels()
        lines = [
            self.tr("Entry %1").replace("%1", str(entry.entry_id)),
            self.tr("When: %1").replace("%1", self.value(entry.at.isoformat(), full=True)),
            self.tr("Who: %1 (%2)").replace("%1", self.who(entry.actor)).replace("%2", entry.actor),
            self.tr("What: %1 (%2)")
            .replace("%1", self.action_labels().get(entry.action, entry.action))
            .replace("%2", entry.action),
        ]
        for key, value in entry.details.items():
            label = labels.get(key, key.replace("_", " "))
            lines.append(f"{label}: {self.value(value, full=True)}")
        return "\n".join(lines)


class AuditViewer(QDialog):
    def __init__(
        self,
        query: EntriesQuery,
        verify: Callable[[], AuditVerification],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._query = query
        self._verify = verify
        self._texts = AuditTexts(self)
        self._labels = self._texts.action_labels()
        self._shown: list[AuditEntry] = []
        self.setWindowTitle(self.tr("Audit log"))
        resize_within_screen(self, 980, 600)
        layout = QVBoxLayout(self)

        filters = QHBoxLayout()
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-30), self)
        self.until = QDateEdit(today, self)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.action = QComboBox(self)
        self.action.addItem(self.tr("All actions"), None)
        for action, label in self._labels.items():
            self.action.addItem(label, action)
        self.actor = QLineEdit(self)
        self.actor.setPlaceholderText(self.tr("Who, e.g. tanaka"))
        self.actor.setClearButtonEnabled(True)
        self.apply = QPushButton(self.tr("Show"), self)
        self.apply.clicked.connect(self.reload)
        filters.addWidget(QLabel(self.tr("From"), self))
        filters.addWidget(self.since)
        filters.addWidget(QLabel(self.tr("to"), self))
        filters.addWidget(self.until)
        filters.addWidget(self.action)
        filters.addWidget(self.actor, 1)
        filters.addWidget(self.apply)
        layout.addLayout(filters)

        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("audit-table")
        self.table.setHorizontalHeaderLabels(
            [self.tr("When"), self.tr("Who"), self.tr("What"), self.tr("Details")]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(
            lambda: self.details_button.setEnabled(bool(self.table.selectedItems()))
        )
        self.table.itemDoubleClicked.connect(lambda _item: self.show_details())
        layout.addWidget(self.table, 1)
        self.count = QLabel(self)
        layout.addWidget(self.count)

        bottom = QHBoxLayout()
        self.verify_button = QPushButton(self.tr("Verify chain"), self)
        self.verify_button.clicked.connect(self.verify_chain)
        self.verdict = QLabel(self)
        self.verdict.setObjectName("audit-verdict")
        self.verdict.setWordWrap(True)
        self.details_button = QPushButton(self.tr("Details…"), self)
        self.details_button.setObjectName("audit-details")
        self.details_button.setEnabled(False)
        self.details_button.clicked.connect(self.show_details)
        bottom.addWidget(self.details_button)
        bottom.addWidget(self.verify_button)
        bottom.addWidget(self.verdict, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self.reload()

    def reload(self) -> None:
        since = datetime.combine(self.since.date().toPython(), time()).astimezone()
        until = datetime.combine(self.until.date().toPython(), time()).astimezone()
        until += timedelta(days=1)  # the "to" day is included
        action = self.action.currentData()
        typed = self.actor.text().strip()
        # Staff type a name; the log names accounts "user:NAME" (others, e.g. cli:, as shown).
        actor = (typed if ":" in typed or typed == "system" else f"user:{typed}") if typed else None
        query = self._query
        self.apply.setEnabled(False)
        run_in_background(
            lambda: query(since, until, actor, action), self._show, self._failed, self
        )

    def _show(self, entries: list[AuditEntry]) -> None:
        self.apply.setEnabled(True)
        shown = list(reversed(entries))[:MAX_ROWS]
        self.table.setRowCount(len(shown))
        self._shown = shown
        texts = self._texts
        for row, entry in enumerate(shown):
            cells = [
                local_time_text(entry.at),
                texts.who(entry.actor),
                self._labels.get(entry.action, entry.action),
                texts.summary(entry),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        for column in range(3):  # the details column takes the rest of the width
            self.table.resizeColumnToContents(column)
        self.details_button.setEnabled(False)
        self.count.setText(
            self.tr("%1 entries (newest first)").replace("%1", str(len(shown)))
            if len(shown) == len(entries)
            else self.tr("Newest %1 of %2 entries: narrow the period to see older ones.")
            .replace("%1", str(len(shown)))
            .replace("%2", str(len(entries)))
        )

    def show_details(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) != 1 or min(rows) >= len(self._shown):
            return
        entry = self._shown[min(rows)]
        box = QMessageBox(QMessageBox.Icon.NoIcon, self.tr("Audit entry"), "", parent=self)
        box.setText(self._texts.details(entry))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def _failed(self, error: Exception) -> None:
        self.apply.setEnabled(True)
        self.count.setText(self.tr("The audit log could not be read: %1").replace("%1", str(error)))

    def verify_chain(self) -> None:
        self.verify_button.setEnabled(False)
        self.verdict.setText(self.tr("Checking…"))
        run_in_background(self._verify, self._verified, self._verify_failed, self)

    def _verified(self, result: AuditVerification) -> None:
        self.verify_button.setEnabled(True)
        if result.ok:
            self.verdict.setStyleSheet("color: #1b5e20;")
            self.verdict.setText(
                self.tr("The chain is intact: all %1 entries are unchanged.").replace(
                    "%1", str(result.entries)
                )
            )
        else:
            self.verdict.setStyleSheet("color: #b00020; font-weight: bold;")
            self.verdict.setText(
                self.tr("The audit log has been altered (entry %1): %2")
                .replace("%1", str(result.first_bad_id or "?"))
                .replace("%2", result.problem)
            )

    def _verify_failed(self, error: Exception) -> None:
        self.verify_button.setEnabled(True)
        self.verdict.setText(self.tr("The check could not run: %1").replace("%1", str(error)))
