"""``ScenarioRunner`` in-process on a real ``TrainerLab``, as the trainer panel uses it:
steps reported as they start and end, the timeline fed, cancel stops the run where it
is, and every console is closed whatever happens."""

from __future__ import annotations

import asyncio

import pytest

from ipics_clients.session import State
from ipics_lab.scenario import ScenarioRunner, parse_scenario
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.lab import TrainerLab

from .conftest import TIME_SCALE

SCENARIO = """
title = "A long pause"
description = "Two consoles, then a wait the trainer cancels."

[[step]]
say = "Dan logs in."
do = "login"
user = "dan"
server = "primary"
expect = { client = "dan", state = "online", on = "primary" }

[[step]]
say = "Adam too, and Dan talks to him."
do = "login"
user = "adam"
server = "selected"
expect = { server = "primary", role = "active" }

[[step]]
say = "A long quiet night."
do = "wait"
duration = "10h"

[[step]]
say = "Never reached."
expect = { server = "primary", role = "active" }
"""


@pytest.fixture
async def lab(tmp_path):
    lab = TrainerLab(tmp_path / "lab", time_scale=TIME_SCALE)
    try:
        await lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.mark.pair
async def test_cancel_stops_the_run_and_closes_every_console(lab):
    seen: list[tuple[int, bool | None]] = []
    runner = ScenarioRunner(
        lab,
        parse_scenario(SCENARIO, name="night", where="night.toml"),
        on_step=lambda sr: seen.append((sr.index, sr.passed)),
    )
    run = asyncio.ensure_future(runner.run())
    await wait_until(lambda: (3, None) in seen, 60, "the wait to start")
    assert seen == [(1, None), (1, True), (2, None), (2, True), (3, None)]
    consoles = list(runner.clients.values())
    assert [c.user for c in consoles] == ["dan", "adam"]
    assert all(c.session.state == State.ONLINE for c in consoles)

    runner.cancel()
    report = await asyncio.wait_for(run, 30)
    assert report.cancelled and not report.passed and report.error == "cancelled by the trainer"
    assert [s.status_word() for s in report.steps] == ["ok", "ok", "running", "not run"]
    assert report.steps[2].details == ["cancelled while it ran"]
    assert report.lines()[-1] == "CANCELLED (2 of 4 steps passed): cancelled by the trainer"
    assert "  step  3 stopped A long quiet night." in report.lines()
    # Every console logged out, its push-to-talk connection closed.
    assert all(c.session.state == State.LOGGED_OUT and c.floor.client is None for c in consoles)

    events = lab.timeline.events
    narration = [e.text for e in events if e.kind == "narration"]
    assert narration[:4] == [
        "scenario night: A long pause",
        "Dan logs in.",
        "Adam too, and Dan talks to him.",
        "A long quiet night.",
    ]
    assert narration[-1] == "scenario night cancelled"
    assert [e.text for e in events if e.kind == "client"][:4] == [
        "dan: online on the primary",
        "dan chose the primary in the selector and is online on the primary",
        "adam: online on the primary",
        "adam chose the primary (selected) in the selector and is online on the primary",
    ]
    checked = [e for e in events if e.kind == "expectation"]
    assert [(e.text, e.ok, e.server) for e in checked] == [
        ("dan: state online, on the primary: ok", True, None),
        ("primary: role active: ok", True, "primary"),
    ]

    with pytest.raises(RuntimeError, match="runs once"):
        await runner.run()


QUIET = """
title = "Ten quiet minutes"
description = "A wait the trainer speeds up."

[[step]]
say = "Nothing happens for ten minutes."
do = "wait"
duration = "10min"

[[step]]
say = "Still the same pair."
expect = { server = "primary", role = "active" }
"""


@pytest.mark.pair
async def test_a_wait_follows_the_time_scale_the_trainer_sets_meanwhile(lab):
    """Ten emulated minutes at 0.1 would take a real minute; the trainer switches to
    0.01 as soon as the wait has begun, and it passes 10x faster."""
    await lab.set_time_scale(0.1)
    seen: list[tuple[int, bool | None]] = []
    runner = ScenarioRunner(
        lab,
        parse_scenario(QUIET, name="quiet", where="quiet.toml"),
        on_step=lambda sr: seen.append((sr.index, sr.passed)),
    )
    run = asyncio.ensure_future(runner.run())
    await wait_until(lambda: (1, None) in seen, 30, "the wait to start")
    await lab.set_time_scale(TIME_SCALE)
    report = await asyncio.wait_for(run, 15)  # 600 s at 0.01: 6 real seconds
    assert report.passed, report.lines()
    assert report.steps[0].details == ["waited 10 min"]
