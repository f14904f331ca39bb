"""Requests from the public (G-08), at the counter with the person present.

The person's face is captured from a camera (a fresh, unmasked capture that never reaches the
screen) or from a picture they bring; its feature lives in this dialog's memory only and is
forgotten when the dialog closes. What is held is shown as facts, never as a picture.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QCloseEvent, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.config import VisionConfig
from desktopapp.core.pipeline import MaskedFrame
from desktopapp.core.requests import (
    Exclusion,
    HeldRecord,
    NoFaceError,
)
from desktopapp.core.services.cameras import Camera
from desktopapp.core.services.deletion import ScrubIncompleteError
from desktopapp.core.session import Session
from desktopapp.core.vision.types import FaceEmbedder, Vector
from desktopapp.core.visits import CUSTOMER, DO_NOT_TRACK, STAFF
from desktopapp.core.workspace import Workspace
from desktopapp.ui.counter_capture import CounterCapture
from desktopapp.ui.dates import local_date_text, local_time_text
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.framing_guide import FramingGuide
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a receipt for the person lists."""

    at: datetime
    found: list[HeldRecord] = field(default_factory=list)
    deleted: bool = False
    opted_out: bool = False


class PublicRequestsDialog(QDialog):
    """``records_changed`` fires after an erasure or opt-out, so the running recorder reloads."""

    records_changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        vision: VisionConfig,
        cameras: list[Camera],
        parent: QWidget | None = None,
        *,
        frames: SignalInstance | None = None,
    ):
        super().__init__(parent)
        self._workspace = workspace
        self._session = session
        self._probe: Vector | None = None
        self._records: list[HeldRecord] = []
        # What the receipt lists: the last search's findings, then what was deleted.
        self._receipt: Receipt | None = None
        self.setWindowTitle(self.tr("Requests from the public"))
        resize_within_screen(self, 980, 720)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "With the person present: capture their face, see what is held about them, "
                "then delete it if they ask, and keep them out of future analysis if they wish. "
                "The capture is used for the search only and is not stored."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.source = QComboBox(self)
        self.source.setObjectName("request-source")
        self._capture = CounterCapture(
            self.source,
            cameras,
            vision,
            self.tr("Camera: %1"),
            self.tr("A picture the person brings…"),
        )
        self.capture = QPushButton(self.tr("Capture and search"), self)
        self.capture.setObjectName("request-capture")
        self.capture.clicked.connect(self.capture_and_search)
        row.addWidget(self.source, 1)
        row.addWidget(self.capture)
        layout.addLayout(row)
        self.guide = FramingGuide(self)
        self.guide.setVisible(frames is not None and bool(cameras))
        layout.addWidget(self.guide, 0, Qt.AlignmentFlag.AlignHCenter)
        if frames is not None:
            # The live view's masked frames, never a picture of its own (G-12).
            frames.connect(self._frame)

        self.table = QTableWidget(0, 7, self)
        self.table.setObjectName("request-records")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Visits"),
                self.tr("First visit"),
                self.tr("Last visit"),
                self.tr("Stores"),
                self.tr("Age band / gender"),
                self.tr("Kept until"),
                self.tr("Held data"),
            ]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # Every heading readable whatever the language: columns fit their heading and cells.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.message = QLabel(self)
        self.message.setObjectName("request-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        actions = QHBoxLayout()
        self.opt_out = QCheckBox(self.tr("Keep this person out of future analysis (opt-out)"), self)
        self.opt_out.setObjectName("request-opt-out")
        self.delete = QPushButton(self.tr("Delete what is held…"), self)
        self.delete.setObjectName("request-delete")
        self.delete.setEnabled(False)
        self.delete.clicked.connect(self.confirm_delete)
        self.receipt_button = QPushButton(self.tr("Print a receipt…"), self)
        self.receipt_button.setObjectName("request-receipt")
        self.receipt_button.setEnabled(False)
        self.receipt_button.clicked.connect(self.print_receipt)
        actions.addWidget(self.opt_out, 1)
        actions.addWidget(self.receipt_button)
        actions.addWidget(self.delete)
        layout.addLayout(actions)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def capture_and_search(self) -> None:
        chosen = self._capture.chosen(self, self.tr("The person's picture"))
        if chosen is not None:
            self.search(*chosen)

    def search(self, choice: object, image_path: Path | None = None) -> None:
        """Capture from camera ``choice`` (or read ``image_path``), then search the gallery."""
        workspace, actor = self._workspace, self._session.actor

        def found(probe: Vector, embedder: FaceEmbedder) -> tuple[Vector, list[HeldRecord], int]:
            held = workspace.find_held(probe, embedder, actor)
            return probe, held, workspace.unsearchable_held(embedder)

        job = self._capture.job(choice, image_path, found)
        self._forget()
        self.capture.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText(self.tr("Looking for a face…"))
        run_in_background(job, self._found, self._failed, self)

    def _found(self, result: tuple[Vector, list[HeldRecord], int]) -> None:
        self._probe, self._records, unsearchable = result
        self.capture.setEnabled(True)
        self.table.setRowCount(len(self._records))
        for row, record in enumerate(self._records):
            attributes = " / ".join(x for x in (record.age_band, record.gender) if x) or "—"
            held = (
                self.tr("%1 feature records, %2 path points")
                .replace("%1", str(record.templates))
                .replace("%2", str(record.path_points))
            )
            cells = [
                str(record.visit_count),
                local_time_text(record.first_visit) if record.first_visit else "—",
                local_time_text(record.last_visit) if record.last_visit else "—",
                ", ".join(record.stores) or "—",
                attributes,
                local_date_text(record.expires_at)
                if record.kind == CUSTOMER
                else self.tr("until withdrawn"),
                self._held_text(record, held),
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self._receipt = Receipt(datetime.now(UTC), list(self._records))
        self.receipt_button.setEnabled(True)
        if self._records:
            self.message.setText(
                self.tr("Found for this person: %1.").replace(
                    "%1", self._count_text(len(self._records))
                )
            )
            if any(record.kind == DO_NOT_TRACK for record in self._records):
                self.message.setText(
                    self.message.text()
                    + " "
                    + self.tr(
                        "This person has opted out already: a new opt-out adds this capture to it."
                    )
                )
            self.delete.setText(self.tr("Delete what is held…"))
        else:
            self.message.setText(self.tr("Nothing is held about this person."))
            self.delete.setText(self.tr("Record the opt-out…"))
        if unsearchable:
            self.message.setText(
                self.message.text()
                + " "
                + self.tr(
                    "%1 other record(s) were made with an earlier face features model and "
                    "could not be searched."
                ).replace("%1", str(unsearchable))
            )
        self.delete.setEnabled(True)

    def _held_text(self, record: HeldRecord, held: str) -> str:
        if record.kind == STAFF:
            return self.tr("enrolled staff (no records kept)")
        if record.kind == DO_NOT_TRACK:
            return self.tr("opted out (no records kept)")
        return held

    def _failed(self, error: Exception) -> None:
        self.capture.setEnabled(True)
        self.delete.setEnabled(bool(self._records))
        self.message.setStyleSheet("color: #b00020;")
        if isinstance(error, NoFaceError):
            self.message.setText(
                self.tr(
                    "No face could be seen. Ask the person to face the camera closely, or use "
                    "a clearer picture."
                )
            )
        else:
            self.message.setText(
                self.tr("This did not work: %1").replace("%1", ErrorTexts(self).error(error))
            )

    def confirm_delete(self) -> None:
        opt_out = self.opt_out.isChecked()
        if not self._records and not opt_out:
            self.message.setText(self.tr("Nothing to delete. Tick the opt-out to record it."))
            return
        text = self.tr(
            "Delete everything held about this person (%1)? This cannot be undone."
        ).replace("%1", self._count_text(len(self._records)))
        if opt_out:
            text += "\n" + self.tr(
                "Their face feature will be kept only to leave them out of future analysis."
            )
        answer = QMessageBox.question(self, self.tr("Delete"), text)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_held(opt_out)

    def delete_held(self, opt_out: bool) -> None:
        workspace, actor = self._workspace, self._session.actor
        visitors = [r.visitor_id for r in self._records if r.kind == CUSTOMER]
        probe, embedder = self._probe, self._capture.embedder

        def job() -> tuple[int, bool, Exclusion | None]:
            incomplete = False
            for visitor_id in visitors:
                try:
                    workspace.erase_held(visitor_id, actor)
                except ScrubIncompleteError:
                    incomplete = True  # erased and audited; only the file clean-up waits
            exclusion = None
            if opt_out and probe is not None and embedder is not None:
                exclusion = workspace.opt_out(probe, embedder, actor)
            return len(visitors), incomplete, exclusion

        self.delete.setEnabled(False)
        run_in_background(job, lambda done: self._deleted(*done), self._failed, self)

    def _deleted(self, erased: int, incomplete: bool, opted_out: Exclusion | None) -> None:
        found = self._receipt.found if self._receipt else []
        self._forget()
        self._receipt = Receipt(
            datetime.now(UTC), found, deleted=True, opted_out=opted_out is not None
        )
        self.receipt_button.setEnabled(True)
        self.message.setStyleSheet("color: #b00020;" if incomplete else "color: #1b5e20;")
        parts = [self.tr("Deleted: %1.").replace("%1", self._count_text(erased))]
        if opted_out is not None and opted_out.merged:
            parts.append(
                self.tr(
                    "The person had opted out already; this capture was added to their opt-out."
                )
            )
        elif opted_out is not None:
            parts.append(self.tr("The person will be left out of future analysis."))
        if incomplete:
            parts.append(ErrorTexts(self).scrub_incomplete())
        self.message.setText(" ".join(parts))
        self.records_changed.emit()

    def _count_text(self, count: int) -> str:
        return (
            self.tr("1 record") if count == 1 else self.tr("%1 records").replace("%1", str(count))
        )

    def _frame(self, frame: MaskedFrame) -> None:
        if frame.camera_id == self.source.currentData():
            self.guide.show_frame(frame)

    def receipt_html(self) -> str:
        """What the person asked and what was done, in words and dates only: no picture, no
        feature, no record id (handed to someone whose data it is, and kept by them)."""
        receipt = self._receipt
        assert receipt is not None
        notice = self._workspace.current_notice()
        shop = notice.profile if notice else None
        rows = [
            (self.tr("Store"), f"{shop.operator} {shop.store}" if shop else "—"),
            (self.tr("Date"), local_time_text(receipt.at)),
        ]
        if receipt.found:
            for number, record in enumerate(receipt.found, 1):
                first = local_date_text(record.first_visit) if record.first_visit else "—"
                last = local_date_text(record.last_visit) if record.last_visit else "—"
                rows.append(
                    (
                        self.tr("Record %1").replace("%1", str(number)),
                        self.tr("%1 visits from %2 to %3, kept until %4")
                        .replace("%1", str(record.visit_count))
                        .replace("%2", first)
                        .replace("%3", last)
                        .replace("%4", local_date_text(record.expires_at)),
                    )
                )
        else:
            rows.append((self.tr("Found"), self.tr("Nothing is held about you.")))
        if receipt.deleted:
            rows.append((self.tr("Deleted"), self.tr("Everything listed above was deleted.")))
        if receipt.opted_out:
            rows.append(
                (
                    self.tr("Opt-out"),
                    self.tr("You will be left out of future analysis at this operator's stores."),
                )
            )
        if shop is not None:
            rows.append((self.tr("Contact"), shop.contact))
        body = "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        title = self.tr("Your request about camera data")
        return (
            f"<h2>{html.escape(title)}</h2>"
            f"<table cellpadding='4'>{body}</table><p>"
            + html.escape(
                self.tr(
                    "This receipt holds no picture of you and no face feature data. The picture "
                    "used to find your data was not stored."
                )
            )
            + "</p>"
        )

    def print_receipt(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName("raiten-request-receipt")
        if QPrintDialog(printer, self).exec() != QDialog.DialogCode.Accepted:
            return
        document = QTextDocument(self)
        document.setHtml(self.receipt_html())
        document.print_(printer)
        self.message.setStyleSheet("")
        self.message.setText(self.tr("The receipt was sent to the printer."))

    def _forget(self) -> None:
        self._probe = None
        self._records = []
        self._receipt = None
        self.receipt_button.setEnabled(False)
        self.table.setRowCount(0)
        self.delete.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._forget()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self._forget()
        super().done(result)
