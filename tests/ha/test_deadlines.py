"""The deadlines of the calls between the servers, from the heartbeat settings
(``ha/deadlines.py``): in real seconds, at the time scale of the clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ipics_server.clock import Clock
from ipics_server.core.ha_config import HeartbeatSettings
from ipics_server.ha.deadlines import HEARTBEAT_FLOOR_S, SILENCE_FLOOR_S, UPLOAD_MIN_BYTES_PER_S, Deadlines


def deadlines(
    scale: float, interval_s: int = 15, missed: int = 5, *, missed_now: int = 0, heard_ago_s=None, missing_ago_s=None
):
    """``heard_ago_s``: the partner last answered so long ago (emulated); ``missing_ago_s``:
    the first of the ``missed_now`` misses in a row was sent so long ago (by default
    one interval after that answer: the heartbeats kept their beat)."""
    clock = Clock(scale)
    now = clock.monotonic()
    if missing_ago_s is None and heard_ago_s is not None and missed_now:
        missing_ago_s = heard_ago_s - interval_s
    state = SimpleNamespace(
        clock=clock,
        settings=HeartbeatSettings(3444, interval_s, missed),
        missed_now=missed_now,
        last_heard=None if heard_ago_s is None else now - heard_ago_s,
        missing_since=None if missing_ago_s is None else now - missing_ago_s,
    )
    return Deadlines(state), clock  # type: ignore[arg-type]  # the few fields it reads


@pytest.mark.parametrize(
    ("scale", "interval_s", "expected_s"),
    [(0.02, 15, 0.3), (1.0, 15, 15.0), (0.01, 5, HEARTBEAT_FLOOR_S)],  # the floor: 0.05 s is too short to answer
)
def test_a_heartbeat_answer_is_awaited_until_the_next_one_is_due(scale, interval_s, expected_s):
    d, clock = deadlines(scale, interval_s, heard_ago_s=0)
    assert d.heartbeat_s(clock.monotonic() + interval_s, scheduled=True) == pytest.approx(expected_s, rel=0.01)


def test_the_last_heartbeat_of_the_window_is_awaited_only_until_the_window_closes():
    # 15 s x 5 at 0.02: the window is 1.5 real s. Four missed; the partner last answered
    # 74 emulated s ago: the fifth is awaited 1 emulated s (0.02 real), not an interval.
    d, clock = deadlines(0.02, missed_now=4, heard_ago_s=74)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=True) == pytest.approx(0.03, rel=0.05)  # 0.1 interval
    d, clock = deadlines(0.02, missed_now=4, heard_ago_s=70)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=True) == pytest.approx(0.1, rel=0.05)
    # Not the last one yet, or a kicked one (never counted as missed): the whole interval.
    d, clock = deadlines(0.02, missed_now=3, heard_ago_s=74)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=True) == pytest.approx(0.3, rel=0.01)
    d, clock = deadlines(0.02, missed_now=4, heard_ago_s=74)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=False) == pytest.approx(0.3, rel=0.01)


def test_the_window_runs_while_this_server_listens():
    # The partner last answered long ago, but this server was stopped or paused itself
    # meanwhile: its misses in a row began 45 s ago (4 on the beat would be 60 s), so
    # the window (75 s from one interval before the first) has 15 s to go.
    d, clock = deadlines(0.02, missed_now=4, heard_ago_s=1000, missing_ago_s=45)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=True) == pytest.approx(0.3, rel=0.01)
    # Never heard since it started: the same, from its first miss.
    d, clock = deadlines(0.02, missed_now=4, missing_ago_s=60)
    assert d.heartbeat_s(clock.monotonic() + 15, scheduled=True) == pytest.approx(0.03, rel=0.05)


def test_where_an_interval_is_shorter_than_the_floor_the_last_heartbeat_gets_the_floor_too():
    # 5 s at 0.01 (the test pair): the window cannot be kept; a loaded machine's slow
    # answer must not become a false takeover.
    d, clock = deadlines(0.01, 5, missed_now=4, heard_ago_s=30)
    assert d.heartbeat_s(clock.monotonic() + 5, scheduled=True) == HEARTBEAT_FLOOR_S


def test_other_calls_may_be_silent_for_the_window_and_a_body_gets_time_for_its_size():
    d, _ = deadlines(1.0, 15, 5)
    assert d.silence_s() == 75.0
    assert d.call(0).total_s is None and d.call(0).idle_s == 75.0  # a deadline on progress
    assert d.call(10 * UPLOAD_MIN_BYTES_PER_S).total_s == pytest.approx(85.0)
    d, _ = deadlines(0.01, 5, 5)  # a 0.25 s window: the partner's own work is not scaled
    assert d.silence_s() == SILENCE_FLOOR_S
