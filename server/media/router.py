"""The media router: floor control and audio fan-out for talk groups, over WebSockets.

A device connects to ``/media`` and says hello with a ticket an IPICS server issued
(``ticket``): the router checks it offline with the key it shares with the servers,
and admits only its holder, under the name the ticket gives, to the talk groups the
ticket names (``protocol`` has the messages).  A device renews its ticket before it
expires, and a server tells the router when a user's talk groups shrink ("supersede"):
the user's connections leave the groups taken away at once, and older tickets of his
grant nothing more until they expire.  A connection whose ticket expires is closed.

Per group the router keeps the members and the floor holder; audio is forwarded only
from the holder, stamped with its name, to every other member.  The floor is freed
when the holder releases it, leaves, goes away (its connection closes, or misses the
WebSocket heartbeat), loses the group, or stays silent longer than ``floor_timeout_s``
emulated seconds (default 60, scaled by the clock's time scale like every emulated
duration of the lab): a stuck PTT button cannot hold a channel for ever.

Each device has its own outbox and writer task, so a slow listener loses its own
audio (counted) and never delays the talker or the other listeners.

Bad input (malformed JSON, unknown ops, wrong types, oversized messages, a missing,
forged or expired ticket, audio for a group not joined or without the floor, too many
groups) is answered with an ``error`` event, rate-limited per device, and counted in
``GET /media/stats``; the router keeps serving everyone.  A message over
``WS_MAX_MSG_SIZE`` closes that one connection with 1009 (message too big), as aiohttp
does.  Tickets and the key are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..background import background
from ..clock import Clock
from .protocol import (
    CLOSE_TICKET_EXPIRED,
    MAX_CLIENTS,
    MAX_GROUPS,
    MAX_GROUPS_PER_CLIENT,
    PATH,
    PROTOCOL,
    WS_MAX_MSG_SIZE,
    Control,
    ProtocolError,
    check_audio,
    encode_event,
    limits,
    parse_control,
    stamp_talker,
)
from .ticket import MAX_TICKET_LIFETIME_S, Claims, verify

log = logging.getLogger("ipics.media")

#: the emulated seconds a floor holder may stay silent before the router frees the floor
FLOOR_TIMEOUT_S = 60.0
#: real seconds between WebSocket pings; a device that misses a pong is dropped
HEARTBEAT_S = 5.0
#: audio frames queued for one listener (0.5 s of 20 ms frames): beyond, its audio drops
AUDIO_BACKLOG = 25
#: control events queued for one device: beyond, it is too slow and is disconnected
CONTROL_BACKLOG = 500
#: error events per device: a burst, then this many per second; the rest are only counted
ERROR_BURST, ERRORS_PER_S = 20, 10.0
#: real seconds between two looks for expired tickets
TICKET_SWEEP_S = 0.5


class Outbox:
    """What the router sends one device, in order, written by the device's own task."""

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws
        self._items: deque[str | bytes] = deque()
        self._audio = 0
        self._wake = asyncio.Event()
        self.audio_dropped = 0
        self.overflowed = False
        #: close with this (code, reason) once everything queued before is sent
        self.close_with: tuple[int, bytes] | None = None

    def put_event(self, text: str) -> None:
        if len(self._items) - self._audio >= CONTROL_BACKLOG:
            self.overflowed = True  # the writer closes the connection
        else:
            self._items.append(text)
        self._wake.set()

    def close_after_queued(self, code: int, reason: bytes) -> None:
        self.close_with = (code, reason)
        self._wake.set()

    def put_audio(self, frame: bytes) -> bool:
        if self._audio >= AUDIO_BACKLOG or self.close_with is not None:
            self.audio_dropped += 1
            return False
        self._items.append(frame)
        self._audio += 1
        self._wake.set()
        return True

    async def run(self) -> None:
        items, ws = self._items, self.ws
        try:
            while True:
                if self.overflowed:
                    await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too slow: events backlog full")
                    return
                if not items:
                    if self.close_with is not None:
                        await ws.close(code=self.close_with[0], message=self.close_with[1])
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                item = items.popleft()
                if isinstance(item, bytes):
                    self._audio -= 1
                    await ws.send_bytes(item)
                else:
                    await ws.send_str(item)
        except (ConnectionError, RuntimeError):
            return  # the connection is closing: the handler cleans up


