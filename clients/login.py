"""A login form's flow, once for the IDC's login dialog and the mobile client's login
page (and the trainer's devices, which log them in on the active server).

Chapter, HA Affect on the IDC Connections: choosing the standby, the login is
redirected to the active; choosing a server that does not answer, the client pauses
about 5 seconds and tries the other.  The session does that (``ConsoleSession.login``);
this flow checks the form, runs the login as a task (the form stays responsive and is
never a nested event loop), says each step on the form as it happens (connecting, the
redirect, the pause, why it failed), and keeps the form busy meanwhile.

Qt-free: the view hands in what to do on screen (``say``, ``busy``, ``select``) and
how to start a task (its own ``Tasks``, cancelled when it closes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine

from ipics_clients.session import ConsoleSession, LoginError, Notice
from ipics_clients.wording import sentence
from ipics_server.adapters.httpclient import PlainHttpRefused, normalize_address

log = logging.getLogger("ipics.console")

#: the session's notices a login form says while it logs in
LOGIN_NOTICES = ("redirected", "paused")


def check_login_form(address: str | None, username: str, password: str) -> str:
    """The login server's address, normalized; ``ValueError`` saying what is missing or
    wrong."""
    if not address:
        raise ValueError("Choose a login server or type its address.")
    if not username or not password:
        raise ValueError("Enter your user name and password.")
    try:
        return normalize_address(address)
    except PlainHttpRefused as exc:
        text = str(exc)
        raise ValueError(f"{text[:1].upper()}{text[1:]}.") from None
    except ValueError:
        raise ValueError(f"{address} is not a server address: type host:port or http://host:port.") from None


class LoginForm:
    """The flow of one login form over ``session``.

    ``login(address, username, password)`` logs in (default: the session's; the mobile
    client's adds its own bookkeeping); ``say(kind, text)`` shows a message on the form
    (``kind`` a banner kind: redirected, paused, error); ``busy(bool)`` greys the form
    while a login runs; ``select(address)`` shows ``address`` (None: the one chosen) in
    the server selector with the roles learned; ``start(coroutine)`` starts a task the
    view cancels when it closes; ``logged_in(username, password)`` runs once the
    session is online, before the form is released.
    """

    def __init__(
        self,
        session: ConsoleSession,
        *,
        say: Callable[[str, str], None],
        busy: Callable[[bool], None],
        select: Callable[[str | None], None],
        start: Callable[[Coroutine], asyncio.Task],
        login: Callable[[str, str, str], Awaitable[None]] | None = None,
        logged_in: Callable[[str, str], Awaitable[None]] | None = None,
    ):
        self.session = session
        self.say, self.busy, self.select, self._start = say, busy, select, start
        self._login = login or session.login
        self._logged_in = logged_in
        #: the login running or last run
        self.task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def submit(self, address: str | None, username: str, password: str) -> asyncio.Task | None:
        """Log In pressed: the form checked, then the login as a task (None: nothing
        started, the form says why, or a login already runs)."""
        if self.running:
            return None
        try:
            address = check_login_form(address, username, password)
        except ValueError as exc:
            self.say("error", str(exc))
            return None
        self._connecting(address)
        self.task = self._start(self._log_in(address, username, password))
        return self.task

    def submit_to_active(
        self,
        active: Callable[[], Awaitable[str]],
        username: str,
        password: str,
        *,
        start: Callable[[Coroutine], asyncio.Task] | None = None,
    ) -> asyncio.Task:
        """Log in on the server ``active()`` finds, saying so (the trainer's devices; the
        password handed over in memory, never typed into the form).  ``start``: the
        caller's own way to start the task."""
        self.task = (start or self._start)(self._log_in_to_active(active, username, password))
        return self.task

    def cancel(self) -> bool:
        """Cancel: stop the login running (False: none runs)."""
        task = self.task
        if task is None or task.done():  # not running
            return False
        task.cancel()
        return True

    def on_notice(self, notice: Notice | None) -> None:
        """A session notice while the form is shown: the redirect and the pause said on
        it, and the roles learned on the way in the selector (Amy's selector updated)."""
        if notice is not None and notice.kind in LOGIN_NOTICES:
            self.say(notice.kind, sentence(notice.text, full_stop=True))
        self.select(None)

    # ------------------------------------------------------------------ steps
    def _connecting(self, address: str) -> None:
        self.busy(True)
        self.say("redirected", f"Connecting to {address} ...")

    async def _log_in_to_active(self, active: Callable[[], Awaitable[str]], username: str, password: str) -> bool:
        self.busy(True)
        self.say("redirected", "Looking for the active server ...")
        try:
            address = await active()
        except BaseException:
            self.busy(False)
            raise
        self.select(address)
        self._connecting(address)
        return await self._log_in(address, username, password)

    async def _log_in(self, address: str, username: str, password: str) -> bool:
        """True once online; else the form says why."""
        try:
            await self._login(address, username, password)
        except LoginError as exc:
            self.say("error", f"Login failed: {exc}.")
        except asyncio.CancelledError:
            self.say("error", "Login cancelled.")
            raise
        except Exception as exc:  # the server died mid-login, a disk error: say so, stay usable
            log.warning("login failed", exc_info=True)
            self.say("error", f"Login failed: {type(exc).__name__}: {exc}")
        else:
            if self._logged_in is not None:
                await self._logged_in(username, password)
            return True
        finally:
            self.busy(False)
            self.select(self.session.server)
        return False
