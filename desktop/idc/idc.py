"""One IDC: the login dialog, then the console window, and back to the dialog on logout.

Owns the session and its Qt bridge.  Several IDCs can live in one process (the trainer
lab opens one per dispatcher); they share an in-process push-to-talk ``Floor``, or each
has its own ``RouterFloor``, which follows the session's push-to-talk tickets.
"""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QObject, Signal

from ipics_clients.credentials import Credentials
from ipics_clients.known_servers import KnownServers
from ipics_clients.session import ConsoleSession
from ipics_clients.talk import Floor, TalkFloor
from ipics_clients.tasks import Tasks
from ipics_desktop.idc.console_window import ConsoleWindow
from ipics_desktop.idc.login_dialog import LoginDialog
from ipics_desktop.shared.bridge import NoticeBridge
from ipics_server.clock import Clock


class Idc(QObject):
    #: the console was closed (dialog cancelled, or window closed and logged out)
    closed = Signal()

    def __init__(
        self,
        known: KnownServers,
        credentials: Credentials,
        *,
        clock: Clock | None = None,
        floor: TalkFloor | None = None,
    ):
        super().__init__()
        self.floor: TalkFloor = floor or Floor()
        self.session = ConsoleSession(known, clock=clock)
        follow = getattr(self.floor, "follow", None)  # a RouterFloor talks with the user's tickets
        if follow is not None:
            follow(self.session.media_ticket)
        self.bridge = NoticeBridge(self.session)
        self.tasks = Tasks()
        self.dialog = LoginDialog(self.session, self.bridge, credentials)
        self.window = ConsoleWindow(self.session, self.bridge, self.floor)
        self.dialog.logged_in.connect(self._show_console)
        self.dialog.cancelled.connect(self.close)
        self.window.logout_requested.connect(self.logout)
        self.window.closed.connect(self.close)
        self._closing: asyncio.Task | None = None

    def start(self) -> None:
        self.dialog.refresh_selector()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def _show_console(self) -> None:
        self.dialog.hide()
        self.window.redraw()
        self.window.show()
        self.window.raise_()

    def logout(self) -> None:
        self.tasks.start(self._logout())

    async def _logout(self) -> None:
        self.floor.release_all(self.session.username or "")
        await self.session.logout()
        if self._closing is not None:
            return
        self.window.hide()
        self.dialog.refresh_selector(self.session.known.active())
        self.dialog.show_message("logged-out", "Logged out. Log in again to the active server shown in the selector.")
        self.start()

    def close(self) -> None:
        """Close the console (its widgets, then its session) in a task on the running
        loop.  Called from Qt: Cancel, the window's close button."""
        if self._closing is None:
            self._closing = self.tasks.start(self._close())

    async def aclose(self) -> None:
        """Close the console and wait until its session is closed, on the running loop.
        For whoever closes an IDC from outside Qt (a test's teardown): a close left to Qt
        when no loop runs (pytest-qt closing its widgets after the test) would start the
        session's close on a loop that is not running."""
        self.close()
        closing = self._closing
        assert closing is not None  # started by close(), now or before
        await asyncio.shield(closing)

    async def _close(self) -> None:
        # Widgets first: after the await they may already be gone (the app quitting).
        me = asyncio.current_task()
        self.tasks.cancel_all(but=me)  # a logout or a role probe still running
        self.dialog.tasks.cancel_all()
        self.window.tasks.cancel_all()
        self.dialog.hide()
        self.window.close()  # also when never shown: it unsubscribes from the floor
        with contextlib.suppress(asyncio.CancelledError):
            await self.session.close()
        self.closed.emit()