class Member:
    """One connected device."""

    _ids = itertools.count(1)

    def __init__(self, ws: web.WebSocketResponse, peer: str):
        self.id = next(self._ids)
        self.ws, self.peer = ws, peer
        self.who: str | None = None  # from the ticket, once admitted
        self.who_bytes = b""
        self.ticket: Claims | None = None
        self.groups: dict[str, Group] = {}
        self.slots: dict[int, Group] = {}
        self.outbox = Outbox(ws)
        self._tokens, self._refilled = float(ERROR_BURST), time.monotonic()
        self.errors_suppressed = 0

    def __repr__(self) -> str:
        return f"{self.who or '?'}#{self.id}"

    @property
    def claims(self) -> Claims:
        """The ticket of an admitted member: ``Router.control`` runs no op but hello
        without one."""
        if self.ticket is None:
            raise ProtocolError("hello_first", "say hello with your ticket first")
        return self.ticket

    def send(self, event: str, **fields: Any) -> None:
        self.outbox.put_event(encode_event(event, **fields))

    def error(self, exc: ProtocolError) -> None:
        now = time.monotonic()
        self._tokens = min(ERROR_BURST, self._tokens + (now - self._refilled) * ERRORS_PER_S)
        self._refilled = now
        if self._tokens < 1:
            self.errors_suppressed += 1
            return
        self._tokens -= 1
        self.outbox.put_event(encode_event(**exc.event()))


class Group:
    """A talk group: a channel or VTG, by its id."""

    def __init__(self, group_id: str, slot: int):
        self.id, self.slot = group_id, slot
        self.members: dict[Member, None] = {}  # ordered: events go out in join order
        self.holder: Member | None = None
        self.last_heard = 0.0  # emulated monotonic seconds: the holder's press or last frame

    @property
    def talker(self) -> str | None:
        return self.holder.who if self.holder else None


