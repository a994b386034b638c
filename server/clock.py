"""The one clock of a server: emulated seconds, scaled, with an emulated NTP offset.

Every HA duration (heartbeat interval, missed-heartbeat window, 150-180 s takeover,
the 30 s skew rule) is in emulated seconds.  ``time_scale`` is real seconds per
emulated second: at 0.02 a 75 s failover window passes in 1.5 real seconds.

Emulated UTC is a line through an anchor: a real Unix time and the emulated UTC at
that moment, so that two server processes started a moment apart by the lab agree:

    emulated_utc = anchor_emulated + (real_now - anchor_real) / time_scale + offset

At first both anchors are the shared ``epoch``.  The trainer changes the scale while
the servers run (``set_time_scale``): the line is rebased at a real moment ``at`` told
to both servers, so neither clock jumps and both compute the same emulated time after
it (the 30 s skew rule does not trip).  A server started later gets the current
anchor on its command line (``--clock-epoch``, ``--clock-anchor-emulated``).

HA code never calls ``time.time()`` or ``asyncio.sleep()`` directly; it asks this.
Sleeps and timeouts follow a change of scale at once, not at their next wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: real seconds per emulated second, the bounds every entry point checks
MIN_EXCLUSIVE_TIME_SCALE = 0.0
MAX_TIME_SCALE = 10.0


def check_time_scale(scale: object) -> float:
    """The scale as a float, or TypeError / ValueError saying what is allowed."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"time scale must be a number, not {type(scale).__name__}")
    value = float(scale)
    if not math.isfinite(value) or not MIN_EXCLUSIVE_TIME_SCALE < value <= MAX_TIME_SCALE:
        raise ValueError(
            f"time scale must be greater than 0 and at most {MAX_TIME_SCALE:g} "
            f"(real seconds per emulated second), not {scale!r}"
        )
    return value


@dataclass(frozen=True)
class _Rate:
    """One scale, in force from a real moment on: for ``now()`` from the Unix time
    ``real`` (when emulated UTC was ``emulated``), for ``monotonic()`` from the
    ``time.monotonic()`` value ``mono_real`` (when it read ``mono_emulated``)."""

    real: float
    emulated: float
    mono_real: float
    mono_emulated: float
    scale: float


