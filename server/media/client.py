"""``MediaClient``: a device's connection to the media router (asyncio, no Qt).

Used by the phone service, the desktop (through ``RouterFloor``), tests and the
benchmark.  A client connects with a ticket an IPICS server issued (``ticket``): the
router admits it under the ticket's name, to the talk groups the ticket names::

    client = await MediaClient.connect("ws://127.0.0.1:8765/media", ticket)
    client.who                               # "dan": the ticket's name
    client.join(group)                       # a Future[bool] if you want the answer
    if await client.press(group):            # the router's answer: True = you talk
        client.send_audio(group, payload)    # 20 ms of PCM; stamped and numbered here
    client.release(group)
    client.talker(group)                     # who talks there now, or None
    client.subscribe(lambda group, talker: ...)              # -> unsubscribe
    client.on_audio(lambda group, talker, seq, payload, sent_ns: ...)   # -> unsubscribe
    await client.talk(group, 2.0)            # press, 2 s of tone paced at 20 ms, release
    client.renew(newer_ticket)               # before it expires, or when the groups change
    await client.close()

If the connection drops the client reconnects by itself (backoff from 50 ms doubling to
1 s, with jitter), joins its groups again and asks again for the floors it was holding:
a talker keeps talking through a router restart unless someone else took the floor
first.  While disconnected, ``talker`` is None everywhere (the floor is unknown),
``press`` answers False at once and audio is dropped (counted in ``stats``).  If the
router refuses the ticket (forged, expired) the client stops; ``renew`` with a new
ticket starts it again.  A group the router takes away (the user lost it) is left and
not joined again.

Listeners run on the event loop; an exception in one is logged, never raised here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Self
from urllib.parse import urlsplit

import aiohttp

from ..adapters.httpclient import ApiClient, Unreachable
from .pacing import send_paced
from .protocol import (
    FRAME_MS,
    PATH,
    PROTOCOL,
    SEQ_MOD,
    decode_audio,
    encode_audio,
    encode_control,
    parse_event,
    validate_group,
)
from .talk_groups import TalkerListener, TalkGroups
from .ticket import Claims, peek
from .tone import tone_frame

log = logging.getLogger("ipics.media.client")

AudioListener = Callable[[str, str, int, bytes, int], None]  # (group, talker, seq, payload, sent_ns)

BACKOFF_S = (0.05, 1.0)
HEARTBEAT_S = 5.0
#: audio frames waiting to be written (0.5 s): beyond, the newest is dropped
AUDIO_BACKLOG = 25
FRAME_S = FRAME_MS / 1000


class MediaUnavailable(ConnectionError):
    """The router did not answer in time."""


class MediaRefused(ValueError):
    """The router refused this client's hello (its ticket): reconnecting with the same
    ticket would not help."""


def split_url(url: str) -> tuple[str, str]:
    """``ws://host:port[/media]`` -> (``http://host:port``, ``/media``), for the one HTTP client."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https", "http": "http", "https": "https"}.get(parts.scheme)
    if scheme is None or not parts.hostname or parts.port is None:
        raise ValueError(f"the media router's address must be ws://host:port/media, not {url!r}")
    return f"{scheme}://{parts.netloc}", parts.path if parts.path not in ("", "/") else PATH


