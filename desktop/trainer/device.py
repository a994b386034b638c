"""One device the trainer opened (``DeviceLauncher``): its kind and user, its windows,
the core object under them, the tasks it runs and how it closes and ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import QWidget


@dataclass(eq=False)
class Device:
    """One open device.  ``window`` is the window the trainer works with (an IDC's
    console window; its login dialog is in ``widgets`` too); ``client`` the core object
    under it (``Idc``, ``MobileClient``, ``PhoneBrowser``, ``Telephone``)."""

    kind: str
    user: str
    label: str  # "console", "phone 1001", "mobile", "telephone 5557011"
    window: QWidget
    widgets: tuple[QWidget, ...]
    client: Any
    number: str | None = None  # the telephone's
    tasks: set[asyncio.Task] = field(default_factory=set)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    ending: bool = False
    _close: Callable[[], object] = lambda: None  # asks the device to close (it ends by itself; a result is ignored)
    _cleanup: Callable[[], Awaitable[None]] | None = None
    _last: tuple = ()  # the last state told to the timeline (phone, telephone)
    _pushes: int = 0  # the phone's pushes received when it was last online
    _online_on: str | None = None  # the server the phone was last online on

    def front(self) -> QWidget:
        """The window on screen now: an IDC shows its login dialog until it is logged in."""
        return next((w for w in self.widgets if w.isVisible()), self.window)

    def raise_(self) -> None:
        for widget in self.widgets:
            if widget.isVisible():
                widget.raise_()
                widget.activateWindow()
