"""A standard telephone: dials the IPICS system number, sends keypad tones, hears the
voice menu; drops when the server it reached fails over.

The telephone network's trunk to IPICS lists both servers; a call goes to the first
that answers it (the standby refuses, and so does a server taking over).  When no
server takes it the caller hears the network's "all circuits are busy" and dials
again later, as the chapter says: "users can call back in to the system after a short
delay".

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
from ipics_server.adapters.httpclient import ApiClient, Unreachable
from ipics_server.dial.engine import CALL_PATH, DTMF, SYSTEM_NUMBER

log = logging.getLogger("ipics.telephone")


class State(str, Enum):
    ON_HOOK = "on hook"
    CALLING = "calling"
    CONNECTED = "connected"
    BUSY = "all circuits busy"
    DROPPED = "call dropped"


class Telephone:
    def __init__(self, number: str, trunk: list[str], *,
                 on_change: Callable[[Telephone], None] | None = None):
        self.number = number
        self.trunk = list(trunk)
        self.on_change = on_change
        self.state = State.ON_HOOK
        self.server: str | None = None
        #: what the voice menu said, in order (the panel shows the last lines)
        self.heard: list[str] = []
        self.user: str | None = None
        self.group: str | None = None
        self.talker: str | None = None
        self._client: ApiClient | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._listener: asyncio.Task | None = None

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
        for server in self.trunk:
            client = ApiClient(server, timeout_s=5)
            try:
                ws = await client.websocket(f"{CALL_PATH}?from={self.number}")
            except Unreachable as exc:
                log.info("%s did not take the call: %s", server, exc)
                await client.close()
                continue
            self._client, self._ws, self.server = client, ws, server
            self._listener = asyncio.get_running_loop().create_task(self._listen(ws))
            self._set(State.CONNECTED)
            return True
        self._set(State.BUSY)
        return False

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
        if listener and listener is not asyncio.current_task():
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if ws is not None:
            await ws.close()
        if client is not None:
            await client.close()
        if self.state in (State.CONNECTED, State.CALLING):
            self._set(State.ON_HOOK)

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
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