class _Outbox:
    """The client's messages in order (control and audio), written by one task."""

    def __init__(self) -> None:
        self.items: deque[str | bytes] = deque()
        self.audio = 0
        self.wake = asyncio.Event()

    def clear(self) -> None:
        self.items.clear()
        self.audio = 0

    def put(self, item: str | bytes) -> None:
        """A control message (text) or an audio frame (bytes), after those before it."""
        self.items.append(item)
        self.audio += isinstance(item, bytes)
        self.wake.set()

    async def run(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        items = self.items
        with contextlib.suppress(ConnectionError, RuntimeError):  # closing: the reader notices
            while True:
                if not items:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                item = items.popleft()
                if isinstance(item, bytes):
                    self.audio -= 1
                    await ws.send_bytes(item)
                else:
                    await ws.send_str(item)


class MediaClient:
    """``ticket``: from an IPICS server; ``ValueError`` if it is not one."""

    def __init__(
        self,
        url: str,
        ticket: str,
        *,
        reconnect: bool = True,
        backoff_s: tuple[float, float] = BACKOFF_S,
        heartbeat_s: float = HEARTBEAT_S,
    ):
        self.url = url
        self._base, self._path = split_url(url)
        self._ticket = ticket
        self.claims: Claims = peek(ticket)
        self.who = self.claims.who
        #: tickets sent with supersede (a server's link), sent again after a reconnect
        #: until they expire: a router started again must not forget a revocation
        self._superseding: dict[str, tuple[str, float]] = {}
        self.reconnect, self.backoff_s, self.heartbeat_s = reconnect, backoff_s, heartbeat_s
        self.connected = False
        self.refused: str | None = None  # the router's reason, if it refused our hello
        self.last_error: str | None = None
        self.floor_timeout_s: float | None = None
        self.connections = 0  # how many times a session with the router began (1 + reconnects)
        self.stats: Counter[str] = Counter()
        #: the groups joined, their talkers and the floors asked for
        self.talk_groups = TalkGroups(self.who, self.stats, self._send)
        self._seq: Counter[str] = Counter()
        self._audio_listeners: list[AudioListener] = []
        self._outbox = _Outbox()
        self._welcome = asyncio.Event()
        self._stopped = asyncio.Event()
        self._api: ApiClient | None = None
        self._run_task: asyncio.Task | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def connect(cls, url: str, ticket: str, *, timeout_s: float = 5.0, **kw) -> MediaClient:
        """A connected client; ``MediaUnavailable`` or ``MediaRefused`` if not within ``timeout_s``."""
        client = cls(url, ticket, **kw)
        client.start()
        try:
            await client.wait_connected(timeout_s)
        except BaseException:
            await client.close()
            raise
        return client

    def start(self) -> None:
        """Connect in the background (and keep reconnecting); returns at once."""
        if self._run_task is None:
            self._api = ApiClient(self._base, timeout_s=5)
            self._run_task = asyncio.get_running_loop().create_task(self._run(), name=f"media {self.who}")

    async def wait_connected(self, timeout_s: float = 5.0) -> None:
        welcome = asyncio.ensure_future(self._welcome.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({welcome, stopped}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            welcome.cancel()
            stopped.cancel()
        if self.refused:
            raise MediaRefused(f"the media router refused {self.who!r}: {self.refused}")
        if not self._welcome.is_set():
            raise MediaUnavailable(
                f"no media router at {self.url} within {timeout_s:g} s"
                + (f": {self.last_error}" if self.last_error else "")
            )

    async def close(self) -> None:
        self._closing = True
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        if self._api is not None:
            await self._api.close()
        self._on_disconnect()
        self.talk_groups.closed()
        self._stopped.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def renew(self, ticket: str) -> None:
        """Use a newer ticket of the same user from now on: sent to the router at once
        if connected (it may narrow the talk groups), else used for the next hello; a
        client stopped by a refused ticket starts again.  ``ValueError`` if it is not a
        ticket of this client's user."""
        claims = peek(ticket)
        if claims.who != self.who:
            raise ValueError(f"a ticket for {claims.who}, not {self.who}: a client talks under one name")
        if ticket == self._ticket:
            return
        self._ticket, self.claims = ticket, claims
        if self.connected:
            self._send("renew", ticket=ticket)
        elif self.refused is not None and not self._closing and self._run_task is not None:
            self.refused = None
            self._stopped.clear()
            if self._run_task.done():
                self._run_task = asyncio.get_running_loop().create_task(self._run(), name=f"media {self.who}")

    def supersede(self, ticket: str) -> None:
        """(A server's link.)  Tell the router the user's talk groups now: his older
        tickets grant no more.  Sent now if connected, and again after every reconnect
        until it expires."""
        claims = peek(ticket)
        self._superseding[claims.who] = (ticket, claims.expires_at)
        self._send("supersede", ticket=ticket)

    async def _run(self) -> None:
        api = self._api
        assert api is not None  # start() makes it before it starts this task (or a restart)
        delay = self.backoff_s[0]
        while not self._closing:
            if self.claims.expires_at <= time.time():
                self.refused = f"{self.who}'s ticket expired: a new one from the active server is needed"
                self.last_error = self.refused
                break
            try:
                ws = await asyncio.wait_for(api.websocket(self._path, heartbeat_s=self.heartbeat_s), api.timeout_s)
            except (TimeoutError, Unreachable) as exc:
                self.last_error = str(exc) or "timed out"
                self.stats["connect_failed"] += 1
            else:
                try:
                    if await self._session(ws):
                        delay = self.backoff_s[0]  # it worked: the next drop retries quickly
                finally:
                    self._on_disconnect()
                    await ws.close()
            if self._closing or not self.reconnect or self.refused:
                break
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff_s[1])
        self._stopped.set()

    async def _session(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """One connection: hello, then events until it closes.  True if welcomed."""
        self.connections += 1
        self._outbox.clear()
        writer = asyncio.get_running_loop().create_task(self._outbox.run(ws))
        try:
            await ws.send_str(encode_control("hello", ticket=self._ticket, protocol=PROTOCOL))
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._on_event(msg.data)
                    if self.refused is not None:
                        break  # the ticket was refused: this connection is of no use
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    self._on_audio(msg.data)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    self.last_error = f"WebSocket error: {msg.data}"
            if ws.close_code not in (None, aiohttp.WSCloseCode.OK, aiohttp.WSCloseCode.GOING_AWAY):
                self.last_error = f"the router closed the connection ({ws.close_code})"
        except (ConnectionError, RuntimeError) as exc:
            self.last_error = str(exc) or type(exc).__name__
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return self.connected or self._welcome.is_set()

    def _on_disconnect(self) -> None:
        was = self.connected
        self.connected = False
        self._welcome.clear()
        self._outbox.clear()
        self.talk_groups.disconnected()
        if was:
            self.stats["disconnects"] += 1

    # ------------------------------------------------------------------ commands
    def join(self, group: str) -> asyncio.Future[bool]:
        """Listen to a group (again after every reconnect).  The Future says whether the
        router accepted it; awaiting it is optional."""
        validate_group(group, "join")
        return self.talk_groups.join(group)

    def leave(self, group: str) -> None:
        self.talk_groups.leave(group)

    async def press(self, group: str) -> bool:
        """Ask for the floor; the router's answer (False also when not connected)."""
        return await self.request_floor(group)

    def request_floor(self, group: str) -> asyncio.Future[bool]:
        """``press`` for synchronous callers: the request is sent now, in order with
        what follows (a ``release`` right after it is not overtaken); the Future has
        the router's answer."""
        if group not in self.talk_groups.wanted:
            self.join(group)
        if not self.connected:
            self.stats["press_offline"] += 1
            fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            fut.set_result(False)
            return fut
        self.talk_groups.holding.add(group)
        return self.talk_groups.ask_floor(group)

    def release(self, group: str) -> None:
        self.talk_groups.release(group)

    def holding(self, group: str) -> bool:
        """Whether this client asked for the floor there and has not released or lost it."""
        return group in self.talk_groups.holding

    def talker(self, group: str) -> str | None:
        return self.talk_groups.talkers.get(group)

    def joined(self, group: str) -> bool:
        return group in self.talk_groups.group_slot

    def subscribe(self, listener: TalkerListener) -> Callable[[], None]:
        return self.talk_groups.subscribe(listener)

    def on_audio(self, listener: AudioListener) -> Callable[[], None]:
        self._audio_listeners.append(listener)
        return lambda: self._audio_listeners.remove(listener) if listener in self._audio_listeners else None

    def next_seq(self, group: str) -> int:
        """The sequence number the next frame to ``group`` will carry."""
        return self._seq[group]

    def send_audio(self, group: str, payload: bytes) -> int | None:
        """Queue one frame; its sequence number, or None if dropped (not connected, group
        not joined yet, or the backlog full).  The router forwards it only if we hold the floor."""
        slot = self.talk_groups.group_slot.get(group)
        if not self.connected or slot is None:
            self.stats["audio_dropped_offline"] += 1
            return None
        if self._outbox.audio >= AUDIO_BACKLOG:
            self.stats["audio_dropped_backlog"] += 1
            return None
        seq = self._seq[group]
        self._seq[group] = (seq + 1) % SEQ_MOD
        self._outbox.put(encode_audio(slot, seq, time.monotonic_ns(), payload))
        self.stats["audio_sent"] += 1
        return seq

    async def stream(
        self, group: str, *, count: int | None = None, frames: Iterable[bytes] | None = None, frame_s: float = FRAME_S
    ) -> int:
        """Send frames paced at ``frame_s`` while holding the floor (until released, lost,
        ``count`` frames or the end of ``frames``); the tone by default, frame ``seq`` of
        it each time, so a listener can check order and content.  Frames sent."""
        source = iter(frames) if frames is not None else None
        return await send_paced(
            lambda: tone_frame(self.next_seq(group)) if source is None else next(source, None),
            lambda payload: self.send_audio(group, payload) is not None,
            lambda: group in self.talk_groups.holding,
            count=count,
            frame_s=frame_s,
        )

    async def talk(self, group: str, seconds: float, *, frames: Iterable[bytes] | None = None) -> int:
        """Press, stream ``seconds`` of tone (or ``frames``) paced at 20 ms, release.
        Frames sent; 0 if the floor was denied."""
        if not await self.press(group):
            return 0
        try:
            return await self.stream(group, count=max(1, round(seconds / FRAME_S)), frames=frames)
        finally:
            self.release(group)

    def _send(self, op: str, **fields) -> None:
        if self.connected:
            self._outbox.put(encode_control(op, **fields))

    # -------------------------------------------------------------------- events
    def _on_event(self, text: str) -> None:
        try:
            ev = parse_event(text)
            handler = self._handlers.get(ev["event"])
            if handler is None:
                self.stats["unknown_events"] += 1
                return
            handler(ev)
        except (ValueError, KeyError, TypeError) as exc:
            self.stats["bad_events"] += 1
            log.warning("media client %s: bad event from the router: %s", self.who, exc)

    @functools.cached_property
    def _handlers(self) -> dict[str, Callable[[dict], None]]:
        """The router's events, by name: the connection's here, the groups' in ``TalkGroups``."""
        g = self.talk_groups
        return {
            "welcome": self._ev_welcome,
            "renewed": lambda ev: self.stats.update(["renewed"]),
            "superseded": lambda ev: self.stats.update(["superseded"]),
            "error": self._ev_error,
            "joined": g.on_joined,
            "left": g.on_left,
            "granted": g.on_granted,
            "denied": g.on_denied,
            "talker": g.on_talker,
        }

    def _ev_welcome(self, ev: dict) -> None:
        self.connected = True
        self.floor_timeout_s = ev.get("floor_timeout_s")
        now = time.time()
        for who, (ticket, expires_at) in list(self._superseding.items()):
            if expires_at <= now:
                del self._superseding[who]
            else:
                self._send("supersede", ticket=ticket)
        self.talk_groups.rejoin(self.claims)
        self._welcome.set()

    def _ev_error(self, ev: dict) -> None:
        op, group, code = ev.get("op"), ev.get("group"), ev.get("code")
        self.stats["errors." + str(code)] += 1
        self.last_error = f"{code}: {ev.get('message')}"
        log.info("media client %s: router error %s", self.who, self.last_error)
        if op == "hello":
            self.refused = str(ev.get("message"))
            self._stopped.set()
        elif op == "press" and group:
            self.talk_groups.press_refused(group)
        elif op == "join" and group:
            self.talk_groups.lost(group)  # refused (not the user's, too many groups): not retried on reconnect

    def _on_audio(self, data: bytes) -> None:
        try:
            frame = decode_audio(data)
        except ValueError:
            self.stats["bad_frames"] += 1
            return
        group = self.talk_groups.slot_group.get(frame.slot)
        if group is None:
            self.stats["audio_unknown_slot"] += 1
            return
        self.stats["audio_received"] += 1
        for listener in list(self._audio_listeners):
            try:
                listener(group, frame.talker, frame.seq, frame.payload, frame.sent_ns)
            except Exception:
                log.exception("media client %s: audio listener failed", self.who)
