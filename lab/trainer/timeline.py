"""The run's timeline: what happened when, for the trainer's plot and its PNG export.

Every source (the monitor, the trainer's actions, the devices, a scenario) adds events
here; the plot subscribes.  Times are kept twice: real seconds, for the trainer's
watch, and emulated seconds of the lab clock, which is what the chapter's durations are
in.  The list is bounded: a lab left running all day must not grow without limit.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ipics_server.clock import Clock

log = logging.getLogger("ipics.trainer")

KINDS = (
    "heartbeat",
    "missed",
    "role",
    "witness",  # a witness's vote granted, refused, handed back or unanswered (witness mode)
    "synchronous",  # synchronous replication's state changing (synchronous mode)
    "client",
    "fault",
    "action",
    "message",
    "narration",
    "expectation",
)


@dataclass(frozen=True)
class Event:
    at: float  #: real seconds since the timeline started
    emulated: float  #: emulated seconds since the timeline started (the lab clock)
    kind: str
    text: str
    server: str | None = None
    #: an expectation's result; a witness's vote granted (False: refused or unanswered);
    #: synchronous replication's new state safe for writes (False: suspended, refusing)
    ok: bool | None = None


class Timeline:
    def __init__(self, clock: Clock, limit: int = 20_000):
        self.clock = clock
        self._real0 = time.monotonic()
        self._emulated0 = clock.monotonic()
        self._events: deque[Event] = deque(maxlen=limit)
        self._listeners: list[Callable[[Event], None]] = []

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    def now(self) -> tuple[float, float]:
        """(real, emulated) seconds since the timeline started: the times of an event now."""
        return round(time.monotonic() - self._real0, 3), round(self.clock.monotonic() - self._emulated0, 3)

    def add(self, kind: str, text: str, server: str | None = None, ok: bool | None = None) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown timeline event kind {kind!r}; one of {', '.join(KINDS)}")
        at, emulated = self.now()
        event = Event(
            at=at,
            emulated=emulated,
            kind=kind,
            text=text,
            server=server,
            ok=ok,
        )
        self._events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not stop the others, nor the lab
                log.exception("a timeline listener failed")
        return event

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def of_kind(self, *kinds: str) -> list[Event]:
        return [e for e in self._events if e.kind in kinds]

    def to_json(self) -> list[dict]:
        return [asdict(e) for e in self._events]
