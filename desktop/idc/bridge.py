"""The session's ``on_change`` callback as a Qt signal, for widgets and pytest-qt."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ipics_clients.session import ConsoleSession, Notice


class SessionBridge(QObject):
    #: the session changed; the argument is the new ``Notice`` or None
    changed = Signal(object)

    def __init__(self, session: ConsoleSession):
        super().__init__()
        self.session = session
        session.on_change = self._on_change

    def _on_change(self, _session: ConsoleSession, notice: Notice | None) -> None:
        self.changed.emit(notice)
