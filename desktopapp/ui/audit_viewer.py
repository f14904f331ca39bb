"""The audit log (G-09) for an administrator: who did what when, filtered, and a chain check."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from PySide6.QtCore import QDate, QObject
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
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.store.audit import AuditEntry, AuditVerification
from desktopapp.ui.dates import local_time_text
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

# Newest entries first; older ones by narrowing the period.
MAX_ROWS = 5000
EntriesQuery = Callable[[datetime, datetime, str | None, str | None], list[AuditEntry]]


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
            "request.search": self.tr("Request: search"),
            "request.erase": self.tr("Request: erasure"),
            "request.opt_out": self.tr("Request: opt-out"),
            "request.opt_out_withdrawn": self.tr("Request: opt-out withdrawn"),
            "retention.sweep": self.tr("Retention sweep"),
            "purge": self.tr("Purge of personal data"),
            "export": self.tr("Export"),
        }


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
        self._labels = AuditTexts(self).action_labels()
        self.setWindowTitle(self.tr("Audit log"))
        self.resize(980, 600)
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
        self.actor.setPlaceholderText(self.tr("Who (exact), e.g. user:tanaka"))
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
        layout.addWidget(self.table, 1)
        self.count = QLabel(self)
        layout.addWidget(self.count)

        bottom = QHBoxLayout()
        self.verify_button = QPushButton(self.tr("Verify chain"), self)
        self.verify_button.clicked.connect(self.verify_chain)
        self.verdict = QLabel(self)
        self.verdict.setObjectName("audit-verdict")
        self.verdict.setWordWrap(True)
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
        actor = self.actor.text().strip() or None
        query = self._query
        self.apply.setEnabled(False)
        run_in_background(
            lambda: query(since, until, actor, action), self._show, self._failed, self
        )

    def _show(self, entries: list[AuditEntry]) -> None:
        self.apply.setEnabled(True)
        shown = list(reversed(entries))[:MAX_ROWS]
        self.table.setRowCount(len(shown))
        for row, entry in enumerate(shown):
            details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
            cells = [
                local_time_text(entry.at),
                entry.actor,
                self._labels.get(entry.action, entry.action),
                details,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"#{entry.entry_id} {entry.action}")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.count.setText(
            self.tr("%1 entries (newest first)").replace("%1", str(len(shown)))
            if len(shown) == len(entries)
            else self.tr("Newest %1 of %2 entries: narrow the period to see older ones.")
            .replace("%1", str(len(shown)))
            .replace("%2", str(len(entries)))
        )

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
