"""The trainer's faults and administrator actions, on a real pair, seen by the monitor.

Each action must reach the servers (their status shows it) and leave its mark on the
timeline; a refused one says why and changes nothing."""

from __future__ import annotations

import json

import pytest

from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.actions import ActionRefused, Actions

DEADLINE_S = 20


@pytest.fixture
async def watched(trainer_lab):
    monitor = trainer_lab.monitor  # the lab's own (it records): one poller on the timeline
    monitor.period_s = 0.05
    await monitor.poll_once()
    monitor.start()
    try:
        yield trainer_lab, Actions(trainer_lab.pair, trainer_lab.timeline), monitor
    finally:
        await monitor.stop()


def texts(lab, kind):
    return [e.text for e in lab.timeline.events if e.kind == kind]


def role(monitor, name):
    return monitor.views[name].role


async def test_the_lab_starts_with_the_demo_and_says_where_it_is(trainer_lab):
    lab = trainer_lab
    data = json.loads((lab.root / "lab.json").read_text())
    assert set(data["servers"]) == {"primary", "secondary"} and data["media"] == lab.router.url
    assert "password" not in json.dumps(data)  # addresses only, never a password
    assert lab.summary["users"]["usernames"] == ["dan", "adam", "ursula", "amy", "fred"]
    st = await lab.pair.status(lab.pair.secondary)
    assert st["role"] == "standby" and st["replication"]["synchronized"]


async def test_power_off_and_on_fail_over_with_no_failback(watched):
    lab, actions, monitor = watched
    await actions.power_off("primary")
    with pytest.raises(ActionRefused, match="already powered off"):
        await actions.power_off("primary")
    await wait_until(lambda: role(monitor, "secondary") == "active", DEADLINE_S, "the secondary to take over")
    assert not monitor.views["primary"].reachable
    assert "primary does not answer" in texts(lab, "role")
    assert "secondary: heartbeat missed (1 in a row, the window is 5)" in texts(lab, "missed")
    await actions.power_on("primary")
    await wait_until(
        lambda: role(monitor, "primary") == "standby" and monitor.views["secondary"].standby_server_status == "Ready",
        DEADLINE_S,
        "the primary back as standby (no failback)",
    )
    assert texts(lab, "fault") == ["primary powered off (kill -9)", "primary powered on"]
    assert any(t.startswith("secondary: standby") for t in texts(lab, "role"))
    assert any(t.startswith("secondary:") and t.endswith("-> active (configured)") for t in texts(lab, "role"))


async def test_crash_tomcat_hands_over_to_the_standby(watched):
    lab, actions, monitor = watched
    await actions.crash_tomcat("primary")
    await wait_until(lambda: role(monitor, "secondary") == "active", DEADLINE_S, "the takeover")
    assert "primary: tomcat crashed" in texts(lab, "fault")


async def test_a_cut_link_shows_in_the_status_and_heals(watched):
    lab, actions, monitor = watched
    with pytest.raises(ActionRefused, match="not 'sideways'"):
        await actions.cut_link("primary", "sideways")
    await actions.cut_link("primary", "outbound")
    await wait_until(lambda: monitor.views["primary"].status["peer_link"]["cut_outbound"], 5, "the cut")
    await actions.heal_link("primary")
    await wait_until(lambda: not monitor.views["primary"].status["peer_link"]["cut_outbound"], 5, "healed")
    assert texts(lab, "fault")[-2:] == [
        "primary: link cut outbound (it no longer reaches its partner)",
        "primary: link healed",
    ]


async def test_a_skewed_clock_shows_as_an_offset(watched):
    _, actions, monitor = watched
    await actions.skew_clock("secondary", 90)
    await wait_until(
        lambda: monitor.views["secondary"].clock_offset_s and abs(monitor.views["secondary"].clock_offset_s - 90) < 5,
        5,
        "the offset",
    )
    assert monitor.views["primary"].clock_offset_s == 0.0


async def test_fill_txlog_needs_the_standby_away_and_then_reaches_the_75_percent_message(watched):
    lab, actions, monitor = watched
    with pytest.raises(ActionRefused, match="not active"):
        await actions.fill_txlog("secondary", 80)
    with pytest.raises(ActionRefused, match="power the standby off or cut the link"):
        await actions.fill_txlog("primary", 80)
    await actions.power_off("secondary")
    seen = []
    await actions.fill_txlog("primary", 80, progress=lambda f, t: seen.append((f, t)))
    await wait_until(lambda: monitor.views["primary"].txlog_percent >= 75, 5, "the gauge past 75 %")
    await wait_until(lambda: any("75" in t for t in texts(lab, "message")), 5, "the 75 % message")
    assert seen and seen[-1][0] == 1.0


async def test_failover_now_reports_progress_until_the_roles_swap(watched):
    lab, actions, monitor = watched
    seen = []
    sentence = await actions.failover_now(progress=lambda f, t: seen.append((f, t)))
    assert sentence == "secondary is active; primary is standby"
    assert role(monitor, "secondary") == "active" or (await lab.pair.status(lab.pair.secondary))["role"] == "active"
    fractions = [f for f, _ in seen if f is not None]
    assert fractions[-1] == 1.0 and any(0 < f < 1 for f in fractions), seen
    assert "Failover Now on primary: secondary is assuming the active role" in texts(lab, "action")


async def test_unconfigure_then_configure(watched):
    lab, actions, monitor = watched
    await actions.unconfigure("primary")
    assert role(monitor, "primary") == "standalone" or (await lab.pair.status(lab.pair.primary))["role"] == "standalone"
    await actions.configure()
    st = await lab.pair.status(lab.pair.primary)
    assert st["role"] == "active" and st["standby_server_status"] == "Ready"


async def test_method_1_from_the_panel_actions_go_standby_repair_rsync(watched):
    lab, actions, monitor = watched
    with pytest.raises(ActionRefused, match="secondary"):  # no split brain: nothing to go standby from
        await actions.go_standby("secondary")
    await actions.cut_link("primary", "both")
    await wait_until(lambda: role(monitor, "secondary") == "active", DEADLINE_S, "both active")
    await actions.heal_link("primary")
    await wait_until(
        lambda: monitor.views["primary"].split_brain and monitor.views["secondary"].split_brain,
        10,
        "the split brain seen by both",
    )
    assert "primary: split brain" in texts(lab, "role")
    await actions.go_standby("secondary")
    assert (await lab.pair.status(lab.pair.secondary))["role"] == "standby"
    seen = []
    assert (
        await actions.repair(progress=lambda f, t: seen.append((f, t)))
        == "REPAIR finished: nothing pending, the standby is Ready"
    )
    assert seen[-1] == (1.0, "repaired")
    sentence = await actions.rsync()
    assert sentence.startswith("ipicsrsync finished")
    assert [t for t in texts(lab, "action") if "started" in t] == [
        "REPAIR started on secondary",
        "ipicsrsync started on the primary",
    ]


async def test_the_time_scale_changes_on_both_servers_and_the_lab_clock_together(watched):
    lab, _, monitor = watched
    await lab.set_time_scale(0.02)
    assert lab.time_scale == 0.02 and json.loads((lab.root / "lab.json").read_text())["time_scale"] == 0.02
    for server in lab.pair.servers:
        assert (await lab.pair.status(server))["time_scale"] == 0.02
    await monitor.poll_once()
    assert monitor.views["primary"].clock_offset_s == 0.0 and monitor.views["secondary"].clock_offset_s == 0.0
    assert "time scale set to 50x faster" in texts(lab, "action")
    assert monitor.views["secondary"].standby_server_status == "Ready"