class Clock:
    """Emulated UTC and emulated monotonic seconds at a changeable time scale.

    ``Clock(time_scale, epoch, offset_s, anchor_emulated)``: without ``anchor_emulated``
    the clock is anchored on ``epoch`` (emulated UTC equals real UTC at the epoch).
    """

    def __init__(
        self,
        time_scale: float = 1.0,
        epoch: float | None = None,
        offset_s: float = 0.0,
        anchor_emulated: float | None = None,
    ):
        scale = check_time_scale(time_scale)
        self.epoch = time.time() if epoch is None else float(epoch)
        #: emulated seconds added by NTP settings or ``date -s`` (the lab's clock offset)
        self.offset_s = offset_s
        emulated = self.epoch if anchor_emulated is None else float(anchor_emulated)
        # monotonic() starts as time.monotonic() / scale, as it always has
        self._rates: list[_Rate] = [_Rate(self.epoch, emulated, 0.0, 0.0, scale)]
        self._listeners: set[tuple[asyncio.AbstractEventLoop, Callable[[], object]]] = set()
        self.__post_init__()

    def __post_init__(self) -> None:
        """Hook for subclasses (the clock used to be a dataclass)."""

    def __repr__(self) -> str:
        return f"Clock(time_scale={self.time_scale!r}, offset_s={self.offset_s!r})"

    # ---------------------------------------------------------------- reading it
    @property
    def time_scale(self) -> float:
        """The scale in force now (a change told for a later moment is not yet)."""
        return self._rate_at_real(time.time()).scale

    def anchor(self) -> tuple[float, float, float]:
        """``(anchor_real, anchor_emulated, time_scale)`` of the latest change: what a
        server started later needs to compute the same emulated time."""
        r = self._rates[-1]
        return r.real, r.emulated, r.scale

    def now(self) -> float:
        """Emulated UTC, in seconds since the Unix epoch."""
        return self._emulated_at(time.time()) + self.offset_s

    def monotonic(self) -> float:
        """Emulated seconds on a monotonic scale, for measuring durations."""
        return self._mono_at(time.monotonic())

    def real_seconds(self, emulated_s: float) -> float:
        return emulated_s * self.time_scale

    # ------------------------------------------------------------- changing it
    def set_time_scale(self, scale: float, at_real: float | None = None) -> float:
        """Run at ``scale`` from the real Unix time ``at_real`` on (default: now).

        Up to ``at_real`` the clock keeps its old scale, from then on the new one, so
        ``now()`` and ``monotonic()`` do not jump.  Two clocks with the same line told
        the same ``at_real`` compute the same emulated time afterwards.  A moment in
        the past is applied as of that moment for ``now()`` (the emulated time since
        then is recounted at the new scale: a small step, the same on every clock told
        it) and from now on for ``monotonic()``, which never steps.  Returns the scale.
        """
        scale = check_time_scale(scale)
        real_now, mono_now = time.time(), time.monotonic()
        at = real_now if at_real is None else float(at_real)
        if not math.isfinite(at):
            raise ValueError(f"the moment of a time scale change must be a finite Unix time, not {at_real!r}")
        # Anchors from the line as it stands, before any later change is dropped.
        emulated_at = self._emulated_at(at)
        mono_real_at = mono_now + max(0.0, at - real_now)
        mono_emulated_at = self._mono_at(mono_real_at)
        # A change told for a later moment than this one is superseded by it.
        rates = [r for r in self._rates if r.real < at and r.mono_real < mono_real_at]
        # Only the rate in force now is needed from the past.
        while len(rates) > 1 and rates[1].real <= real_now and rates[1].mono_real <= mono_now:
            rates.pop(0)
        rates.append(_Rate(at, emulated_at, mono_real_at, mono_emulated_at, scale))
        self._rates = rates
        self._wake_sleepers()
        return scale

    # ----------------------------------------------------------------- waiting
    async def sleep(self, emulated_s: float) -> None:
        """Sleep ``emulated_s`` emulated seconds, at whatever scale is in force meanwhile."""
        deadline = self.monotonic() + max(0.0, emulated_s)
        while await self._nap(self._real_delay_until(deadline)):
            pass  # the scale changed: the same emulated deadline, a new real delay

    async def wait_for(self, aw, emulated_timeout_s: float | None):
        """``asyncio.wait_for`` with an emulated timeout (``TimeoutError`` when it passes);
        a change of scale moves the real deadline."""
        if emulated_timeout_s is None:
            return await aw
        loop = asyncio.get_running_loop()
        deadline = self.monotonic() + max(0.0, emulated_timeout_s)

        def real_deadline() -> float:
            return loop.time() + self._real_delay_until(deadline)

        async with asyncio.timeout_at(real_deadline()) as timeout:

            def rescaled() -> None:
                if not timeout.expired():
                    with contextlib.suppress(RuntimeError):  # left the block meanwhile
                        timeout.reschedule(real_deadline())

            with self._on_rescale(loop, rescaled):
                return await aw

    async def _nap(self, real_s: float) -> bool:
        """Wait ``real_s`` real seconds; True if a change of scale cut it short."""
        loop = asyncio.get_running_loop()
        woken = loop.create_future()
        timer = loop.call_later(real_s, _resolve, woken, False)
        try:
            with self._on_rescale(loop, lambda: _resolve(woken, True)):
                return await woken
        finally:
            timer.cancel()

    @contextlib.contextmanager
    def _on_rescale(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> Iterator[None]:
        """Run ``callback`` on ``loop`` at each change of scale while inside the block."""
        entry = (loop, callback)
        self._listeners.add(entry)
        try:
            yield
        finally:
            self._listeners.discard(entry)

    def _wake_sleepers(self) -> None:
        for loop, callback in list(self._listeners):
            # The clock may be changed from another thread than the sleeper's loop.
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(callback)

    def _real_delay_until(self, mono_deadline: float) -> float:
        """Real seconds from now until ``monotonic()`` reads ``mono_deadline``, through
        any change already told for a later moment."""
        mono_now = time.monotonic()
        rates = self._rates
        i = len(rates) - 1
        while i > 0 and rates[i].mono_real > mono_now:
            i -= 1
        start_real, start_emulated = mono_now, self._mono_at(mono_now)
        while i + 1 < len(rates) and mono_deadline >= rates[i + 1].mono_emulated:
            i += 1
            start_real, start_emulated = rates[i].mono_real, rates[i].mono_emulated
        return max(0.0, start_real + (mono_deadline - start_emulated) * rates[i].scale - mono_now)

    # ------------------------------------------------------------------- the line
    def _rate_at_real(self, real: float) -> _Rate:
        for r in reversed(self._rates):
            if r.real <= real:
                return r
        return self._rates[0]

    def _emulated_at(self, real: float) -> float:
        r = self._rate_at_real(real)
        return r.emulated + (real - r.real) / r.scale

    def _mono_at(self, mono_real: float) -> float:
        r = self._rates[0]
        for candidate in reversed(self._rates):
            if candidate.mono_real <= mono_real:
                r = candidate
                break
        return r.mono_emulated + (mono_real - r.mono_real) / r.scale


def _resolve(future: asyncio.Future, value: bool) -> None:
    if not future.done():
        future.set_result(value)
