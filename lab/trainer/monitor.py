"""What the trainer panel shows of each server, and the timeline events of its changes.

It polls ``GET /api/v1/ha/status`` of both servers (the same document the scripts and
``service ipics ha-status`` use) and turns it into a ``ServerView`` per server.  The
differences between two polls become timeline events: heartbeats sent, heartbeats
missed, a role or HA state changing (a step down by self-demotion said so), a split
brain starting or ending, a server going silent or answering again, a new message; in
the modes beyond IPICS, synchronous replication's state changing and each of the
witness's votes (granted, refused, handed back, unanswered) as the server recorded it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ipics_lab.trainer.timeline import Timeline
from ipics_server.adapters.httpclient import ApiClient, Unreachable
from ipics_server.clock import Clock
from ipics_server.modes_text import SYNCHRONOUS_STATE_WORDS, vote_outcome

log = logging.getLogger("ipics.trainer")

#: what the server's message says when the active stepped down (core.roles, STEP_DOWN)
SELF_DEMOTION = "fencing by self-demotion"
#: the timeline event's ``ok`` for a vote's outcome and a synchronous state (None: neither)
VOTE_OK = {"granted": True, "refused": False, "unanswered": False}
SAFE_FOR_WRITES = {"synchronous": True, "suspended": False, "refusing": False}
#: a clock offset below this (emulated seconds) is the poll's own round trip, not a skew
OFFSET_NOISE_S = 1.0


class WatchedServer(Protocol):
    """A server the monitor polls: one this lab started, or one it attached to."""

    name: str

    @property
    def url(self) -> str: ...
    @property
    def port(self) -> int | None: ...
    def client(self, token: str | None = None) -> ApiClient: ...


class WatchedPair(Protocol):
    @property
    def servers(self) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class ServerView:
    name: str
    url: str
    reachable: bool
    role: str | None = None
    ha: str | None = None
    standby_server_status: str | None = None
    heartbeats_sent: int = 0
    heartbeats_missed: int = 0
    missed_now: int = 0
    missed_count: int = 0
    txlog_percent: float = 0.0
    txlog_state: str | None = None
    clock_offset_s: float | None = None
    split_brain: bool = False
    services: dict[str, str] = field(default_factory=dict)
    last_log: str = ""
    messages: list[str] = field(default_factory=list)
    transition: dict | None = None
    status: dict = field(default_factory=dict)


def view_of(server: WatchedServer, status: dict | None, asked: tuple[float, float]) -> ServerView:
    """``asked``: the lab clock's emulated time when the status was asked for and when
    it came back.  The server's time is compared with the middle of that window, and a
    difference within half of it is the round trip, not a skew: at 100x faster a 50 ms
    answer is 5 emulated seconds."""
    if not status:
        return ServerView(server.name, server.url, reachable=False)
    hb = status.get("heartbeat") or {}
    rep = status.get("replication") or {}
    sent, received = asked
    offset = status["time"] - (sent + received) / 2 if isinstance(status.get("time"), int | float) else None
    if offset is not None and abs(offset) <= (received - sent) / 2 + OFFSET_NOISE_S:
        offset = 0.0
    return ServerView(
        name=server.name,
        url=server.url,
        reachable=True,
        role=status.get("role"),
        ha=status.get("ha"),
        standby_server_status=status.get("standby_server_status"),
        heartbeats_sent=int(hb.get("sent", 0)),
        heartbeats_missed=int(hb.get("missed_total", 0)),
        missed_now=int(hb.get("missed_now", 0)),
        missed_count=int(hb.get("missed_count", 0)),
        txlog_percent=float(rep.get("transaction_log_used_percent", 0.0)),
        txlog_state=rep.get("transaction_log_state"),
        clock_offset_s=None if offset is None else round(offset, 1),
        split_brain=bool(status.get("split_brain")),
        services=dict(status.get("services") or {}),
        last_log=status.get("decision") or "",
        messages=[_text(m) for m in status.get("messages") or []],
        transition=status.get("transition"),
        status=status,
    )


def _text(message) -> str:
    if isinstance(message, dict):
        return str(message.get("text") or message.get("message") or message)
    return str(message)


class Monitor:
    def __init__(self, pair: WatchedPair, timeline: Timeline, clock: Clock, period_s: float = 0.2):
        self.pair, self.timeline, self.clock, self.period_s = pair, timeline, clock, period_s
        self.views: dict[str, ServerView] = {s.name: ServerView(s.name, s.url, reachable=False) for s in pair.servers}
        self._seen_messages: dict[str, set[str]] = {s.name: set() for s in pair.servers}
        self._seen_votes: dict[str, set[str]] = {s.name: set() for s in pair.servers}
        self._polled_once = False
        self._listeners: list[Callable[[dict[str, ServerView]], None]] = []
        self._task: asyncio.Task | None = None

    def subscribe(self, callback: Callable[[dict[str, ServerView]], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    async def poll_once(self) -> dict[str, ServerView]:
        answers = await asyncio.gather(*(self._status(s) for s in self.pair.servers))
        views = {s.name: view_of(s, st, asked) for s, (st, asked) in zip(self.pair.servers, answers, strict=True)}
        for name, view in views.items():
            self._record_changes(self.views[name], view)
        self.views = views
        self._polled_once = True
        for listener in list(self._listeners):
            try:
                listener(views)
            except Exception:  # a broken view must not stop the monitor
                log.exception("a monitor listener failed")
        return views

    async def _status(self, server: WatchedServer) -> tuple[dict | None, tuple[float, float]]:
        sent = self.clock.now()
        if server.port is None:
            return None, (sent, sent)
        try:
            async with server.client() as c:
                reply = await c.get("/api/v1/ha/status", timeout_s=max(0.5, 2 * self.period_s))
        except (Unreachable, TimeoutError, OSError):
            return None, (sent, sent)
        body = reply.body if reply.ok and isinstance(reply.body, dict) else None
        return body, (sent, self.clock.now())

    def _record_changes(self, old: ServerView, new: ServerView) -> None:
        add, name = self.timeline.add, new.name
        if not self._polled_once:  # the first look is the baseline, not a change
            self._seen_messages[name] = set(_message_keys(new))
            self._seen_votes[name] = set(_vote_keys(new))
            return
        if old.reachable != new.reachable:
            add("role", f"{name} answers again" if new.reachable else f"{name} does not answer", name)
        if not new.reachable:
            return
        if old.reachable and new.heartbeats_sent > old.heartbeats_sent:
            n = new.heartbeats_sent - old.heartbeats_sent
            add("heartbeat", f"{name}: {n} heartbeat{'s' if n > 1 else ''} sent", name)
        # One event per missed heartbeat, even when several were missed between two polls.
        missed = new.heartbeats_missed - old.heartbeats_missed if old.reachable else new.missed_now - old.missed_now
        for i in range(max(0, missed)):
            in_a_row = new.missed_now - missed + 1 + i
            add(
                "missed",
                f"{name}: heartbeat missed ({in_a_row} in a row, the window is {new.missed_count})"
                if in_a_row > 0
                else f"{name}: heartbeat missed",
                name,
            )
        if old.reachable and (old.role, old.ha) != (new.role, new.ha):
            fenced = any(SELF_DEMOTION in text for text in self._new_messages(name, new).values())
            add("role", f"{name}: {_role(old)} -> {_role(new)}" + (" self-demoted" if fenced else ""), name)
        self._record_modes(old, new)
        if new.split_brain != old.split_brain and old.reachable:
            add("role", f"{name}: split brain" if new.split_brain else f"{name}: split brain over", name)
        for key, text in self._new_messages(name, new).items():
            self._seen_messages[name].add(key)
            add("message", f"{name}: {text}", name)

    def _new_messages(self, name: str, view: ServerView) -> dict[str, str]:
        return {k: t for k, t in _message_keys(view).items() if k not in self._seen_messages[name]}

    def _record_modes(self, old: ServerView, new: ServerView) -> None:
        """Synchronous replication's state changing, and the witness's votes this server
        recorded since the last poll (the status keeps the last 20, newest last)."""
        add, name = self.timeline.add, new.name
        was, now = _synchronous_state(old), _synchronous_state(new)
        if old.reachable and was is not None and now is not None and was != now:
            add(
                "synchronous",
                f"{name}: synchronous replication {was} -> {now} ({SYNCHRONOUS_STATE_WORDS[now]})",
                name,
                ok=SAFE_FOR_WRITES.get(now),
            )
        for key, vote in _vote_keys(new).items():
            if key not in self._seen_votes[name]:
                self._seen_votes[name].add(key)
                outcome = vote_outcome(vote)
                add("witness", witness_event_text(name, vote), name, ok=VOTE_OK.get(outcome))

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.poll_once()
            except Exception:  # keep watching: the panel must not go blank on one bad poll
                log.exception("monitor poll failed")
            await _sleep_on(loop, self.period_s)  # real seconds: the trainer's refresh rate

    def cancel(self) -> None:
        """Stop polling from synchronous code (``stop`` waits for the poll to end)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def _sleep_on(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    """``asyncio.sleep`` on a given loop.  ``asyncio.sleep`` asks for the running loop,
    and under Qt a nested ``processEvents`` (pytest-qt does it between a test's phases)
    runs the loop's timers with none set: the monitor's task died of that."""
    done: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    handle = loop.call_later(seconds, wake)
    try:
        await done
    finally:
        handle.cancel()


def _message_keys(view: ServerView) -> dict[str, str]:
    """A message is new by its time and text: the same warning may come back later."""
    return {
        f"{m.get('at')}|{_text(m)}" if isinstance(m, dict) else _text(m): _text(m)
        for m in view.status.get("messages") or []
    }


def witness_event_text(server: str, vote: dict) -> str:
    """``secondary: witness vote granted: the witness votes for the secondary (asked
    because ...)``: the outcome first, for the plot's marker and its tooltip."""
    why = vote.get("asked_because")
    return f"{server}: witness vote {vote_outcome(vote)}: {vote.get('reason')}" + (
        f" (asked because {why})" if why and why != "role change" else ""
    )


def _vote_keys(view: ServerView) -> dict[str, dict]:
    """A vote is new by its time and answer."""
    witness = view.status.get("witness") or {}
    return {f"{v.get('at')}|{v.get('reason')}": v for v in witness.get("votes") or [] if isinstance(v, dict)}


def _synchronous_state(view: ServerView) -> str | None:
    sync = view.status.get("synchronous") if view.reachable else None
    state = sync.get("state") if isinstance(sync, dict) else None
    return state if state in SYNCHRONOUS_STATE_WORDS else None


def _role(view: ServerView) -> str:
    return f"{view.role or '?'} ({view.ha or '?'})"
