"""The IDC login dialog: the login server selector, user name, password, remember me.

The selector lists every known server with its last seen role (kept between runs,
so a console that was away during a failover still shows the old roles: Amy's case).
Logging in is the login form's flow (``ipics_clients.login``: a task on the qasync
loop); while it runs (a redirect, the 5 s pause) the dialog shows each step and stays
responsive, and Cancel stops it.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ipics_clients.credentials import Credentials
from ipics_clients.login import LoginForm
from ipics_clients.session import ConsoleSession, Notice
from ipics_clients.tasks import Tasks
from ipics_desktop.shared.bridge import NoticeBridge
from ipics_desktop.shared.server_selector import LoginFields, ServerSelector
from ipics_desktop.shared.style import banner_css


class LoginDialog(LoginFields, QDialog):
    #: the session is online; the console window takes over
    logged_in = Signal()
    #: the user cancelled with no login running: close the console
    cancelled = Signal()

    def __init__(self, session: ConsoleSession, bridge: NoticeBridge, credentials: Credentials, parent=None):
        super().__init__(parent)
        self.session, self.credentials = session, credentials
        self.tasks = Tasks()
        self.form = LoginForm(
            session,
            say=self.show_message,
            busy=self.set_busy,
            select=self.refresh_selector,
            start=self.tasks.start,
            logged_in=self._logged_in,
        )
        self.setObjectName("loginDialog")
        self.setWindowTitle("Cisco IPICS Dispatch Console - Login")
        self.setAccessibleName("IPICS Dispatch Console login")
        self.setModal(False)  # never exec(): a nested loop would stall the reconnects

        heading = QLabel("IPICS Dispatch Console")
        heading.setProperty("role", "heading")

        self.selector = ServerSelector(
            object_name="loginServerSelector", accessible_name="Login server", width_chars=38
        )

        self.username = QLineEdit(objectName="loginUserName")
        self.username.setAccessibleName("User name")
        self.password = QLineEdit(objectName="loginPassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)

        self.remember = QCheckBox("&Remember me", objectName="loginRememberMe")
        self.remember.setAccessibleName("Remember me")
        self.keyring_status = QLabel(objectName="loginKeyringStatus")
        self.keyring_status.setWordWrap(True)

        self.message = QLabel(objectName="loginMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.progress = QProgressBar(objectName="loginProgress")
        self.progress.setAccessibleName("Logging in")
        self.progress.setRange(0, 0)  # busy
        self.progress.setTextVisible(False)
        self.progress.hide()

        self.login_button = QPushButton("&Log In", objectName="loginButton")
        self.login_button.setAccessibleName("Log in")
        self.login_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", objectName="loginCancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        buttons = QDialogButtonBox()
        buttons.addButton(self.login_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.login_button.clicked.connect(self.start_login)
        self.cancel_button.clicked.connect(self.cancel)

        form = QFormLayout()
        form.addRow("&Server:", self.selector)
        form.addRow("&User name:", self.username)
        form.addRow("&Password:", self.password)
        form.addRow("", self.remember)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.keyring_status)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(buttons)

        bridge.changed.connect(self._on_session_change)
        self._load_remembered()
        self.refresh_selector()

    # ------------------------------------------------------------ remember me
    def _load_remembered(self) -> None:
        # Read once when the dialog is built, before any session runs: a keyring that
        # waits for an unlock prompt here delays no heartbeat and no reconnect.
        reason = self.credentials.unavailable_reason()
        if reason:
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
            self.keyring_status.setText(reason)
            self.keyring_status.show()
        else:
            self.keyring_status.hide()
        remembered = self.credentials.load()
        self.username.setText(remembered.username)
        if remembered.password is not None:
            self.password.setText(remembered.password)
            self.remember.setChecked(True)
        (self.password if remembered.username else self.username).setFocus()

    # ------------------------------------------------------------------ login
    async def _logged_in(self, user: str, password: str) -> None:
        # The keyring may wait for an unlock prompt: off the loop that runs the session.
        if self.remember.isChecked():
            if not await asyncio.to_thread(self.credentials.remember, user, password):
                self.show_message("error", "The keyring refused the password: it was not remembered.")
        else:
            await asyncio.to_thread(self.credentials.forget)
            self.password.clear()
        self.logged_in.emit()

    def cancel(self) -> None:
        if not self.form.cancel():
            self.cancelled.emit()

    def set_busy(self, busy: bool) -> None:
        for widget in (self.selector, self.username, self.password, self.login_button):
            widget.setEnabled(not busy)
        self.remember.setEnabled(not busy and self.credentials.available())
        self.progress.setVisible(busy)

    # --------------------------------------------------------------- messages
    def _on_session_change(self, notice: Notice | None) -> None:
        if self.isVisible():
            self.form.on_notice(notice)

    def show_message(self, kind: str, text: str) -> None:
        self.message.setStyleSheet(banner_css(kind))
        self.message.setText(text)
        self.message.show()

    def reject(self) -> None:  # Escape
        self.cancel()

    def closeEvent(self, event) -> None:  # the window's close button: stop the login, close the console
        self.form.cancel()
        event.accept()
        self.cancelled.emit()
