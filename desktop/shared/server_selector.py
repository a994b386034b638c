"""The login server selector: the known servers with their last seen role, the last
seen active first; editable, so a new server's address can be typed in.  Shared by the
IDC's login dialog and the mobile client's login page."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from ipics_clients.known_servers import KnownServers

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
        addresses = sorted(known.addresses(), key=lambda a: known.get(a).role != "active")
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