class Router:
    """``key``: the ticket key shared with the servers.  ``wall``: real Unix time, which
    tickets are written in (not the emulated clock: they protect real people)."""

    def __init__(
        self,
        clock: Clock | None = None,
        floor_timeout_s: float = FLOOR_TIMEOUT_S,
        max_clients: int = MAX_CLIENTS,
        *,
        key: bytes,
        wall: Callable[[], float] = time.time,
    ):
        self.clock = clock or Clock()
        self.floor_timeout_s = floor_timeout_s
        self.max_clients = max_clients
        self._key, self.wall = key, wall
        self.members: set[Member] = set()
        self.groups: dict[str, Group] = {}
        #: per user, the newest "supersede": his older tickets grant at most its groups
        self.superseded: dict[str, Claims] = {}
        self._slots = itertools.count(1)  # never reused while the router runs
        self.stats: Counter[str] = Counter()
        #: floors asked for (granted or denied) by each user: an exercise counts its trainee's
        self.floor_requests: Counter[str] = Counter()

    # ------------------------------------------------------------------ control
    def control(self, m: Member, text: str) -> None:
        self.stats["control_in"] += 1
        try:
            c = parse_control(text)
            if c.op != "hello" and m.ticket is None:
                if m.who is not None:  # expired: the connection is closing
                    raise ProtocolError("ticket_expired", "your ticket expired", op=c.op, group=c.group)
                raise ProtocolError("hello_first", "say hello with your ticket first", op=c.op, group=c.group)
            getattr(self, "_" + c.op)(m, c)
        except ProtocolError as exc:
            self.reject(m, exc)

    def reject(self, m: Member, exc: ProtocolError) -> None:
        self.stats["error." + exc.code] += 1
        m.error(exc)

    # ------------------------------------------------------------------ tickets
    def _ticket(self, c: Control) -> Claims:
        """The ticket's claims, checked, and narrowed by a later supersede of its user."""
        claims = verify(self._key, c.ticket, now=self.wall(), op=c.op)
        newer = self.superseded.get(claims.who)
        if newer is not None and not claims.service and claims.issued_at < newer.issued_at:
            claims = claims.restricted_to(newer.groups)
        return claims

    def _hello(self, m: Member, c: Control) -> None:
        if m.who is not None:
            raise ProtocolError("already_hello", f"already said hello as {m.who!r}", op="hello")
        claims = self._ticket(c)
        if c.who is not None and c.who != claims.who:
            raise ProtocolError(
                "not_yours",
                f"this ticket is {claims.who}'s: a device talks only under the name of its own ticket",
                op="hello",
            )
        m.ticket, m.who, m.who_bytes = claims, claims.who, claims.who.encode()
        log.info(
            "%s connected from %s (%s ticket from %s, %d talk groups, valid %.0f s more)",
            m,
            m.peer,
            claims.kind,
            claims.issuer or "?",
            len(claims.groups),
            claims.expires_at - self.wall(),
        )
        m.send(
            "welcome",
            who=m.who,
            protocol=PROTOCOL,
            floor_timeout_s=self.floor_timeout_s,
            floor_timeout_real_s=self.clock.real_seconds(self.floor_timeout_s),
            expires_at=claims.expires_at,
            limits=limits(),
        )

    def _renew(self, m: Member, c: Control) -> None:
        claims = self._ticket(c)
        if claims.who != m.who or claims.kind != m.claims.kind:
            raise ProtocolError(
                "not_yours",
                f"this ticket is {claims.who}'s, not {m.who}'s: connect again to talk under another name",
                op="renew",
            )
        if claims.issued_at < m.claims.issued_at:
            raise ProtocolError("stale_ticket", "this ticket is older than the one in use", op="renew")
        m.ticket = claims
        self.stats["tickets_renewed"] += 1
        self._enforce(m, "its new ticket does not name it")
        m.send("renewed", expires_at=claims.expires_at)

    def _supersede(self, m: Member, c: Control) -> None:
        if not m.claims.service:
            raise ProtocolError("forbidden", "only an IPICS server may supersede tickets", op="supersede")
        claims = verify(self._key, c.ticket, now=self.wall(), op="supersede")
        if claims.service:
            raise ProtocolError("bad_ticket", "supersede takes a user's ticket", op="supersede")
        newest = self.superseded.get(claims.who)
        if newest is None or claims.issued_at >= newest.issued_at:
            self.superseded[claims.who] = claims
        self.stats["tickets_superseded"] += 1
        for member in list(self.members):
            t = member.ticket
            if member.who == claims.who and t is not None and not t.service and t.issued_at < claims.issued_at:
                member.ticket = t.restricted_to(claims.groups)
                self._enforce(member, f"revoked by {m.who}")
        m.send("superseded", who=claims.who)

    def _enforce(self, m: Member, why: str) -> None:
        """``m`` leaves every group its ticket no longer names (freeing its floor there)."""
        for g in [g for g in m.groups.values() if not m.claims.allows(g.id)]:
            log.info("%s loses %s: %s", m, g.id, why)
            self.stats["left.revoked"] += 1
            self._remove(m, g)
            m.send("left", group=g.id, reason="revoked")

    async def sweep_expired_tickets(self) -> None:
        """Close the connections whose ticket expired, and forget supersedes no ticket
        they restrict can outlive."""
        while True:
            await asyncio.sleep(TICKET_SWEEP_S)
            now = self.wall()
            for m in [m for m in self.members if m.ticket is not None and m.ticket.expires_at <= now]:
                self.expire(m)
            for who in [w for w, s in self.superseded.items() if s.issued_at + MAX_TICKET_LIFETIME_S <= now]:
                del self.superseded[who]

    def expire(self, m: Member) -> None:
        log.info("%s: ticket expired, connection closed", m)
        self.stats["tickets_expired"] += 1
        for g in list(m.groups.values()):
            self._remove(m, g)
        m.ticket = None
        m.error(
            ProtocolError(
                "ticket_expired", f"{m.who}'s ticket expired: connect again with a new one from the active server"
            )
        )
        m.outbox.close_after_queued(CLOSE_TICKET_EXPIRED, b"ticket expired")

    def _join(self, m: Member, c: Control) -> None:
        group = c.group_id
        g = m.groups.get(group)
        if g is None:
            if not m.claims.allows(group):
                raise ProtocolError(
                    "not_allowed",
                    f"{m.who}'s ticket does not name talk group {group}: only the channels and VTGs the user has",
                    op="join",
                    group=group,
                )
            if len(m.groups) >= MAX_GROUPS_PER_CLIENT:
                raise ProtocolError(
                    "too_many_groups",
                    f"a device may join at most {MAX_GROUPS_PER_CLIENT} groups; leave one first",
                    op="join",
                    group=group,
                )
            g = self.groups.get(group)
            if g is None:
                if len(self.groups) >= MAX_GROUPS:
                    raise ProtocolError(
                        "router_full", f"the router carries at most {MAX_GROUPS} groups", op="join", group=group
                    )
                g = self.groups[group] = Group(group, next(self._slots))
            g.members[m] = None
            m.groups[g.id], m.slots[g.slot] = g, g
        m.send("joined", group=g.id, slot=g.slot, talker=g.talker)

    def _joined(self, m: Member, c: Control) -> Group:
        group = c.group_id
        g = m.groups.get(group)
        if g is None:
            raise ProtocolError("not_joined", f"join group {group} first", op=c.op, group=group)
        return g

    def _leave(self, m: Member, c: Control) -> None:
        self._remove(m, self._joined(m, c))
        m.send("left", group=c.group)

    def _press(self, m: Member, c: Control) -> None:
        g = self._joined(m, c)
        if m.claims.service:
            raise ProtocolError("listen_only", "a server's listening connection never talks", op="press", group=g.id)
        if g.holder is not m:
            self.floor_requests[m.claims.who] += 1
        if g.holder is None:
            g.holder, g.last_heard = m, self.clock.monotonic()
            self.stats["floor_granted"] += 1
            log.info("%s talks on %s", m, g.id)
            m.send("granted", group=g.id)
            self._tell_talker(g)
        elif g.holder is m:
            m.send("granted", group=g.id)
        else:
            self.stats["floor_denied"] += 1
            m.send("denied", group=g.id, talker=g.holder.who)

    def _release(self, m: Member, c: Control) -> None:
        g = self._joined(m, c)
        if g.holder is m:
            self._free(g, "released")

    def _free(self, g: Group, why: str) -> None:
        log.info("%s's floor on %s freed: %s", g.holder, g.id, why)
        self.stats["floor_freed." + why] += 1
        g.holder = None
        self._tell_talker(g)

    def _tell_talker(self, g: Group) -> None:
        text = encode_event("talker", group=g.id, talker=g.talker)
        for member in g.members:
            member.outbox.put_event(text)

    def _remove(self, m: Member, g: Group) -> None:
        del m.groups[g.id], m.slots[g.slot]
        g.members.pop(m, None)
        if g.holder is m:
            self._free(g, "left" if m in self.members else "gone")
        if not g.members:
            del self.groups[g.id]

    def drop(self, m: Member) -> None:
        """The device went away: it leaves every group, and its floors are freed."""
        self.members.discard(m)
        for g in list(m.groups.values()):
            self._remove(m, g)
        if m.who is not None:
            log.info("%s disconnected", m)

    # -------------------------------------------------------------------- audio
    def audio(self, m: Member, data: bytes) -> None:
        self.stats["frames_in"] += 1
        try:
            if m.ticket is None:
                if m.who is not None:  # expired: the connection is closing
                    raise ProtocolError("ticket_expired", "your ticket expired")
                raise ProtocolError("hello_first", "say hello with your ticket before sending audio")
            slot = check_audio(data)
            g = m.slots.get(slot)
            if g is None:
                raise ProtocolError("not_joined", f"audio for slot {slot}: no group of yours has that slot")
            if g.holder is not m:
                who = f"{g.holder.who} holds" if g.holder else "nobody holds"
                raise ProtocolError("not_holder", f"audio dropped: you do not hold the floor ({who} it)", group=g.id)
        except ProtocolError as exc:
            self.stats["frames_dropped." + exc.code] += 1
            self.reject(m, exc)
            return
        g.last_heard = self.clock.monotonic()
        out = stamp_talker(data, m.who_bytes)
        sent = 0
        for member in g.members:
            if member is not m:
                sent += member.outbox.put_audio(out)
        self.stats["frames_out"] += sent
        if sent < len(g.members) - 1:
            self.stats["frames_dropped.slow_listener"] += len(g.members) - 1 - sent

    # -------------------------------------------------------------- floor timer
    async def sweep_silent_floors(self) -> None:
        """Free the floor of a holder silent for ``floor_timeout_s`` emulated seconds."""
        every = min(1.0, self.clock.real_seconds(self.floor_timeout_s) / 4)
        while True:
            await asyncio.sleep(every)
            now = self.clock.monotonic()
            for g in list(self.groups.values()):
                if g.holder is not None and now - g.last_heard >= self.floor_timeout_s:
                    self._free(g, "silent")

    def snapshot(self) -> dict[str, Any]:
        return {
            "clients": len(self.members),
            "groups": len(self.groups),
            "talking": sum(1 for g in self.groups.values() if g.holder),
            "superseded_users": len(self.superseded),
            "floor_timeout_s": self.floor_timeout_s,
            "errors_suppressed": sum(m.errors_suppressed for m in self.members),
            "counters": dict(sorted(self.stats.items())),
            "floor_requests": dict(sorted(self.floor_requests.items())),
        }


