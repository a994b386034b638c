"""The trainer panel's "Open a device as a user" box (``devicesBox``): a kind (console,
phone, mobile, telephone), a user (picked or typed), Open; the device launcher
(``desktop/trainer/devices.py``) opens the window, logged in as that user. Disabled
without a launcher.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ipics_desktop.trainer.sentences import refusal, say
from ipics_lab.seed import DEMO_USERS

DEVICE_KINDS = ("console", "phone", "mobile", "telephone")


class DevicesBox(QGroupBox):
    """Kind (``deviceKind``), user (``deviceUser``), Open (``deviceOpen``), the outcome
    (``deviceMessage``)."""

    def __init__(self, launcher=None, parent=None, *, unavailable: str | None = None):
        """``unavailable``: why this lab opens no devices (None: it has no launcher)."""
        super().__init__("Open a device as a user", parent, objectName="devicesBox")
        self.launcher = launcher
        self.device_kind = QComboBox(objectName="deviceKind")
        self.device_kind.setAccessibleName("Device kind")
        for kind in _device_kinds():
            self.device_kind.addItem(kind.capitalize(), kind)
        self.device_user = QComboBox(objectName="deviceUser")
        self.device_user.setAccessibleName("User")
        self.device_user.setEditable(True)
        for username, _role, full_name in DEMO_USERS:
            self.device_user.addItem(username, username)
            self.device_user.setItemData(self.device_user.count() - 1, full_name, Qt.ItemDataRole.ToolTipRole)
        self.device_open = QPushButton("Open", objectName="deviceOpen")
        self.device_open.setAccessibleName("Open the device")
        self.device_open.setAutoDefault(False)
        self.device_open.clicked.connect(self.on_open_device)
        self.device_message = QLabel(objectName="deviceMessage")
        self.device_message.setWordWrap(True)
        self.device_message.setTextFormat(Qt.TextFormat.PlainText)
        row = QHBoxLayout()
        row.addWidget(self.device_kind)
        row.addWidget(self.device_user, 1)
        row.addWidget(self.device_open)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        column.addLayout(row)
        column.addWidget(self.device_message)
        if self.launcher is None:
            for widget in (self.device_kind, self.device_user, self.device_open):
                widget.setEnabled(False)
            say(self.device_message, unavailable or "No device launcher in this lab.", "info")

    def on_open_device(self) -> None:
        kind = self.device_kind.currentData()
        user = self.device_user.currentText().strip().lower()
        if not user:
            say(self.device_message, "Pick or type a user name first.", "refused")
            return
        try:
            window = self.launcher.open(kind, user)
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            say(self.device_message, f"{kind} for {user} not opened: {refusal(exc)}", "refused")
            return
        if window is not None and not window.isVisible():
            window.show()
        opened = len(getattr(self.launcher, "opened", []) or [])
        say(self.device_message, f"Opened a {kind} for {user} ({opened} devices open).", "ok")


def _device_kinds() -> tuple[str, ...]:
    try:
        from ipics_desktop.trainer.devices import DEVICE_KINDS as kinds
    except ImportError:
        return DEVICE_KINDS
    return tuple(kinds)
