"""Emulated time that jumps: the clock of the in-process test tier.

A real server's clock runs at a time scale (``ipics_server.clock.Clock``): a 75 s
failover window at 0.01 takes 0.75 real seconds, and a loaded machine can stretch or
squeeze what happens inside it.  Here emulated time does not run at all while anything
is happening.  It stands still while a request is in flight, a handler runs or a thread
works, and when the event loop has nothing left to do it *jumps* to the next emulated
deadline any clock is waiting for (a heartbeat due, a takeover finishing, ipics_nm
restarting tomcat).  A 180 s takeover then costs the real time of the work in it,
nothing more, and the emulated time at which each thing happens does not depend on how
loaded the machine is.

``Timeline`` is that time, shared by both servers of a pair (and the test);
``EmulatedClock`` is one server's ``Clock`` on it, with its own NTP offset (the lab's
clock-offset fault).  The event loop that decides when the loop is idle is
``ipics_lab.inprocess_loop.EmulatedTimeLoop``; aiohttp's real socket I/O and its
network timeouts keep real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ipics_server.clock import Clock

T = TypeVar("T")

#: real seconds per emulated second that real limits are computed at (``real_seconds``:
#: the heartbeat's network timeout).  No emulated time passes while a request is in
#: flight, so a network timeout only guards against a real hang: as at real time.
REAL_LIMITS_SCALE = 1.0


class Alarm:
    """A callback due at an emulated moment; ``cancel()`` takes it back."""

    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: float, callback: Callable[[], None]):
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timeline:
    """Emulated seconds since the pair was built (``now_s``) and emulated UTC.

    Moves only in ``on_idle``, which the loop calls when nothing is ready, nothing is
    in flight and no thread works: first it wakes whoever waits for the pair to settle
    (``settled``), else it jumps to the earliest alarm and fires every alarm due then.
    """

    def __init__(self, start_utc: float):
        self.start_utc = float(start_utc)
        self.now_s = 0.0
        #: how many times time moved: a waiter for "after the next step" counts on it
        self.jumps = 0
        self._alarms: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._settle: list[tuple[int, asyncio.Future]] = []

    def utc(self) -> float:
        return self.start_utc + self.now_s

    def call_at(self, deadline: float, callback: Callable[[], None]) -> Alarm:
        """Run ``callback`` (on the loop) when emulated time reaches ``deadline``; one
        due already runs at once, without time moving."""
        alarm = Alarm(deadline, callback)
        if deadline <= self.now_s:
            asyncio.get_running_loop().call_soon(self._fire, alarm)
        else:
            heapq.heappush(self._alarms, (deadline, next(self._order), alarm))
        return alarm

    def next_deadline(self) -> float | None:
        while self._alarms and self._alarms[0][2].cancelled:
            heapq.heappop(self._alarms)
        return self._alarms[0][0] if self._alarms else None

    async def settled(self, *, after_step: bool = False) -> None:
        """Return at the next moment the loop is idle, with no emulated time passed; with
        ``after_step``, at the first idle moment after time moved at least once."""
        future = asyncio.get_running_loop().create_future()
        self._settle.append((self.jumps + (1 if after_step else 0), future))
        await future

    def on_idle(self, loop: asyncio.AbstractEventLoop) -> bool:
        """The loop has nothing to do: wake the settled waiters, or jump.  True if
        something was made ready (the loop must not block)."""
        due = [f for needed, f in self._settle if needed <= self.jumps and not f.done()]
        if due:
            self._settle = [(n, f) for n, f in self._settle if n > self.jumps and not f.done()]
            for future in due:
                future.set_result(None)
            return True
        deadline = self.next_deadline()
        if deadline is None:
            return False
        self.now_s = deadline
        self.jumps += 1
        while self._alarms and self._alarms[0][0] <= deadline:
            _, _, alarm = heapq.heappop(self._alarms)
            if not alarm.cancelled:
                loop.call_soon(self._fire, alarm)
        return True

    @staticmethod
    def _fire(alarm: Alarm) -> None:
        if not alarm.cancelled:
            alarm.callback()


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class EmulatedClock(Clock):
    """One server's clock on a ``Timeline``: ``now()`` is the timeline's UTC plus this
    server's offset (``date -s``, the lab's clock-offset fault), ``monotonic()`` the
    timeline's seconds; sleeps and timeouts are alarms on it."""

    def __init__(self, timeline: Timeline):
        super().__init__(REAL_LIMITS_SCALE, epoch=timeline.start_utc)
        self.timeline = timeline

    def __repr__(self) -> str:
        return f"EmulatedClock(now_s={self.timeline.now_s!r}, offset_s={self.offset_s!r})"

    @property
    def time_scale(self) -> float:
        return REAL_LIMITS_SCALE

    def now(self) -> float:
        return self.timeline.utc() + self.offset_s

    def monotonic(self) -> float:
        return self.timeline.now_s

    def real_seconds(self, emulated_s: float) -> float:
        return emulated_s * REAL_LIMITS_SCALE

    def set_time_scale(self, scale: float, at_real: float | None = None) -> float:
        # The trainer's time-scale control means nothing where time jumps.
        raise NotImplementedError("emulated time jumps in the in-process tier: it has no time scale")

    async def sleep(self, emulated_s: float) -> None:
        future = asyncio.get_running_loop().create_future()
        alarm = self.timeline.call_at(self.monotonic() + max(0.0, emulated_s), lambda: _resolve(future))
        try:
            await future
        finally:
            alarm.cancel()

    async def wait_for(self, aw: Awaitable[T], emulated_timeout_s: float | None) -> T:
        if emulated_timeout_s is None:
            return await aw
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(None) as timeout:

            def expire() -> None:
                if not timeout.expired():
                    with contextlib.suppress(RuntimeError):  # left the block meanwhile
                        timeout.reschedule(loop.time())

            alarm = self.timeline.call_at(self.monotonic() + max(0.0, emulated_timeout_s), expire)
            try:
                return await aw
            finally:
                alarm.cancel()
