"""The login server selector: the known servers with their last seen role, the last
seen active first; editable, so a new server's address can be typed in.  And the
login fields around it (``LoginFields``).  Shared by the IDC's login dialog and the
mobile client's login page."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QComboBox, QLineEdit

from ipics_clients.known_servers import KnownServers
from ipics_clients.login import LoginForm
from ipics_clients.session import ConsoleSession

ROLE_WORDS = {None: "role not known yet", "unreachable": "did not answer"}


def selector_label(known: KnownServers, address: str) -> str:
    server = known.get(address)
    role = ROLE_WORDS.get(server.role, server.role) if server else ROLE_WORDS[None]
    which = f"{server.server}, " if server and server.server else ""
    return f"{address}  ({which}{role})"


class ServerSelector(QComboBox):
    def __init__(self, *, object_name: str, accessible_name: str, width_chars: int, parent=None):
        super().__init__(parent, objectName=object_name)
        self.setAccessibleName(accessible_name)
        self.setAccessibleDescription("The server to log in to, with its last known role")
        self.setEditable(True)  # a new server's address can be typed in
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(width_chars)

    def refresh(self, known: KnownServers, select: str | None = None) -> None:
        """List the known servers, the last seen active first, keeping or making a selection."""
        current = select or self.selected_address() or known.active()
        addresses = [s.address for s in sorted(known.servers, key=lambda s: s.role != "active")]
        self.blockSignals(True)
        self.clear()
        for address in addresses:
            self.addItem(selector_label(known, address), address)
        index = self.findData(current) if current else -1
        if index < 0 and current and current not in addresses:
            self.setEditText(current)
        else:
            self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)

    def selected_address(self) -> str | None:
        """The chosen server's address, or the text typed in."""
        index, text = self.currentIndex(), self.currentText().strip()
        if index >= 0 and text == self.itemText(index):
            return self.itemData(index)
        return text or None


class LoginFields:
    """A login page's fields over its ``LoginForm`` (``ipics_clients.login``): the
    selector, the user name and the password, which the window builds and lays out as
    it likes.  Mixed into the IDC's login dialog and the mobile window."""

    session: ConsoleSession
    form: LoginForm
    selector: ServerSelector
    username: QLineEdit
    password: QLineEdit

    def refresh_selector(self, select: str | None = None) -> None:
        self.selector.refresh(self.session.known, select)

    def selected_address(self) -> str | None:
        return self.selector.selected_address()

    @property
    def login_task(self) -> asyncio.Task | None:
        """The login running or last run."""
        return self.form.task

    def start_login(self) -> None:
        """Log In: the form's fields, checked and logged in with (``LoginForm.submit``)."""
        self.form.submit(self.selected_address(), self.username.text().strip(), self.password.text())