# ------------------------------------------------------------------------ aiohttp
ROUTER: web.AppKey[Router] = web.AppKey("router", Router)


async def media_socket(request: web.Request) -> web.StreamResponse:
    router = request.app[ROUTER]
    if len(router.members) >= router.max_clients:
        router.stats["refused.router_full"] += 1
        return web.json_response({"error": f"the router serves at most {router.max_clients} devices"}, status=503)
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MSG_SIZE, heartbeat=HEARTBEAT_S, compress=False)
    await ws.prepare(request)
    m = Member(ws, request.remote or "?")
    router.members.add(m)
    writer = asyncio.get_running_loop().create_task(m.outbox.run())
    try:
        async for msg in ws:
            if msg.type is WSMsgType.BINARY:
                router.audio(m, msg.data)
            elif msg.type is WSMsgType.TEXT:
                router.control(m, msg.data)
            elif msg.type is WSMsgType.ERROR:
                # aiohttp closed it: too big (1009), bad UTF-8 (1007), a protocol error
                router.stats["closed.ws_error"] += 1
                log.warning("%s: WebSocket closed on an error: %s", m, msg.data)
    finally:
        router.drop(m)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[ROUTER].snapshot())


def make_app(router: Router) -> web.Application:
    app = web.Application(client_max_size=WS_MAX_MSG_SIZE)
    app[ROUTER] = router
    app.router.add_get(PATH, media_socket)
    app.router.add_get(PATH + "/stats", stats)
    app.cleanup_ctx.append(background(ROUTER, Router.sweep_silent_floors))
    app.cleanup_ctx.append(background(ROUTER, Router.sweep_expired_tickets))
    app.on_shutdown.append(_close_devices)
    return app


async def _close_devices(app: web.Application) -> None:
    for m in list(app[ROUTER].members):
        with contextlib.suppress(Exception):
            await m.ws.close(code=WSCloseCode.GOING_AWAY, message=b"router stopping")
