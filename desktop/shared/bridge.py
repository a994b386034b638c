"""A core's ``on_change(core, notice)`` callback as a Qt signal, for widgets and
pytest-qt: the console session's (the IDC's windows) or the mobile client's."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from ipics_clients.session import Notice


class NoticeBridge(QObject):
    """Signals:
    changed(object): the core changed; the argument is the new ``Notice`` or None.
    """

    changed = Signal(object)

    def __init__(self, core: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.core = core
        core.on_change = self._on_change

    def _on_change(self, _core: Any, notice: Notice | None) -> None:
        self.changed.emit(notice)
