"""The first-run wizard: the store's notice profile and the administrator account, or the demo.

Nothing is written until the last page is accepted; then the notice profile and the account are
saved together by ``core.setup.complete_first_run`` (passed in as ``submit``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from desktopapp.core.access import Role
from desktopapp.core.notice import NoticeGateError
from desktopapp.core.services.accounts import PasswordRuleError, UserError, password_problems
from desktopapp.core.session import Session
from desktopapp.core.setup import FirstRunAnswers
from desktopapp.ui.account_texts import AccountTexts
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.notice_form import OTHER_KEYS, WHAT_KEYS, WHO_KEYS, NoticeForm
from desktopapp.ui.screen_fit import resize_within_screen

log = logging.getLogger(__name__)

WELCOME, WHO, WHAT, OTHER, ADMIN = range(5)


class _WelcomePage(QWizardPage):
    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setTitle(self.tr("Welcome to Raiten"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Raiten analyses camera images in this PC's memory and never stores a picture. "
                "Before any camera is analysed, the public must be told what you do: this "
                "wizard writes that notice with you and creates the administrator account."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addSpacing(12)
        self.setup = QRadioButton(self.tr("Set up my store"), self)
        self.setup.setObjectName("choice-setup")
        self.setup.setChecked(True)
        self.demo = QRadioButton(
            self.tr(
                "Explore with the demo camera first (a sample notice marked DEMO, kept apart "
                "from your store's data)"
            ),
            self,
        )
        self.demo.setObjectName("choice-demo")
        group = QButtonGroup(self)
        group.addButton(self.setup)
        group.addButton(self.demo)
        layout.addWidget(self.setup)
        layout.addWidget(self.demo)
        layout.addStretch(1)
        self._next_text = self.buttonText(QWizard.WizardButton.NextButton)
        self.demo.toggled.connect(self._choice_changed)

    def _choice_changed(self, demo: bool) -> None:
        # Next opens the demo (FirstRunWizard.validateCurrentPage): say so on the button. QWizard
        # lays out its Next/Finish buttons only on a page change, so the page keeps Next.
        self.setButtonText(
            QWizard.WizardButton.NextButton,
            self.tr("Open the demo") if demo else self._next_text,
        )


class _NoticePage(QWizardPage):
    def __init__(self, form: NoticeForm, keys: tuple[str, ...], parent: QWidget):
        super().__init__(parent)
        self._form = form
        self._keys = keys
        layout = QVBoxLayout(self)
        rows = QFormLayout()
        form.add_rows(rows, keys)
        layout.addLayout(rows)
        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020;")
        layout.addWidget(self.problems)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        if "purpose" in self._keys and not self._form.purpose.toPlainText().strip():
            self._form.fill_suggestions()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        text = self._form.problem_text(self._keys)
        self.problems.setText(text)
        return not text


class _AdminPage(QWizardPage):
    def __init__(self, wizard: FirstRunWizard):
        super().__init__(wizard)
        self._wizard = wizard
        self._texts = AccountTexts(self)
        self.setTitle(self.tr("Administrator account"))
        self.setSubTitle(
            self.tr(
                "The administrator can change settings and cameras, answer requests from the "
                "public and delete data. Other staff get their own accounts later."
            )
        )
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setObjectName("admin-name")
        self.name.setMaxLength(60)
        self.password = QLineEdit(self)
        self.password.setObjectName("admin-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit(self)
        self.repeat.setObjectName("admin-repeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.tr("Password again"), self.repeat)
        layout.addLayout(form)
        layout.addWidget(QLabel(self._texts.rules(), self))
        self.problems = QLabel(self)
        self.problems.setObjectName("admin-problems")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020;")
        layout.addWidget(self.problems)
        layout.addStretch(1)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        name, password = self.name.text().strip(), self.password.text()
        problems = []
        if not name:
            problems.append(self.tr("Enter a name for the administrator."))
        problems += [self._texts.problem(code) for code in password_problems(name, password)]
        if password != self.repeat.text():
            problems.append(self.tr("The two passwords differ."))
        if problems:
            self.problems.setText("\n".join(problems))
            return False
        answers = FirstRunAnswers(self._wizard.form.profile(), name, password)
        try:
            self._wizard.submit(answers)
        except NoticeGateError as exc:
            self.problems.setText(self._wizard.form.texts.gate_message(exc.items))
            return False
        except PasswordRuleError as exc:
            self.problems.setText("\n".join(self._texts.problem(c) for c in exc.problems))
            return False
        except (UserError, OSError) as exc:
            log.exception("first-run setup failed")
            self.problems.setText(
                self.tr("Setup could not be saved: %1").replace("%1", ErrorTexts(self).error(exc))
            )
            return False
        self._wizard.session = Session(name, Role.ADMIN)
        return True


class FirstRunWizard(QWizard):
    """``submit`` saves the answers (raising on refusal). Afterwards ``demo`` says whether the
    operator chose the demo, and ``session`` is the new administrator's session otherwise."""

    def __init__(self, submit: Callable[[FirstRunAnswers], object], parent: QWidget | None = None):
        super().__init__(parent)
        self.submit = submit
        self.session: Session | None = None
        self._opening_demo = False
        self.setWindowTitle(self.tr("Raiten — first start"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        resize_within_screen(self, 720, 600)
        self.form = NoticeForm(self)
        self.form.problems.hide()  # each page words the problems of its own fields
        self.welcome = _WelcomePage(self)
        who = _NoticePage(self.form, WHO_KEYS, self)
        who.setTitle(self.tr("Who you are"))
        who.setSubTitle(
            self.tr("Printed on the sign at your entrance, so that people know whom to ask.")
        )
        what = _NoticePage(self.form, WHAT_KEYS, self)
        what.setTitle(self.tr("What you analyse and for how long"))
        what.setSubTitle(
            self.tr(
                "Feature data is deleted automatically when the period ends; statistics "
                "without any personal data are kept."
            )
        )
        other = _NoticePage(self.form, OTHER_KEYS, self)
        other.setTitle(self.tr("Your sign in a second language (optional)"))
        other.setSubTitle(
            self.tr(
                "For customers who read the other language: a sign in that language only, or "
                "both languages on one sign. You can add this later in Settings."
            )
        )
        self.admin = _AdminPage(self)
        self.setPage(WELCOME, self.welcome)
        self.setPage(WHO, who)
        self.setPage(WHAT, what)
        self.setPage(OTHER, other)
        self.setPage(ADMIN, self.admin)

    @property
    def demo(self) -> bool:
        return self.welcome.demo.isChecked()

    def validateCurrentPage(self) -> bool:  # noqa: N802 - Qt override
        if self.currentPage() is self.welcome and self.demo:
            # Once QWizard has finished handling the click; accept() validates the page again.
            if not self._opening_demo:
                self._opening_demo = True
                QTimer.singleShot(0, self.accept)
                return False
            return True
        return super().validateCurrentPage()
