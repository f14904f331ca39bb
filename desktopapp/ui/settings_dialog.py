"""Settings for an administrator: the notice profile, language and screen lock, accounts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.access import Role
from desktopapp.core.notice import NoticeVersion
from desktopapp.core.services.accounts import PasswordRuleError, User, password_problems
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.account_texts import AccountTexts
from desktopapp.ui.dates import local_date_text, local_time_text
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.notice_form import OTHER_KEYS, WHAT_KEYS, WHO_KEYS, NoticeForm
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class _NoticeTab(QWidget):
    def __init__(self, dialog: SettingsDialog):
        super().__init__(dialog)
        self._dialog = dialog
        layout = QVBoxLayout(self)
        self.version = QLabel(self)
        self.version.setObjectName("notice-version")
        self.version.setWordWrap(True)
        layout.addWidget(self.version)
        inner = QWidget(self)
        form_layout = QFormLayout(inner)
        self.form = NoticeForm(inner)
        self.form.add_rows(form_layout, WHO_KEYS + WHAT_KEYS + OTHER_KEYS)
        scroll = QScrollArea(self)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.form.problems)
        self.save = QPushButton(self.tr("Save notice"), self)
        self.save.setObjectName("notice-save")
        self.save.clicked.connect(self.save_notice)
        layout.addWidget(self.save)

    def show_version(self, notice: NoticeVersion | None) -> None:
        if notice is None:
            self.version.setText(self.tr("No notice has been saved yet."))
            return
        self.form.set_profile(notice.profile)
        self.version.setText(
            self.tr(
                "Notice version %1, in force since %2. Saving a change makes a new version: "
                "print the sign again and replace the old one."
            )
            .replace("%1", str(notice.version))
            .replace("%2", local_time_text(notice.created_at))
        )

    def save_notice(self) -> None:
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        profile = self.form.profile()
        self.save.setEnabled(False)
        run_in_background(
            lambda: workspace.save_notice(profile, actor), self._saved, self._failed, self
        )

    def _saved(self, notice: NoticeVersion) -> None:
        self.save.setEnabled(True)
        self.show_version(notice)
        self._dialog.notice_saved.emit(notice)

    def _failed(self, error: Exception) -> None:
        self.save.setEnabled(True)
        self.version.setText(
            self.tr("The notice could not be saved: %1").replace(
                "%1", ErrorTexts(self).error(error)
            )
        )


class _GeneralTab(QWidget):
    def __init__(self, dialog: SettingsDialog):
        super().__init__(dialog)
        self._dialog = dialog
        settings = dialog.workspace.settings
        form = QFormLayout(self)
        self.language = QComboBox(self)
        self.language.addItem(self.tr("Same as the computer"), "auto")
        self.language.addItem("日本語", "ja")
        self.language.addItem("English", "en")
        self.language.setCurrentIndex(self.language.findData(settings.ui.language))
        self.idle = QSpinBox(self)
        self.idle.setRange(1, 240)
        self.idle.setSuffix(self.tr(" min"))
        self.idle.setValue(settings.ui.idle_lock_minutes)
        form.addRow(self.tr("Language of the screens"), self.language)
        form.addRow(self.tr("Lock the screen after no use for"), self.idle)
        self.save = QPushButton(self.tr("Save"), self)
        self.save.setObjectName("general-save")
        self.save.clicked.connect(self.save_settings)
        form.addRow("", self.save)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        form.addRow("", self.message)

    def save_settings(self) -> None:
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        settings = workspace.settings.model_copy(deep=True)
        old_language = settings.ui.language
        settings.ui.language = self.language.currentData()
        settings.ui.idle_lock_minutes = self.idle.value()
        self.save.setEnabled(False)

        def saved(_none: None) -> None:
            self.save.setEnabled(True)
            self.message.setText(self.tr("Saved."))
            self._dialog.settings_saved.emit(settings.ui.language != old_language)

        run_in_background(
            lambda: workspace.save_settings(settings, actor), saved, self._failed, self
        )

    def _failed(self, error: Exception) -> None:
        self.save.setEnabled(True)
        self.message.setText(
            self.tr("Could not save: %1").replace("%1", ErrorTexts(self).error(error))
        )


class _AccountsTab(QWidget):
    def __init__(self, dialog: SettingsDialog):
        super().__init__(dialog)
        self._dialog = dialog
        self._texts = AccountTexts(self)
        self._users: list[User] = []
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("accounts-table")
        self.table.setHorizontalHeaderLabels(
            [self.tr("Name"), self.tr("Role"), self.tr("Since / locked until")]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        roles = QLabel(
            "\n".join(
                f"{self._texts.role_label(role)}: {self._texts.role_description(role)}"
                for role in Role
            ),
            self,
        )
        layout.addWidget(roles)
        buttons = QHBoxLayout()
        self.add = QPushButton(self.tr("Add account…"), self)
        self.role = QPushButton(self.tr("Change role…"), self)
        self.password = QPushButton(self.tr("Set password…"), self)
        self.unlock = QPushButton(self.tr("Unlock"), self)
        self.unlock.setObjectName("accounts-unlock")
        self.remove = QPushButton(self.tr("Remove"), self)
        for button in (self.add, self.role, self.password, self.unlock, self.remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = QLabel(self)
        self.message.setObjectName("accounts-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.add.clicked.connect(self.add_account)
        self.role.clicked.connect(self.change_role)
        self.password.clicked.connect(self.change_password)
        self.unlock.clicked.connect(self.unlock_account)
        self.remove.clicked.connect(self.remove_account)
        self.reload()

    def reload(self) -> None:
        run_in_background(self._dialog.workspace.users, self._show, self._failed, self)

    def _show(self, users: list[User]) -> None:
        self._users = users
        self.table.setRowCount(len(users))
        for row, user in enumerate(users):
            since = local_date_text(user.created_at)
            if user.locked_until is not None:
                since = self.tr("locked until %1").replace("%1", local_time_text(user.locked_until))
            for column, text in enumerate([user.name, self._texts.role_label(user.role), since]):
                self.table.setItem(row, column, QTableWidgetItem(text))

    def _selected(self) -> User | None:
        row = self.table.currentRow()
        if 0 <= row < len(self._users):
            return self._users[row]
        self.message.setText(self.tr("Select an account first."))
        return None

    def _run(self, job: Callable[[], object], done_text: str) -> None:
        def done(_result: object) -> None:
            self.message.setStyleSheet("")
            self.message.setText(done_text)
            self.reload()

        run_in_background(job, done, self._failed, self)

    def _failed(self, error: Exception) -> None:
        self.message.setStyleSheet("color: #b00020;")
        if isinstance(error, PasswordRuleError):
            self.message.setText("\n".join(self._texts.problem(c) for c in error.problems))
        else:
            self.message.setText(ErrorTexts(self).error(error))

    def _ask_role(self, current: Role) -> Role | None:
        labels = [self._texts.role_label(role) for role in Role]
        chosen, ok = QInputDialog.getItem(
            self, self.tr("Role"), self.tr("Role"), labels, list(Role).index(current), False
        )
        return list(Role)[labels.index(chosen)] if ok else None

    def _ask_password(self, name: str) -> str | None:
        dialog = PasswordDialog(name, self)
        return dialog.password if dialog.exec() == QDialog.DialogCode.Accepted else None

    def add_account(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("Add account"), self.tr("Name"))
        name = name.strip()
        if not ok or not name:
            return
        role = self._ask_role(Role.VIEWER)
        password = self._ask_password(name) if role is not None else None
        if role is None or password is None:
            return
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        self._run(
            lambda: workspace.create_user(name, password, role, actor),
            self.tr("Account %1 added.").replace("%1", name),
        )

    def change_role(self) -> None:
        user = self._selected()
        role = self._ask_role(user.role) if user else None
        if user is None or role is None or role is user.role:
            return
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        self._run(
            lambda: workspace.set_role(user.name, role, actor),
            self.tr("%1 is now %2.")
            .replace("%1", user.name)
            .replace("%2", self._texts.role_label(role)),
        )

    def change_password(self) -> None:
        user = self._selected()
        password = self._ask_password(user.name) if user else None
        if user is None or password is None:
            return
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        self._run(
            lambda: workspace.set_password(user.name, password, actor),
            self.tr("The password of %1 was changed.").replace("%1", user.name),
        )

    def unlock_account(self) -> None:
        user = self._selected()
        if user is None:
            return
        if user.locked_until is None:
            self.message.setStyleSheet("")
            self.message.setText(self.tr("%1 is not locked.").replace("%1", user.name))
            return
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        self._run(
            lambda: workspace.unlock_user(user.name, actor),
            self.tr("%1 is unlocked and can sign in again.").replace("%1", user.name),
        )

    def remove_account(self) -> None:
        user = self._selected()
        if user is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Remove account"),
            self.tr('Remove the account "%1"?').replace("%1", user.name),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        workspace, actor = self._dialog.workspace, self._dialog.session.actor
        self._run(
            lambda: workspace.remove_user(user.name, actor),
            self.tr("Account %1 removed.").replace("%1", user.name),
        )


class PasswordDialog(QDialog):
    """A new password typed twice, checked against the rules before it is sent anywhere."""

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._name = name
        self._texts = AccountTexts(self)
        self.password = ""
        self.setWindowTitle(self.tr("Password for %1").replace("%1", name))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.first = QLineEdit(self)
        self.first.setEchoMode(QLineEdit.EchoMode.Password)
        self.second = QLineEdit(self)
        self.second.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Password"), self.first)
        form.addRow(self.tr("Password again"), self.second)
        layout.addLayout(form)
        layout.addWidget(QLabel(self._texts.rules(), self))
        self.problems = QLabel(self)
        self.problems.setStyleSheet("color: #b00020;")
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _check(self) -> None:
        problems = [
            self._texts.problem(code) for code in password_problems(self._name, self.first.text())
        ]
        if self.first.text() != self.second.text():
            problems.append(self.tr("The two passwords differ."))
        if problems:
            self.problems.setText("\n".join(problems))
            return
        self.password = self.first.text()
        self.accept()


class SettingsDialog(QDialog):
    notice_saved = Signal(object)
    settings_saved = Signal(bool)  # True when the screen language changed

    def __init__(self, workspace: Workspace, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.session = session
        self.setWindowTitle(self.tr("Settings"))
        resize_within_screen(self, 820, 680)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.notice_tab = _NoticeTab(self)
        self.general_tab = _GeneralTab(self)
        self.accounts_tab = _AccountsTab(self)
        self.tabs.addTab(self.notice_tab, self.tr("Notice profile"))
        self.tabs.addTab(self.general_tab, self.tr("General"))
        self.tabs.addTab(self.accounts_tab, self.tr("Accounts"))
        layout.addWidget(self.tabs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        run_in_background(
            workspace.current_notice,
            self.notice_tab.show_version,
            self.notice_tab._failed,
            self,
        )
