"""The clock's time scale changes while it runs (the trainer's time-scale control).

The arithmetic is checked on a hand-driven real-time source so equalities are exact;
sleeps and timeouts run on the real event loop.
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from ipics_server import clock as clock_module
from ipics_server.clock import Clock

EPOCH = 1_700_000_000.0


class RealTime:
    """Stands in for the ``time`` module inside ``ipics_server.clock``: moved by hand."""

    def __init__(self, unix: float, mono: float = 5_000.0):
        self.unix, self.mono = unix, mono

    def time(self) -> float:
        return self.unix

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.unix += seconds
        self.mono += seconds


@pytest.fixture
def real(monkeypatch) -> RealTime:
    source = RealTime(EPOCH + 100.0)
    monkeypatch.setattr(clock_module, "time", source)
    return source


# ------------------------------------------------------------------ the arithmetic
def test_a_new_clock_reads_as_before(real: RealTime):
    c = Clock(0.01, EPOCH, offset_s=7.0)
    assert c.now() == EPOCH + 100.0 / 0.01 + 7.0
    assert c.monotonic() == real.mono / 0.01
    assert c.time_scale == 0.01 and c.real_seconds(50) == 0.5
    assert c.anchor() == (EPOCH, EPOCH, 0.01)


def test_now_and_monotonic_do_not_jump_at_a_change(real: RealTime):
    c = Clock(0.01, EPOCH)
    real.advance(3.0)
    before_now, before_mono = c.now(), c.monotonic()
    c.set_time_scale(0.02)
    assert c.now() == pytest.approx(before_now, abs=1e-3)
    assert c.monotonic() == pytest.approx(before_mono, abs=1e-3)
    assert c.time_scale == 0.02
    real.advance(1.0)  # one real second is 50 emulated seconds now, not 100
    assert c.now() - before_now == pytest.approx(50.0, abs=1e-3)
    assert c.monotonic() - before_mono == pytest.approx(50.0, abs=1e-3)
    assert c.real_seconds(50) == pytest.approx(1.0)


def test_a_change_told_ahead_keeps_the_old_scale_until_its_moment(real: RealTime):
    c = Clock(0.01, EPOCH)
    start_now, start_mono = c.now(), c.monotonic()
    c.set_time_scale(0.02, at_real=real.unix + 0.3)
    real.advance(0.1)
    assert c.time_scale == 0.01
    assert c.now() - start_now == pytest.approx(10.0, abs=1e-3)
    assert c.monotonic() - start_mono == pytest.approx(10.0, abs=1e-3)
    real.advance(0.3)  # 0.2 s at the old scale, then 0.1 s at the new one
    assert c.time_scale == 0.02
    assert c.now() - start_now == pytest.approx(30.0 + 5.0, abs=1e-3)
    assert c.monotonic() - start_mono == pytest.approx(30.0 + 5.0, abs=1e-3)


def test_two_clocks_told_the_same_moment_agree_exactly(real: RealTime):
    """Two servers hear of the change at different real times, before and after the
    moment; a third starts later from the anchor (a server powered on)."""
    a, b = Clock(0.01, EPOCH), Clock(0.01, EPOCH)
    at = real.unix + 0.3
    a.set_time_scale(0.02, at_real=at)
    real.advance(0.5)  # b is told late: the moment is past
    b.set_time_scale(0.02, at_real=at)
    anchor_real, anchor_emulated, scale = a.anchor()
    assert (anchor_real, scale) == (at, 0.02)
    restarted = Clock(scale, anchor_real, anchor_emulated=anchor_emulated)
    for _ in range(5):
        real.advance(12.345)
        assert a.now() == b.now() == restarted.now()
    # and they keep agreeing through the next change
    at = real.unix + 0.3
    for c in (a, b, restarted):
        c.set_time_scale(0.01, at_real=at)
    real.advance(7.5)
    assert a.now() == b.now() == restarted.now()


def test_a_later_change_supersedes_one_told_for_after_it(real: RealTime):
    c = Clock(0.01, EPOCH)
    start = c.now()
    c.set_time_scale(0.05, at_real=real.unix + 1.0)
    c.set_time_scale(0.02, at_real=real.unix + 0.5)
    real.advance(2.0)
    assert c.time_scale == 0.02
    assert c.now() - start == pytest.approx(0.5 / 0.01 + 1.5 / 0.02, abs=1e-3)


@pytest.mark.parametrize(
    ("scale", "error"),
    [
        (0, ValueError),
        (-0.5, ValueError),
        (10.0001, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        ("0.5", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_scales_are_refused_and_change_nothing(real: RealTime, scale, error):
    c = Clock(0.01, EPOCH)
    with pytest.raises(error, match="time scale"):
        c.set_time_scale(scale)
    with pytest.raises(error, match="time scale"):
        Clock(scale, EPOCH)
    assert c.time_scale == 0.01 and c.anchor() == (EPOCH, EPOCH, 0.01)


def test_a_moment_that_is_not_a_time_is_refused(real: RealTime):
    c = Clock(0.01, EPOCH)
    for at in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            c.set_time_scale(0.02, at_real=at)
    assert c.time_scale == 0.01


def test_ten_is_the_slowest_scale(real: RealTime):
    c = Clock(0.01, EPOCH)
    assert c.set_time_scale(10) == 10.0 and c.time_scale == 10.0


# ----------------------------------------------------------- waits on a real loop
async def test_a_sleep_under_way_follows_a_faster_scale():
    c = Clock(1.0)
    started = time.monotonic()
    sleeper = asyncio.get_running_loop().create_task(c.sleep(30))  # 30 real seconds at 1.0
    await asyncio.sleep(0)  # the sleep has begun its wait
    c.set_time_scale(0.001)  # what is left: 30 ms
    await asyncio.wait_for(sleeper, 5)
    assert time.monotonic() - started < 5


async def test_a_sleep_under_way_follows_a_slower_scale():
    c = Clock(0.001)
    sleeper = asyncio.get_running_loop().create_task(c.sleep(100))  # 0.1 real s at 0.001
    await asyncio.sleep(0)
    c.set_time_scale(1.0)  # now about 100 real seconds
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(sleeper), 0.5)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper


async def test_a_sleep_counts_a_change_told_for_later():
    """0.05 real s at 0.01 (5 emulated s), then 45 emulated s at 0.0001: about 55 ms,
    not the 0.5 s the old scale alone would take."""
    c = Clock(0.01)
    c.set_time_scale(0.0001, at_real=time.time() + 0.05)
    started = time.monotonic()
    await c.sleep(50)
    elapsed = time.monotonic() - started
    assert 0.04 < elapsed < 0.4


async def test_an_emulated_timeout_follows_a_faster_scale():
    c = Clock(1.0)
    never = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    waiter = asyncio.get_running_loop().create_task(c.wait_for(never, 60))
    await asyncio.sleep(0)
    c.set_time_scale(0.001)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(waiter, 5)
    assert never.cancelled(), "the awaited future is cancelled, as asyncio.wait_for does"
    assert time.monotonic() - started < 5


async def test_an_emulated_timeout_passes_on_time_without_a_change_of_scale():
    """It used to take the deadline (a loop time) for a delay: no timeout ever came
    (the dial engine's key timeout, the heartbeat loop's wait)."""
    c = Clock(0.01)
    never = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(c.wait_for(never, 20), 5)  # 20 emulated s: 0.2 real
    assert 0.15 < time.monotonic() - started < 2


async def test_wait_for_returns_the_result_and_forgets_its_watch():
    c = Clock(0.01)
    assert await c.wait_for(asyncio.sleep(0, result="done"), 10) == "done"
    await c.sleep(0)
    assert not c._listeners, "a finished wait still listens for changes of scale"
    c.set_time_scale(0.02)  # nothing left to wake: no error
