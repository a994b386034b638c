"""A standard telephone: dials the IPICS system number, sends keypad tones, hears the
voice menu; drops when the server it reached fails over.

The telephone network's trunk to IPICS lists both servers; a call is offered to both
at once and goes to the first that takes it (the standby refuses, and so does a server
taking over).  When no server takes it the caller hears the network's "all circuits
are busy" and dials again later, as the chapter says: "users can call back in to the
system after a short delay".

A silent server (paused, or cut off by a network that drops packets) neither refuses
nor hangs up: a call to it drops when a keep-alive goes unanswered (``HEARTBEAT_S``),
and it holds up no call to the other server (docs/telephones.md, "A server that goes
silent").

Qt-free: the telephone panel renders ``state``, ``display`` and ``heard``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from enum import Enum

import aiohttp
from aiohttp import web

from ipics_clients.addresses import address_seen_by
from ipics_server.adapters.httpclient import ApiClient, Unreachable
from ipics_server.dial.engine import CALL_PATH, DTMF, SYSTEM_NUMBER
from ipics_server.dial.pstn import PstnDirectory

log = logging.getLogger("ipics.telephone")

#: real seconds an unanswered incoming call rings
RING_TIMEOUT_S = 30
#: real seconds of quiet on the line before a keep-alive: the call drops when its
#: answer is not back within half of that, so within 3 s of the server going silent
HEARTBEAT_S = 2.0
#: real seconds the trunk waits for a server to take a call before "all circuits busy"
SETUP_TIMEOUT_S = 5.0


def drop_deadline_s() -> float:
    """Real seconds from the server going silent to the call dropped, at most."""
    return 1.5 * HEARTBEAT_S


class State(str, Enum):
    ON_HOOK = "on hook"
    CALLING = "calling"
    RINGING = "ringing"
    CONNECTED = "connected"
    BUSY = "all circuits busy"
    DROPPED = "call dropped"


class Telephone:
    def __init__(
        self,
        number: str,
        trunk: list[str],
        *,
        on_change: Callable[[Telephone], None] | None = None,
        auto_answer: bool = True,
    ):
        self.number = number
        self.trunk = list(trunk)
        self.on_change = on_change
        #: a dial-out participant's telephone picks up by itself (an answering person)
        self.auto_answer = auto_answer
        self.state = State.ON_HOOK
        self.server: str | None = None
        #: what the voice menu said, in order (the panel shows the last lines)
        self.heard: list[str] = []
        self.user: str | None = None
        self.group: str | None = None
        self.talker: str | None = None
        self._client: ApiClient | None = None
        self._ws: aiohttp.ClientWebSocketResponse | web.WebSocketResponse | None = None
        self._listener: asyncio.Task | None = None
        self._ringer: web.AppRunner | None = None
        self._pstn: PstnDirectory | None = None
        self._ring_url: str | None = None
        self._answer: asyncio.Event | None = None
        self._declined = False

    # ---------------------------------------------------------------- incoming calls
    async def connect_to(self, pstn: PstnDirectory, host: str | None = None) -> None:
        """Plug into the lab's telephone network: calls to ``number`` ring here, on
        ``host`` (default: the address the trunk's servers reach this host by)."""
        host = host or address_seen_by(self.trunk)
        app = web.Application()
        app.router.add_get("/ring", self._ring)
        self._ringer = web.AppRunner(app, access_log=None)
        await self._ringer.setup()
        await web.TCPSite(self._ringer, host, 0).start()
        port = self._ringer.addresses[0][1]
        self._pstn, self._ring_url = pstn, f"http://{host}:{port}/ring"
        await asyncio.to_thread(pstn.register, self.number, self._ring_url)

    async def disconnect(self) -> None:
        await self.hang_up()
        if self._pstn and self._ring_url:
            await asyncio.to_thread(self._pstn.unregister, self.number, self._ring_url)
        if self._ringer:
            await self._ringer.cleanup()
            self._ringer = None

    async def answer(self) -> None:
        if self._answer is not None:
            self._answer.set()

    async def _ring(self, request: web.Request) -> web.StreamResponse:
        if self.state in (State.CALLING, State.CONNECTED, State.RINGING):
            return web.Response(status=486, text="busy here")
        self.heard.clear()
        self.user, self.talker = None, None
        self.group = request.query.get("vtg", "")[:64] or None
        self._answer, self._declined = asyncio.Event(), False
        self._set(State.RINGING)
        if self.auto_answer:
            self._answer.set()
        try:
            await asyncio.wait_for(self._answer.wait(), RING_TIMEOUT_S)
        except TimeoutError:
            self._set(State.ON_HOOK)
            return web.Response(status=480, text="no answer")
        if self._declined:
            return web.Response(status=603, text="declined")
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)  # a dial-out call drops as a dial-in one
        # Connected from the moment the answer goes out: the caller may act on it at once.
        self._ws, self.server = ws, request.query.get("from")
        self._listener = asyncio.current_task()
        self._set(State.CONNECTED)
        try:
            await ws.prepare(request)
        except (ConnectionError, OSError):
            self._ws = None
            self._set(State.DROPPED)
            raise
        await self._listen(ws)
        return ws

    @property
    def display(self) -> str:
        if self.state == State.CONNECTED and self.group:
            return f"{self.group}" + (f" - {self.talker} talking" if self.talker else "")
        if self.state == State.CONNECTED:
            return f"IPICS {SYSTEM_NUMBER}"
        return self.state.value.capitalize()

    async def dial(self, number: str = SYSTEM_NUMBER) -> bool:
        """Call IPICS; True once a server answered."""
        await self.hang_up()
        self.heard.clear()
        self.user = self.group = self.talker = None
        self._set(State.CALLING)
        # Offered to every server of the trunk at once: one after the other, a silent
        # first server would hold every call for SETUP_TIMEOUT_S before the next one.
        offers = [asyncio.ensure_future(self._offer(server)) for server in self.trunk]
        line = None
        try:
            for offer in asyncio.as_completed(offers):
                if (line := await offer) is not None:
                    break
        finally:  # the others hang up, even one that took the call too (a split brain)
            for offer in offers:
                offer.cancel()
            for other in await asyncio.gather(*offers, return_exceptions=True):
                if isinstance(other, tuple) and other is not line:
                    await other[1].close()
        if line is None:
            self._set(State.BUSY)
            return False
        self.server, self._client, self._ws = line
        self._listener = asyncio.get_running_loop().create_task(self._listen(self._ws))
        self._set(State.CONNECTED)
        return True

    async def _offer(self, server: str) -> tuple[str, ApiClient, aiohttp.ClientWebSocketResponse] | None:
        """The call offered to ``server``: its line if it takes it, None if not."""
        client = ApiClient(server, timeout_s=SETUP_TIMEOUT_S)
        try:
            # The heartbeat drops the call when the server stops answering (a pause).
            ws = await client.websocket(f"{CALL_PATH}?from={self.number}", heartbeat_s=HEARTBEAT_S)
        except Unreachable as exc:
            log.info("%s did not take the call: %s", server, exc)
            await client.close()
            return None
        except BaseException:  # hung up while calling, or another server took the call
            await client.close()
            raise
        return server, client, ws

    async def press(self, keys: str) -> None:
        """Keypad tones, one telephone event per key."""
        for key in keys:
            if key not in DTMF:
                raise ValueError(f"a telephone keypad has no {key!r}")
            if self._ws is None or self._ws.closed:
                return
            with contextlib.suppress(ConnectionResetError):
                await self._ws.send_str(json.dumps({"dtmf": key}))

    async def hang_up(self) -> None:
        ws, client, listener = self._ws, self._client, self._listener
        self._ws = self._client = self._listener = None
        if ws is not None:
            await ws.close()  # an incoming call's handler then ends by itself
        if client is not None and listener and listener is not asyncio.current_task():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if client is not None:
            await client.close()
        if self.state == State.RINGING and self._answer is not None:
            self._declined = True  # hanging up a ringing telephone declines the call
            self._answer.set()
        if self.state in (State.CONNECTED, State.CALLING, State.RINGING):
            self._set(State.ON_HOOK)

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse | web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = json.loads(msg.data)
            except ValueError:
                continue
            if "say" in message:
                self.heard.append(str(message["say"]))
            if message.get("state") == "logged-in":
                self.user = message.get("user")
            if message.get("state") == "joined":
                self.group = message.get("group")
            if "talker" in message:
                self.talker = message["talker"]
            self._changed()
        # The server ended the call: the voice menu said goodbye, or the server failed
        # over (its process gone, or it stopped being the active one).
        if self._ws is ws:
            said_goodbye = bool(self.heard) and self.heard[-1].endswith("Goodbye.")
            self._set(State.ON_HOOK if said_goodbye else State.DROPPED)
            self._ws = None
            if self._client is not None:
                await self._client.close()
                self._client = None

    def _set(self, state: State) -> None:
        self.state = state
        self._changed()

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(self)
