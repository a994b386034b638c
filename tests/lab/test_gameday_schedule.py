"""A game day's schedule: the same seed gives the same faults at the same times, at a
human pace, drawn from the catalogue of the lab's topology and modes."""

from __future__ import annotations

import pytest

from ipics_lab.gameday.schedule import FAULTS, HEALS, SITES_FAULTS, catalogue, make_gameday
from ipics_lab.modes import LabModes
from ipics_lab.scenario.model import ACTIONS

HALF_HOUR = 1800.0


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    first = make_gameday(7, HALF_HOUR)
    assert first == make_gameday(7, HALF_HOUR)
    assert [f.to_json() for f in first] == [f.to_json() for f in make_gameday(7, HALF_HOUR)]
    others = [make_gameday(seed, HALF_HOUR) for seed in range(8, 18)]
    assert any(o != first for o in others)


@pytest.mark.parametrize("seed", range(40))
def test_a_half_hour_day_has_two_to_six_faults_minutes_apart_with_time_left_to_respond(seed):
    day = make_gameday(seed, HALF_HOUR)
    assert 2 <= len(day) <= 6
    times = [f.at_s for f in day]
    assert times == sorted(times) and [f.index for f in day] == list(range(1, len(day) + 1))
    assert times[0] >= 120  # the team settles in
    assert times[-1] <= HALF_HOUR - 300  # and has five minutes for the last one
    assert all(b - a >= 119.9 for a, b in zip(times, times[1:], strict=False))


def test_faults_are_the_trainers_actions_and_heal_by_themselves_or_wait_for_the_team():
    day = [f for seed in range(60) for f in make_gameday(seed, HALF_HOUR)]
    assert {f.fault for f in day} == set(FAULTS)
    for f in day:
        params = ACTIONS[f.fault][1]
        # the parameters the trainer's action takes (fill-txlog's "active" is resolved when it comes)
        assert set(f.params) <= set(params), f
        if f.heals_after_s is not None:
            assert 120 <= f.heals_after_s <= 600 and f.heal == HEALS[f.fault] and f.heal in ACTIONS
    by_kind = {kind: {f.heals_after_s is None for f in day if f.fault == kind} for kind in FAULTS}
    # a WAN link mends itself (the team cannot); a skewed clock and a full log wait for
    # the team; tomcat is restarted by ipics_nm; a power cut ends, or waits for someone
    assert by_kind == {
        "cut-link": {False},
        "skew-clock": {True},
        "fill-txlog": {True},
        "crash-tomcat": {True},
        "power-off": {True, False},
    }
    skews = [abs(f.params["seconds"]) for f in day if f.fault == "skew-clock"]
    assert min(skews) > 30  # past the chapter's 30 s rule, or the team would see nothing
    assert {f.params["direction"] for f in day if f.fault == "cut-link"} == {"both", "outbound", "inbound"}


def test_the_sites_topology_adds_its_kernel_faults_and_strict_synchronous_fills_no_log():
    assert set(catalogue("sites")) == set(SITES_FAULTS) > set(FAULTS)
    sites_day = [f for seed in range(60) for f in make_gameday(seed, HALF_HOUR, "sites")]
    assert {"packet-loss", "isolate-clients"} <= {f.fault for f in sites_day}
    strict = LabModes.parse("synchronous-strict")
    assert "fill-txlog" not in catalogue("loopback", strict)
    assert all(f.fault != "fill-txlog" for seed in range(60) for f in make_gameday(seed, HALF_HOUR, modes=strict))
    assert "fill-txlog" in catalogue("loopback", LabModes.parse("synchronous-fallback"))


def test_a_longer_day_has_more_faults_and_the_count_can_be_given():
    hours = [len(make_gameday(seed, 4 * 3600)) for seed in range(20)]
    assert min(hours) >= 16 and max(hours) <= 48
    day = make_gameday(3, 600, faults=3)
    assert len(day) == 3
    assert day[0].at_s >= 60 and day[-1].at_s <= 600 - 120


@pytest.mark.parametrize(
    ("duration", "faults", "why"),
    [
        (120, None, "at least 5 min"),
        (float("nan"), None, "at least 5 min"),
        (float("inf"), None, "at least 5 min"),
        (HALF_HOUR, 0, "1 to 50 faults"),
        (HALF_HOUR, 51, "1 to 50 faults"),
        (300, 40, "do not fit"),
    ],
)
def test_a_day_that_cannot_be_made_is_refused_in_words(duration, faults, why):
    with pytest.raises(ValueError, match=why):
        make_gameday(1, duration, faults=faults)
