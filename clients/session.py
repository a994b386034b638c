"""The console session: login through the server selector, offline mode, reconnect.

Chapter, HA Affect on the IDC Connections:
- choosing the standby, the connection is denied and redirected to the active;
- choosing a server that does not answer, the console pauses about 5 seconds, then is
  redirected to the other server, and the selector is updated (Amy); a silent one (no
  answer at all) has taken its request deadline, the same 5 seconds, which is the pause;
- when the link to the active breaks, the console goes offline with the last
  configuration, says so, reconnects to the new active with no user action and says
  so (Dan); it then shows the new active's configuration (Ursula's Fire channel gone);
- it stays on the new active when the original server comes back.

Qt-free: the widgets observe ``notices`` and ``state`` through ``on_change``.  All
emulated durations go through the one ``Clock``.  ``media_ticket`` is the push-to-talk
ticket a router floor follows (``media_ticket.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import quote

import aiohttp

from ipics_clients.known_servers import UNREACHABLE, KnownServers
from ipics_clients.media_ticket import MediaTicket
from ipics_clients.tasks import Tasks
from ipics_server.adapters.httpclient import ApiClient, Reply, Unreachable
from ipics_server.clock import Clock

log = logging.getLogger("ipics.console")

# The session's deadlines against a silent server (one paused, or cut off by a network
# that drops packets: no refusal, no reset, nothing), all here (docs/idc.md, "A server
# that goes silent").
#: Chapter: "the application pauses for approximately 5 seconds"
UNREACHABLE_PAUSE_S = 5.0
#: how often an offline console looks for the new active (emulated seconds)
RECONNECT_EVERY_S = 1.0
#: real seconds an HTTP request may take before the server counts as not answering
REQUEST_TIMEOUT_S = 5.0
#: real seconds an upload (a video of up to 20 MB) may take on a slow mobile link; an
#: upload to a server that goes silent ends sooner, when the events socket finds it silent
UPLOAD_TIMEOUT_S = 120.0
#: emulated seconds the events socket may stay quiet before the console pings the server
#: (the chapter's "about 5 seconds" again) ...
EVENTS_QUIET_S = 5.0
#: ... plus these real seconds, a round trip no time scale shortens
NETWORK_SLACK_S = 0.5


def events_heartbeat_s(clock: Clock) -> float:
    """Real seconds between the events socket's pings when nothing else arrives: the
    socket closes, and the console goes offline, when a ping's pong is not back within
    half of that (aiohttp's heartbeat)."""
    return clock.real_seconds(EVENTS_QUIET_S) + NETWORK_SLACK_S


def offline_deadline_s(clock: Clock) -> float:
    """Real seconds from the server going silent to the console saying offline, at most:
    a ping after one heartbeat of quiet, half of one for its pong, and up to a second of
    aiohttp rounding a timer of over 5 s up to a whole second.  About 9 s at time scale 1
    (the chapter's Dan: "detects the broken link ... about 10 seconds")."""
    heartbeat = events_heartbeat_s(clock)
    return 1.5 * heartbeat + (1.0 if heartbeat > 5 else 0.0)


class State(str, Enum):
    LOGGED_OUT = "logged out"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


class LoginError(Exception):
    """The login failed; the message says why, in words for the dispatcher."""


class UploadError(Exception):
    """The server refused an upload, or the client is offline; the message says why."""


class UploadInterrupted(UploadError):
    """The link broke while the upload was on its way: the server may or may not have it."""


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


class _InFlight:
    """One request in flight, and how many sessions wait for its answer."""

    def __init__(self, task: asyncio.Task):
        self.task = task
        self.waiting = 0


#: requests in flight, per event loop and (what, server address)
_in_flight: dict[tuple, _InFlight] = {}


async def _shared(what: str, address: str, request: Callable[[str], Coroutine[Any, Any, Any]]) -> Any:
    """``request(address)``; sessions of one process that ask while it runs get the same
    answer instead of sending their own.  A thousand offline consoles in one process
    would otherwise each ask both servers every poll, and the flood would slow down the
    very server they wait for.  Nothing is cached: an answer is never older than the
    request that fetched it.  Cancelled when the last one waiting gives up."""
    loop = asyncio.get_running_loop()
    key = (loop, what, address)
    flight = _in_flight.get(key)
    if flight is None:
        flight = _in_flight[key] = _InFlight(loop.create_task(request(address)))

        def forget(_task: asyncio.Task, k: tuple = key, f: _InFlight = flight) -> None:
            if _in_flight.get(k) is f:
                _in_flight.pop(k, None)

        flight.task.add_done_callback(forget)
    flight.waiting += 1
    try:
        return await asyncio.shield(flight.task)
    finally:
        flight.waiting -= 1
        if flight.waiting == 0 and not flight.task.done():
            if _in_flight.get(key) is flight:
                del _in_flight[key]  # nobody may join a request being cancelled
            flight.task.cancel()


async def is_active(address: str, *, timeout_s: float = REQUEST_TIMEOUT_S) -> bool:
    """Whether the server at ``address`` answers as the active one now (a server says
    what it is: clients never guess roles)."""
    async with ApiClient(address, timeout_s=timeout_s) as probe:
        try:
            return (await probe.get("/api/v1/health/active")).status == 200
        except Unreachable:
            return False


async def _server_listing(address: str) -> list[dict] | None:
    """``GET /api/v1/servers``: every server with its role (no token needed)."""
    async with ApiClient(address, timeout_s=REQUEST_TIMEOUT_S) as c:
        with contextlib.suppress(Unreachable):
            reply = await c.get("/api/v1/servers")
            if reply.ok:
                return reply["servers"]
    return None


async def _log_out(client: ApiClient, timeout_s: float | None = None) -> None:
    """End the session's token on the server; a server that is gone has nothing to end."""
    with contextlib.suppress(Unreachable):
        await client.post("/api/v1/auth/logout", timeout_s=timeout_s)


class ConsoleSession:
    def __init__(
        self,
        known: KnownServers,
        *,
        clock: Clock | None = None,
        on_change: Callable[[ConsoleSession, Notice | None], None] | None = None,
        client_kind: str = "idc",
    ):
        """``client_kind``: ``idc`` or ``mobile``, as the server's audit trail names a
        session taken back by itself."""
        self.known = known
        self.client_kind = client_kind
        self.clock = clock or Clock()
        self.on_change = on_change
        self.state = State.LOGGED_OUT
        self.server: str | None = None
        self.username: str | None = None
        self.user: dict | None = None
        self.token: str | None = None
        self.config = Configuration()
        #: push-to-talk: the ticket for the media router, while a router floor wants one
        self.media_ticket = MediaTicket()
        self.notices: list[Notice] = []
        self._password: str | None = None  # memory only: to log in again after a failover
        self._client: ApiClient | None = None
        #: set when the connection of now is found lost (offline, logout): a request
        #: still on its way there (an upload) is given up then (``_unless_lost``)
        self._link_lost = asyncio.Event()
        self._link_lost.set()
        #: the configuration fetched again after a pushed change, and whether another change
        #: came meanwhile (``_refresh_soon``)
        self._refreshing: asyncio.Task | None = None
        self._stale = False
        # A listener or reconnect that died would leave the console silently stuck: say so.
        self._tasks = Tasks("console", on_failure=self._task_failed)

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
        chosen_why = None  # why the chosen server did not take the login, if it did not
        try:
            for _ in range(len(self.known.servers) + 3):
                self.known.add(target)
                outcome = await self._try_login(target, username, password)
                tried.append(target)
                if isinstance(outcome, dict):
                    await self._connected(target, outcome, chosen=address, chosen_why=chosen_why)
                    return
                kind, next_target, why = outcome
                if target == address:
                    chosen_why = why
                if next_target is None:
                    others = [a for a in self.known.others(target) if a not in tried]
                    if not others:
                        raise LoginError(f"no server answers (tried {', '.join(tried)})")
                    next_target = others[0]
                if kind == "unreachable":
                    self._notify(
                        "paused", f"{target} {why}: trying {next_target} in about {UNREACHABLE_PAUSE_S:.0f} seconds"
                    )
                elif kind == "silent":  # its deadline was the pause: the chapter's "about 5 seconds"
                    self._notify("paused", f"{target} {why}: trying {next_target} now")
                if kind in ("unreachable", "stale"):  # the console pauses before the other server
                    await self.clock.sleep(UNREACHABLE_PAUSE_S)
                target = next_target
            raise LoginError("the servers keep redirecting; try again in a moment")
        except BaseException:  # failed or cancelled: leave nothing half connected
            self._tasks.cancel_all()
            client, self._client, self.server = self._client, None, None
            self._password = None
            if client:
                await client.close()
            self.known.save()
            self._set_state(State.LOGGED_OUT)
            raise

    async def _try_login(self, target: str, username: str, password: str):
        """The user's record on success; else (what happened, where to go next, what
        ``target`` is or did in words that follow its address: "is the standby server")."""
        async with ApiClient(target, timeout_s=REQUEST_TIMEOUT_S) as c:
            try:
                reply = await c.post("/api/v1/auth/login", {"username": username, "password": password})
            except Unreachable as exc:
                if exc.untrusted_certificate:  # it answered: trying the other would not help
                    raise LoginError(str(exc)) from None
                self.known.set_role(target, UNREACHABLE)
                if isinstance(exc.cause, TimeoutError):  # silent: paused, or cut off by the network
                    return "silent", None, f"does not answer (nothing within {REQUEST_TIMEOUT_S:g} seconds)"
                return "unreachable", None, "does not answer"
        if reply.ok:
            self.token = reply["token"]
            return reply["user"] if isinstance(reply.body.get("user"), dict) else {"username": username}
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status == 401:
            raise LoginError("wrong user name or password")
        role = body.get("role")
        if reply.status == 409 and body.get("active"):
            believed = known.role if (known := self.known.get(target)) else None
            self.known.set_role(target, role)
            self.known.set_role(body["active"], "active")
            if believed == "active":
                # Amy's case: the selector still showed this server as the active one, so
                # the console sees its connection fail, pauses, then goes to the other.
                why = f"is no longer the active server (it is the {role or 'standby'} now)"
                self._notify(
                    "paused",
                    f"{target} {why}: the connection failed; "
                    f"trying {body['active']} in about {UNREACHABLE_PAUSE_S:.0f} seconds",
                )
                return "stale", body["active"], why
            why = f"is the {role or 'standby'} server"
            self._notify(
                "redirected",
                f"{target} {why}: the login was refused and redirected to the active server {body['active']}",
            )
            return "redirected", body["active"], why
        if reply.status in (409, 503):
            # Transitioning, or a standby that knows no active yet: like a server
            # that does not answer, pause and try the other one (but it did answer).
            self.known.set_role(target, role)
            state = "it is transitioning" if role == "transitioning" else body.get("message") or reply.status
            return "unreachable", None, f"cannot take a login now ({state})"
        raise LoginError(f"{target} refused the login: {body.get('message', reply.status)}")

    async def _connected(self, address: str, user: dict, *, chosen: str, chosen_why: str | None) -> None:
        self.server, self.user = address, user
        self._client = ApiClient(address, token=self.token, timeout_s=REQUEST_TIMEOUT_S)
        self._link_lost = asyncio.Event()
        await self._refresh_servers()
        await self.refresh()
        await self._fetch_media_ticket()
        self._set_state(State.ONLINE)
        text = f"logged in to the active server {address}"
        if address != chosen:
            # The redirect's own notice flashes by in the login dialog: this one stays in
            # the console's banner, so the dispatcher can read why they are here.
            text += f", not to {chosen} as chosen: {chosen} {chosen_why or 'did not take the login'}"
        self._notify("online", text)
        self._spawn(self._listen())
        if self.media_ticket.wanted:
            self._spawn(self.media_ticket.keep_fresh(lambda: self._client if self.state == State.ONLINE else None))

    def _connected_client(self) -> ApiClient:
        """The current server's client: there is one from the login's end to the logout
        (ONLINE and OFFLINE), the only time the callers run."""
        if self._client is None:
            raise RuntimeError(f"the console session is {self.state.value}: it has no server")
        return self._client

    # ------------------------------------------------------------ configuration
    async def refresh(self) -> None:
        """Fetch the user's channels, VTGs and incidents from the current server."""
        c = self._connected_client()
        replies = [await c.get(p) for p in ("/api/v1/channels", "/api/v1/vtgs", "/api/v1/incidents")]
        if all(r.ok for r in replies):
            config = Configuration(
                replies[0]["channels"], replies[1]["vtgs"], replies[2]["incidents"], source=self.server
            )
            if config != self.config:  # the same again (the events socket's hello, say): nothing to redraw
                self.config = config
                self._notify()
            talk_groups = {g["id"] for g in self.config.channels + self.config.vtgs}
            if self.media_ticket.ticket is not None and talk_groups != self.media_ticket.groups:
                await self._fetch_media_ticket()  # a ticket naming the channels and VTGs of now

    async def _fetch_media_ticket(self) -> None:
        if self._client is not None and self.media_ticket.wanted:
            with contextlib.suppress(Unreachable):
                await self.media_ticket.fetch(self._client)

    async def _refresh_servers(self, client: ApiClient | None = None) -> None:
        """The selector's roles from the server's listing (kept for the next run)."""
        with contextlib.suppress(Unreachable):
            reply = await (client or self._connected_client()).get("/api/v1/servers")
            if reply.ok:
                self.known.update(reply["servers"])
        self.known.save()

    # -------------------------------------------------------------- live push
    async def _listen(self, resumed: bool = False) -> None:
        """Configuration changes pushed by the server; a broken link means offline.
        ``resumed``: the session taken back by itself after a lost link, which the
        server's audit trail records (``?resumed=idc|mobile``)."""
        path = f"/api/v1/events?resumed={self.client_kind}" if resumed else "/api/v1/events"
        try:
            ws = await self._connected_client().websocket(path, heartbeat_s=events_heartbeat_s(self.clock))
            async with ws:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    try:
                        event = msg.json()
                    except ValueError:
                        log.warning("ignored a malformed event from %s", self.server)
                        continue
                    if not isinstance(event, dict):
                        continue
                    # "hello": from now on every change is pushed; one made since the
                    # login's listing and before the socket opened is fetched now.
                    if event.get("type") in ("hello", "record", "replicated"):
                        self._refresh_soon()
                    elif event.get("type") == "logout" and self._logged_out_by(event):
                        break
        except (TimeoutError, Unreachable, aiohttp.ClientError):
            pass
        if self.state == State.ONLINE:
            self._go_offline()

    def _refresh_soon(self) -> None:
        """Fetch the configuration again, in a task beside the listener: a fetch held by a
        server gone silent must not keep the listener from finding its socket closed (it
        would say offline only at the fetch's deadline).  One fetch at a time; a change
        pushed during one is fetched after it."""
        self._stale = True
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = self._tasks.start(self._refresh_while_stale())

    async def _refresh_while_stale(self) -> None:
        while self._stale and self.state == State.ONLINE:
            self._stale = False
            with contextlib.suppress(Unreachable):
                await self.refresh()

    def _logged_out_by(self, event: dict) -> bool:
        """The server closes the events of the sessions it logged out: every one, or
        (Configure) administrators only; the rest stay online."""
        return not event.get("admins_only") or (self.user or {}).get("role") == "system_administrator"

    def _go_offline(self) -> None:
        self._link_lost.set()
        if self._refreshing is not None:
            self._refreshing.cancel()  # from a server found silent: it would only time out
        self._set_state(State.OFFLINE)
        self._notify(
            "offline",
            f"offline: the connection to {self.server} is lost. The console keeps working "
            "with the last configuration and reconnects automatically",
        )
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        """Look for the active server, with no user action, until one takes the session."""
        while self.state == State.OFFLINE:
            # OFFLINE comes after ONLINE: the server is the one left, kept until the
            # logout, which ends this task before it clears it.
            assert self.server is not None
            address = await self._first_active([self.server, *self.known.others(self.server)])
            try:
                if await self._resume_on(address):
                    return
            except LoginError as exc:
                # The user or password is not known there (never replicated, or
                # changed): retrying cannot help; say what to do.
                self._notify("error", f"{address} refused the login ({exc}): log out and log in again")
                return
            except (OSError, ValueError) as exc:  # a selector file that cannot be saved, a bad address
                log.warning("reconnect to %s failed: %s", address, exc)
            await self.clock.sleep(RECONNECT_EVERY_S)

    async def _first_active(self, addresses: list[str]) -> str:
        """The first of ``addresses`` to answer as the active server.  Each is asked every
        ``RECONNECT_EVERY_S`` on its own: a silent one (paused, or cut off by a network
        that drops packets) holds up only its own question, for ``REQUEST_TIMEOUT_S``,
        never the finding of the new active (asked together, every round waited for it)."""

        async def ask(address: str) -> str:
            while not await _shared("active", address, is_active):
                await self.clock.sleep(RECONNECT_EVERY_S)
            return address

        asking = [asyncio.ensure_future(ask(a)) for a in addresses]
        try:
            done, _ = await asyncio.wait(asking, return_when=asyncio.FIRST_COMPLETED)
            return next(task for task in asking if task in done).result()  # in the selector's order
        finally:
            for task in asking:
                task.cancel()
            await asyncio.gather(*asking, return_exceptions=True)  # each ended, none left to warn

    async def _resume_on(self, address: str) -> bool:
        """Take the session to ``address``, which just answered as the active server."""
        # Every session that saw the new active asks for the same listing: one request.
        listing = await _shared("servers", address, _server_listing)
        if listing is not None:
            self.known.update(listing)
        self.known.save()
        # One client for the token check and then the session: its connection is reused.
        client = ApiClient(address, token=self.token, timeout_s=REQUEST_TIMEOUT_S)
        taken = False
        try:
            token_ok = False
            with contextlib.suppress(Unreachable):
                token_ok = (await client.get("/api/v1/me")).ok  # sessions replicate with the data
            if not token_ok:
                # Both kept from the login until the logout, which ends the reconnect first.
                assert self.username is not None and self._password is not None
                outcome = await self._try_login(address, self.username, self._password)
                if not isinstance(outcome, dict):
                    return False
                client.token = self.token
            previous = self.server
            if self._client:
                await self._client.close()
            self.server = address
            self._client, taken = client, True
            self._link_lost = asyncio.Event()
        finally:
            if not taken:
                await client.close()
        try:
            await self.refresh()
        except Unreachable:
            return False
        await self._fetch_media_ticket()  # from the new active, before the old one runs out
        self._set_state(State.ONLINE)
        where = "the new active server" if address != previous else "the server"
        self._notify("reconnected", f"reconnected to {where} {address}")
        self._spawn(self._listen(resumed=True))
        return True

    # ----------------------------------------------------------------- logout
    async def logout(self) -> None:
        self._link_lost.set()
        await self._tasks.close()
        # Taken out before the first await: a second logout meanwhile finds nothing to close.
        client, self._client = self._client, None
        try:
            if client:
                # The roles were last learned at the login or the reconnect: a partner that
                # did not answer then may be back as the standby now, and the server being
                # left knows it.  The selector shown next must not say "did not answer".
                learn = [self._refresh_servers(client)] if self.state == State.ONLINE else []
                # Offline, the server was found silent or gone: it gets a round trip to
                # end the token, not the request deadline the dispatcher would wait out.
                deadline = NETWORK_SLACK_S if self.state == State.OFFLINE else None
                await asyncio.gather(_log_out(client, deadline), *learn)
        finally:  # even when cancelled (the window closing as the app quits): nothing left open
            if client:
                await client.close()
            self.token, self._password, self.server = None, None, None
            self.user, self.config = None, Configuration()  # the next user sees nothing of this one
            self.media_ticket.clear()
            self.known.save()
            if self.state != State.LOGGED_OUT:
                self._set_state(State.LOGGED_OUT)
                self._notify("logged-out", "logged out; log in again to the active server shown in the selector")

    close = logout

    def _spawn(self, coro) -> None:
        self._tasks.start(coro)

    def _task_failed(self, exc: BaseException) -> None:
        self._notify("error", f"internal error: {exc}; log out and log in again")

    def status_line(self) -> dict[str, Any]:
        role = known.role if self.server and (known := self.known.get(self.server)) else None
        return {"server": self.server, "role": role, "state": self.state.value, "user": self.username}

    async def file_content(self, incident_id: str, file_id: str) -> bytes | None:
        """A photo or video of an incident, from the current server; None when it is not
        there (offline, or the file never replicated before a failover)."""
        if self._client is None or self.state != State.ONLINE:
            return None
        try:
            reply = await self._client.get(f"/api/v1/incidents/{incident_id}/files/{file_id}", binary=True)
        except Unreachable:
            return None
        return reply.body if reply.ok and isinstance(reply.body, bytes) else None

    async def _unless_lost(self, request: Coroutine[Any, Any, Reply]) -> Reply:
        """``request`` on the connection of now, given up (``Unreachable``) as soon as that
        connection is found lost: a server gone silent would otherwise hold an upload for
        the whole ``UPLOAD_TIMEOUT_S`` while the console already says offline."""
        lost = self._link_lost
        sending = asyncio.ensure_future(request)
        watching = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait((sending, watching), return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the caller is cancelled
            watching.cancel()
            sending.cancel()  # a no-op once it is done
        await asyncio.wait((sending,))  # ended, its connection closed, before we go on
        if not sending.cancelled():
            return sending.result()
        raise Unreachable("the connection to the server was lost")

    async def upload_file(self, incident_id: str, name: str, content_type: str, content: bytes) -> dict:
        """Upload a photo or video to an incident on the current server; its file record
        (``id``, ``available``, ...).  The configuration is refreshed before returning,
        so ``config.incidents`` already lists the new file."""
        client = self._client
        if client is None or self.state != State.ONLINE:
            raise UploadError("offline: the upload waits until the connection to the active server is back")
        path = f"/api/v1/incidents/{quote(incident_id, safe='')}/files?name={quote(name, safe='')}"
        try:
            reply = await self._unless_lost(
                client.request(
                    "POST", path, data=content, headers={"Content-Type": content_type}, timeout_s=UPLOAD_TIMEOUT_S
                )
            )
        except Unreachable as exc:
            raise UploadInterrupted(f"the connection to {self.server} was lost during the upload") from exc
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status != 201:
            raise UploadError(f"{self.server} refused the upload: {body.get('message', reply.status)}")
        if self._client is client and self.state == State.ONLINE:  # not logged out meanwhile
            with contextlib.suppress(Unreachable):
                await self.refresh()
        return body

    async def restore_file(self, incident_id: str, file_id: str, content: bytes) -> dict:
        """Send again the content of a file the current server lists as unavailable (it
        did not replicate before a failover): the same record becomes available to all."""
        client = self._client
        if client is None or self.state != State.ONLINE:
            raise UploadError("offline: the upload waits until the connection to the active server is back")
        path = f"/api/v1/incidents/{quote(incident_id, safe='')}/files/{quote(file_id, safe='')}"
        try:
            reply = await self._unless_lost(client.request("PUT", path, data=content, timeout_s=UPLOAD_TIMEOUT_S))
        except Unreachable as exc:
            raise UploadInterrupted(f"the connection to {self.server} was lost during the upload") from exc
        body = reply.body if isinstance(reply.body, dict) else {}
        if not reply.ok:
            raise UploadError(f"{self.server} refused the upload: {body.get('message', reply.status)}")
        if self._client is client and self.state == State.ONLINE:
            with contextlib.suppress(Unreachable):
                await self.refresh()
        return body

    async def learn_unknown_roles(self) -> None:
        """Ask for the roles the selector has never seen (a first run).  Roles seen before
        are left as they were: a console that was away during a failover still shows the
        old ones until it logs in (Amy's case)."""
        for unknown in [s for s in self.known.servers if s.role is None]:
            async with ApiClient(unknown.address, timeout_s=REQUEST_TIMEOUT_S) as c:
                try:
                    reply = await c.get("/api/v1/servers")
                except Unreachable:
                    continue
            if reply.ok and isinstance(reply.body, dict):
                self.known.update(
                    [
                        e
                        for e in reply.body.get("servers", [])
                        if (known := self.known.get(e.get("address"))) is None or known.role is None
                    ]
                )
        self.known.save()
        self._notify()
