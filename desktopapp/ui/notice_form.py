"""Editing the notice profile (G-01): the same fields in the first-run wizard and in settings.

The form builds its widgets once; the wizard places them on several pages, the settings page on
one. Problems that keep analysis from starting are worded live under the fields.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktopapp.core.modes import Mode
from desktopapp.core.notice import Language, NoticeProfile, SignTexts, suggested_texts
from desktopapp.core.setup import DEFAULT_RETENTION_DAYS, default_retention_choices
from desktopapp.ui.notice_texts import NoticeTexts

log = logging.getLogger(__name__)

WHO_KEYS = ("operator", "store", "contact", "policy_url", "feedback_url")
# The sign's language comes first: the suggested texts are written in it.
WHAT_KEYS = ("language", "mode", "purpose", "items", "retention_days", "retention_from")
# The same texts in the other language, for an English, Japanese or bilingual sign.
OTHER_KEYS = ("other",)
_CUSTOM = -1


class NoticeForm(QObject):
    """The widgets of every notice key, and the profile they describe."""

    changed = Signal()

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.texts = NoticeTexts(self)
        self.operator = QLineEdit(parent)
        self.store = QLineEdit(parent)
        self.contact = QLineEdit(parent)
        self.contact.setPlaceholderText(
            self.tr("e.g. Customer desk, 03-1234-5678 or info@example.jp")
        )
        no_website = self.tr("https://… (leave empty if the shop has no website)")
        self.policy_url = QLineEdit(parent)
        self.policy_url.setPlaceholderText(no_website)
        self.feedback_url = QLineEdit(parent)
        self.feedback_url.setPlaceholderText(no_website)
        for edit in (self.operator, self.store, self.contact, self.policy_url, self.feedback_url):
            edit.setMaxLength(300)
            edit.textChanged.connect(self.changed)

        self.mode = QComboBox(parent)
        for mode in Mode:
            self.mode.addItem(self.texts.mode_label(mode), mode.value)
        self.mode.setCurrentIndex(self.mode.findData(Mode.REPEAT.value))
        self.mode.currentIndexChanged.connect(self.changed)
        self.purpose = QPlainTextEdit(parent)
        self.purpose.setTabChangesFocus(True)
        self.purpose.setFixedHeight(80)
        self.items = QPlainTextEdit(parent)
        self.items.setTabChangesFocus(True)
        self.items.setFixedHeight(70)
        self.items.setPlaceholderText(self.tr("One item per line"))
        for text in (self.purpose, self.items):
            text.textChanged.connect(self.changed)
        self.suggest = QPushButton(self.tr("Suggest texts for this mode"), parent)
        self.suggest.clicked.connect(self.fill_suggestions)

        self.retention = QComboBox(parent)
        for days in default_retention_choices:
            self.retention.addItem(self.tr("%1 days").replace("%1", str(days)), days)
        self.retention.addItem(self.tr("Other…"), _CUSTOM)
        self.retention_custom = QSpinBox(parent)
        self.retention_custom.setRange(1, 3650)
        self.retention_custom.setSuffix(self.tr(" days"))
        self.retention.currentIndexChanged.connect(self._retention_chosen)
        self.retention_custom.valueChanged.connect(self.changed)
        self.retention_from = QComboBox(parent)
        self.retention_from.addItem(self.tr("from the first visit"), "first")
        self.retention_from.addItem(self.tr("from the last visit"), "last")
        self.retention_from.currentIndexChanged.connect(self.changed)
        self.language = QComboBox(parent)
        self.language.addItem("日本語", "ja")
        self.language.addItem("English", "en")
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.language.currentIndexChanged.connect(self.changed)
        self._suggested: tuple[str, str] | None = None

        self.other_box = QGroupBox(parent)
        self.other_box.setObjectName("notice-other-language")
        other = QFormLayout(self.other_box)
        self.other_intro = QLabel(self.other_box)
        self.other_intro.setWordWrap(True)
        other.addRow(self.other_intro)
        self.other_operator = QLineEdit(self.other_box)
        self.other_store = QLineEdit(self.other_box)
        self.other_purpose = QPlainTextEdit(self.other_box)
        self.other_purpose.setTabChangesFocus(True)
        self.other_purpose.setFixedHeight(70)
        self.other_items = QPlainTextEdit(self.other_box)
        self.other_items.setTabChangesFocus(True)
        self.other_items.setFixedHeight(60)
        self.other_items.setPlaceholderText(self.tr("One item per line"))
        self.other_contact = QLineEdit(self.other_box)
        for line in (self.other_operator, self.other_store, self.other_contact):
            line.setMaxLength(300)
            line.textChanged.connect(self.changed)
        for text in (self.other_purpose, self.other_items):
            text.textChanged.connect(self.changed)
        self.other_suggest = QPushButton(self.tr("Suggest texts in this language"), self.other_box)
        self.other_suggest.clicked.connect(self.fill_other_suggestions)
        other.addRow(self.texts.label("operator").capitalize(), self.other_operator)
        other.addRow(self.texts.label("store").capitalize(), self.other_store)
        other.addRow(self.texts.label("purpose").capitalize(), self.other_purpose)
        other.addRow("", self.other_suggest)
        other.addRow(self.texts.label("items").capitalize(), self.other_items)
        other.addRow(self.texts.label("contact").capitalize(), self.other_contact)

        self.problems = QLabel(parent)
        self.problems.setObjectName("notice-problems")
        self.problems.setWordWrap(True)
        self.changed.connect(self._show_problems)
        self._set_retention(DEFAULT_RETENTION_DAYS)
        self._language_chosen()

    def add_rows(self, form: QFormLayout, keys: tuple[str, ...]) -> None:
        labels = {
            "mode": self.tr("Use case"),
            "retention_from": self.tr("Period counted"),
            "language": self.tr("Sign language"),
        }
        for key in keys:
            name = self.texts.label(key)
            label = labels.get(key) or name[:1].upper() + name[1:]
            if key == "retention_days":
                row = QHBoxLayout()
                row.addWidget(self.retention)
                row.addWidget(self.retention_custom)
                row.addStretch(1)
                form.addRow(label, row)
            elif key == "purpose":
                form.addRow(label, self.purpose)
                form.addRow("", self.suggest)
            elif key == "other":
                form.addRow(self.other_box)
            else:
                widget = getattr(self, key)
                assert isinstance(widget, QWidget)
                form.addRow(label, widget)

    def profile(self) -> NoticeProfile:
        items = _lines(self.items)
        return NoticeProfile(
            operator=self.operator.text(),
            store=self.store.text(),
            purpose=self.purpose.toPlainText(),
            items=items,
            contact=self.contact.text(),
            policy_url=self.policy_url.text(),
            feedback_url=self.feedback_url.text(),
            retention_days=self.retention_days(),
            retention_from=self.retention_from.currentData(),
            mode=Mode(self.mode.currentData()),
            language=self.language.currentData(),
            texts=self._other_texts(),
        )

    def other_language(self) -> Language:
        return "en" if self.language.currentData() == "ja" else "ja"

    def _other_texts(self) -> dict[Language, SignTexts]:
        texts = SignTexts(
            operator=self.other_operator.text(),
            store=self.other_store.text(),
            purpose=self.other_purpose.toPlainText(),
            items=_lines(self.other_items),
            contact=self.other_contact.text(),
        )
        return {self.other_language(): texts} if texts != SignTexts() else {}

    def set_profile(self, profile: NoticeProfile) -> None:
        self.operator.setText(profile.operator)
        self.store.setText(profile.store)
        self.contact.setText(profile.contact)
        self.policy_url.setText(profile.policy_url)
        self.feedback_url.setText(profile.feedback_url)
        self.mode.setCurrentIndex(self.mode.findData(profile.mode.value))
        self.purpose.setPlainText(profile.purpose)
        self.items.setPlainText("\n".join(profile.items))
        self._set_retention(profile.retention_days or DEFAULT_RETENTION_DAYS)
        self.retention_from.setCurrentIndex(self.retention_from.findData(profile.retention_from))
        self.language.setCurrentIndex(self.language.findData(profile.language))
        other = profile.texts.get(self.other_language()) or SignTexts()
        self.other_operator.setText(other.operator)
        self.other_store.setText(other.store)
        self.other_purpose.setPlainText(other.purpose)
        self.other_items.setPlainText("\n".join(other.items))
        self.other_contact.setText(other.contact)
        self._show_problems()

    def retention_days(self) -> int:
        chosen = int(self.retention.currentData())
        return self.retention_custom.value() if chosen == _CUSTOM else chosen

    def fill_suggestions(self) -> None:
        """Starting texts in the sign's language, whatever the screens' language."""
        purpose, items = suggested_texts(Mode(self.mode.currentData()), self.language.currentData())
        self.purpose.setPlainText(purpose)
        self.items.setPlainText("\n".join(items))
        self._suggested = (self.purpose.toPlainText(), self.items.toPlainText())

    def fill_other_suggestions(self) -> None:
        purpose, items = suggested_texts(Mode(self.mode.currentData()), self.other_language())
        self.other_purpose.setPlainText(purpose)
        self.other_items.setPlainText("\n".join(items))

    def _language_chosen(self) -> None:
        other = self.other_language()
        self.other_box.setTitle(
            self.tr("The notice in English") if other == "en" else self.tr("The notice in Japanese")
        )
        self.other_intro.setText(
            self.tr(
                "Fill this in to print an English or a bilingual sign. Names written in "
                "Japanese need their English spelling; names left empty are printed as in the "
                "main notice."
            )
            if other == "en"
            else self.tr(
                "Fill this in to print a Japanese or a bilingual sign; names left empty are "
                "printed as in the main notice."
            )
        )
        # Untouched suggestions follow the sign's language.
        if self._suggested == (self.purpose.toPlainText(), self.items.toPlainText()):
            self.fill_suggestions()

    def problem_text(self, keys: tuple[str, ...] | None = None) -> str:
        """The problems of the fields in ``keys`` (all when None), one per line."""
        items = [
            (problem, key)
            for problem, key in self.profile().problem_items()
            if keys is None or key in keys
        ]
        return "\n".join(self.texts.problem(problem, key) for problem, key in items)

    def _show_problems(self) -> None:
        text = self.problem_text()
        self.problems.setText(text)
        self.problems.setStyleSheet("color: #b00020;" if text else "")

    def _set_retention(self, days: int) -> None:
        index = self.retention.findData(days)
        if index < 0:
            index = self.retention.findData(_CUSTOM)
            self.retention_custom.setValue(days)
        self.retention.setCurrentIndex(index)
        self._retention_chosen()

    def _retention_chosen(self) -> None:
        self.retention_custom.setVisible(self.retention.currentData() == _CUSTOM)
        self.changed.emit()


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]
