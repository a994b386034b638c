"""``ipics-lab --attach LAB_DIR_OR_LAB_JSON`` / ``--attach-servers URL1,URL2``: the trainer
panel on a pair this process did not start.

The administrator's password comes from ``IPICS_ADMIN_PASSWORD``, else it is asked in
a small window (``attachPasswordDialog``; its field shows dots, nothing is logged or
printed).  A refused password is asked again (or, from the environment, said and the
command ends).  Closing the panel stops the monitor and the panel, nothing else: the
servers run on.
"""

from __future__ import annotations

import asyncio
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from ipics_desktop.trainer.panel_app import PanelApp
from ipics_lab.trainer.attached import PASSWORD_ENV, AttachedLab, AttachRefused, WrongPassword


class PasswordDialog(QDialog):
    """Asks the administrator's password of the pair to attach to; ``password`` once
    accepted.  Not modal to the loop: ``ask`` awaits it."""

    def __init__(self, source: str, why: str | None = None, parent: QWidget | None = None):
        super().__init__(parent, objectName="attachPasswordDialog")
        self.setWindowTitle("Attach the trainer panel")
        intro = QLabel(f"The administrator's (ipicsadmin) password of {source}:", objectName="attachSource")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.field = QLineEdit(objectName="attachPassword")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setAccessibleName("Administrator's password")
        self.message = QLabel(why or "", objectName="attachMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setVisible(bool(why))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Attach")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addWidget(self.field)
        column.addWidget(self.message)
        column.addWidget(buttons)
        self.resize(460, 0)

    async def ask(self) -> str | None:
        """The password typed, or None if the trainer cancelled."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not done.done():
                done.set_result(result)

        self.finished.connect(finished)
        self.open()  # no nested event loop: qasync runs on
        accepted = await done == QDialog.DialogCode.Accepted.value
        password = self.field.text() if accepted else None
        self.field.clear()
        return password


class AttachApp(PanelApp):
    """The trainer panel on an attached pair: no lab started, no device opened, and
    nothing stopped on the way out but the panel and its monitor."""

    what_failed = "could not attach"

    def __init__(self, lab: AttachedLab):
        super().__init__()
        self.lab: AttachedLab = lab
        self.password_dialog: PasswordDialog | None = None

    async def start(self) -> None:
        from ipics_desktop.trainer.panel import TrainerPanel
        from ipics_lab.trainer.actions import Actions

        lab = self.lab
        self._splash_text(f"Attaching to {lab.source}...")
        await self._attach(lab)
        print(self.banner(), flush=True)
        lab.timeline.subscribe(self._log_event)
        self.monitor = lab.make_monitor()
        self.monitor.start()
        self.panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), self.monitor, None)
        self.panel.closed.connect(self.request_stop)
        self._close_splash()
        self.panel.show()

    async def _attach(self, lab: AttachedLab) -> None:
        """With the password from the environment, or asked until the servers take it."""
        from_env = os.environ.get(PASSWORD_ENV)
        if from_env:
            try:
                await lab.attach(from_env)
            except WrongPassword as exc:
                raise AttachRefused(f"{exc} (the password in {PASSWORD_ENV})") from None
            return
        why = None
        while True:
            self.password_dialog = PasswordDialog(lab.source, why)
            try:
                password = await self.password_dialog.ask()
            finally:
                self.password_dialog.deleteLater()
                self.password_dialog = None
            if password is None:
                raise AttachRefused("no password given")
            try:
                await lab.attach(password)
                return
            except WrongPassword as exc:
                why = f"{exc}: try again"

    def banner(self) -> str:
        s = self.lab.summary
        return (
            f"IPICS HA Lab trainer panel attached to {s['attached']}.\n"
            f"  primary   {s['primary']['url']}\n"
            f"  secondary {s['secondary']['url']}\n"
            f"  topology  {s['topology']}\n"
            f"Closing the panel stops nothing: the servers run on."
        )
