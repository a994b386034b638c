"""The console session: login through the server selector, offline mode, reconnect.

Chapter, HA Affect on the IDC Connections:
- choosing the standby, the connection is denied and redirected to the active;
- choosing a server that does not answer, the console pauses about 5 seconds, then is
  redirected to the other server, and the selector is updated (Amy);
- when the link to the active breaks, the console goes offline with the last
  configuration, says so, reconnects to the new active with no user action and says
  so (Dan); it then shows the new active's configuration (Ursula's Fire channel gone);
- it stays on the new active when the original server comes back.

Qt-free: the widgets observe ``notices`` and ``state`` through ``on_change``.  All
emulated durations go through the one ``Clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import aiohttp
from ipics_server.adapters.httpclient import ApiClient, Unreachable
from ipics_server.clock import Clock

from .known_servers import UNREACHABLE, KnownServers

log = logging.getLogger("ipics.console")

#: Chapter: "the application pauses for approximately 5 seconds"
UNREACHABLE_PAUSE_S = 5.0
#: how often an offline console looks for the new active (emulated seconds)
RECONNECT_EVERY_S = 1.0
REQUEST_TIMEOUT_S = 5.0


class State(str, Enum):
    LOGGED_OUT = "logged out"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


class LoginError(Exception):
    """The login failed; the message says why, in words for the dispatcher."""


@dataclass
class Notice:
    kind: str  # redirected | paused | online | offline | reconnected | logged-out | error
    text: str


@dataclass
class Configuration:
    """What the console shows; kept while offline (the last configuration)."""

    channels: list[dict] = field(default_factory=list)
    vtgs: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    source: str | None = None

    def channel_names(self) -> list[str]:
        return [c["name"] for c in self.channels]


class ConsoleSession:
    def __init__(self, known: KnownServers, *, clock: Clock | None = None,
                 on_change: Callable[["ConsoleSession", Notice | None], None] | None = None):
        self.known = known
        self.clock = clock or Clock()
        self.on_change = on_change
        self.state = State.LOGGED_OUT
        self.server: str | None = None
        self.username: str | None = None
        self.user: dict | None = None
        self.token: str | None = None
        self.config = Configuration()
        self.notices: list[Notice] = []
        self._password: str | None = None  # memory only: to log in again after a failover
        self._client: ApiClient | None = None
        self._tasks: set[asyncio.Task] = set()

    # ---------------------------------------------------------------- notices
    def _notify(self, kind: str | None = None, text: str = "") -> None:
        notice = Notice(kind, text) if kind else None
        if notice:
            self.notices.append(notice)
            log.info("%s: %s", kind, text)
        if self.on_change:
            self.on_change(self, notice)

    def _set_state(self, state: State) -> None:
        self.state = state
        self._notify()

    # ------------------------------------------------------------------ login
    async def login(self, address: str, username: str, password: str) -> None:
        """Log in on the server chosen in the selector, following the chapter's redirects."""
        if self.state != State.LOGGED_OUT:
            await self.logout()
        self._set_state(State.CONNECTING)
        self.username, self._password = username, password
        target, tried = address, []
        try:
            for _ in range(len(self.known.servers) + 3):
                self.known.add(target)
                outcome = await self._try_login(target, username, password)
                tried.append(target)
                if isinstance(outcome, dict):
                    await self._connected(target, outcome)
                    return
                kind, next_target = outcome
                if next_target is None:
                    others = [a for a in self.known.others(target) if a not in tried]
                    if not others:
                        raise LoginError(f"no server answers (tried {', '.join(tried)})")
                    next_target = others[0]
                if kind == "paused":
                    self._notify("paused", f"{target} does not answer: trying {next_target} in about "
                                           f"{UNREACHABLE_PAUSE_S:.0f} seconds")
                    await self.clock.sleep(UNREACHABLE_PAUSE_S)
                target = next_target
            raise LoginError("the servers keep redirecting; try again in a moment")
        except BaseException:
            self.known.save()
            self._set_state(State.LOGGED_OUT)
            raise

    async def _try_login(self, target: str, username: str, password: str):
        """The user's record on success; else (what happened, where to go next)."""
        async with ApiClient(target, timeout_s=REQUEST_TIMEOUT_S) as c:
            try:
                reply = await c.post("/api/v1/auth/login", {"username": username, "password": password})
            except Unreachable:
                self.known.set_role(target, UNREACHABLE)
                return "paused", None
        if reply.ok:
            self.token = reply["token"]
            return reply["user"] if isinstance(reply.body.get("user"), dict) else {"username": username}
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status == 401:
            raise LoginError("wrong user name or password")
        if reply.status == 409 and body.get("active"):
            self.known.set_role(target, body.get("role"))
            self.known.set_role(body["active"], "active")
            self._notify("redirected", f"{target} is the {body.get('role', 'standby')} server: the login was "
                                       f"refused and redirected to the active server {body['active']}")
            return "redirected", body["active"]
        if reply.status in (409, 503):
            # Transitioning, or a standby that knows no active yet: like a server
            # that does not answer, pause and try the other one.
            self.known.set_role(target, body.get("role"))
            return "paused", None
        raise LoginError(f"{target} refused the login: {body.get('message', reply.status)}")

    async def _connected(self, address: str, user: dict) -> None:
        self.server, self.user = address, user
        self._client = ApiClient(address, token=self.token, timeout_s=REQUEST_TIMEOUT_S)
        await self._refresh_servers()
        await self.refresh()
        self._set_state(State.ONLINE)
        self._notify("online", f"logged in to the active server {address}")
        self._spawn(self._listen())

    # ------------------------------------------------------------ configuration
    async def refresh(self) -> None:
        """Fetch the user's channels, VTGs and incidents from the current server."""
        c = self._client
        replies = [await c.get(p) for p in ("/api/v1/channels", "/api/v1/vtgs", "/api/v1/incidents")]
        if all(r.ok for r in replies):
            self.config = Configuration(replies[0]["channels"], replies[1]["vtgs"], replies[2]["incidents"],
                                        source=self.server)
            self._notify()

    async def _refresh_servers(self) -> None:
        with contextlib.suppress(Unreachable):
            reply = await self._client.get("/api/v1/servers")
            if reply.ok:
                self.known.update(reply["servers"])
        self.known.save()

    # -------------------------------------------------------------- live push
    async def _listen(self) -> None:
        """Configuration changes pushed by the server; a broken link means offline."""
        try:
            ws = await self._client.websocket("/api/v1/events", heartbeat_s=self.clock.real_seconds(5) + 0.5)
            async with ws:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    event = msg.json()
                    if event.get("type") in ("record", "replicated"):
                        with contextlib.suppress(Unreachable):
                            await self.refresh()
                    elif event.get("type") == "logout":
                        break
        except (Unreachable, aiohttp.ClientError, asyncio.TimeoutError):
            pass
        if self.state == State.ONLINE:
            self._go_offline()

    def _go_offline(self) -> None:
        self._set_state(State.OFFLINE)
        self._notify("offline", f"offline: the connection to {self.server} is lost. The console keeps working "
                                "with the last configuration and reconnects automatically")
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        """Look for the active server, with no user action, until one takes the session."""
        while self.state == State.OFFLINE:
            for address in [self.server, *self.known.others(self.server)]:
                if await self._resume_on(address):
                    return
            await self.clock.sleep(RECONNECT_EVERY_S)

    async def _resume_on(self, address: str) -> bool:
        async with ApiClient(address, timeout_s=REQUEST_TIMEOUT_S) as probe:
            try:
                if (await probe.get("/api/v1/health/active")).status != 200:
                    return False
            except Unreachable:
                return False
        token_ok = False
        async with ApiClient(address, token=self.token, timeout_s=REQUEST_TIMEOUT_S) as c:
            with contextlib.suppress(Unreachable):
                token_ok = (await c.get("/api/v1/channels")).ok  # sessions replicate with the data
        if not token_ok:
            try:
                outcome = await self._try_login(address, self.username, self._password)
            except LoginError:
                return False
            if not isinstance(outcome, dict):
                return False
        previous = self.server
        if self._client:
            await self._client.close()
        self.server = address
        self._client = ApiClient(address, token=self.token, timeout_s=REQUEST_TIMEOUT_S)
        try:
            await self._refresh_servers()
            await self.refresh()
        except Unreachable:
            return False
        self._set_state(State.ONLINE)
        where = "the new active server" if address != previous else "the server"
        self._notify("reconnected", f"reconnected to {where} {address}")
        self._spawn(self._listen())
        return True

    # ----------------------------------------------------------------- logout
    async def logout(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._client:
            with contextlib.suppress(Unreachable):
                await self._client.post("/api/v1/auth/logout")
            await self._client.close()
        self._client, self.token, self._password, self.server = None, None, None, None
        self.known.save()
        if self.state != State.LOGGED_OUT:
            self._set_state(State.LOGGED_OUT)
            self._notify("logged-out", "logged out; log in again to the active server shown in the selector")

    close = logout

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def status_line(self) -> dict[str, Any]:
        role = self.known.get(self.server).role if self.server and self.known.get(self.server) else None
        return {"server": self.server, "role": role, "state": self.state.value, "user": self.username}
