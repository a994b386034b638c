"""The trainer's time-scale control on a real pair, and the heartbeat counters.

``LabPair.set_time_scale`` tells both servers the same real moment: their emulated
clocks switch together, so the 30 s clock-skew rule never trips, the standby stays
Ready, and a server started later (power on) computes the same emulated time.
"""

from __future__ import annotations

import secrets
import time

import pytest

from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.supervisor import (
    PRIMARY_HOST,
    LabPair,
    ServerProcess,
    free_port_on,
    wait_until,
)
from ipics_lab.trainer.actions import ActionRefused, Actions
from ipics_lab.trainer.attached import AttachedLab

from .conftest import INTERVAL_S, MISSED, TIME_SCALE

SLOWER = 0.02
#: real seconds a takeover may take at SLOWER: window + 300 s worst case, plus slack
SLOWER_TAKEOVER_DEADLINE_S = (INTERVAL_S * MISSED + 300) * SLOWER + 10
#: emulated seconds a server's time may be from the lab clock (so from its partner's)
AGREE_S = 0.5


async def in_step(pair: LabPair, server: ServerProcess) -> dict:
    """The server's status, checked against the pair's clock read just before and just
    after it: the server's emulated time must lie between the two readings."""
    before = pair.clock.now()
    st = await pair.status(server)
    after = pair.clock.now()
    assert before - AGREE_S <= st["time"] <= after + AGREE_S, (
        f"{server.name}'s emulated time is {st['time'] - after:+.1f} s from the lab clock "
        f"(scale {st['time_scale']}, lab {pair.clock.time_scale})"
    )
    return st


def no_clock_trouble(st: dict) -> None:
    clock_messages = [m["text"] for m in st["messages"] if "clock" in m["text"]]
    assert clock_messages == [], clock_messages
    assert st["clock_skew_s"] is None or abs(st["clock_skew_s"]) <= 30, st["clock_skew_s"]
    assert not st["split_brain"]


async def steady_for_heartbeats(pair: LabPair, count: int = 3) -> None:
    """Watch both servers until the standby has sent ``count`` more heartbeats: the
    standby Ready, both in step with the lab clock, no clock trouble, at every poll."""
    first = (await pair.status(pair.secondary))["heartbeat"]["sent"]

    async def enough():
        p, s = await in_step(pair, pair.primary), await in_step(pair, pair.secondary)
        for st in (p, s):
            no_clock_trouble(st)
        assert p["role"] == "active" and s["role"] == "standby", (p["role"], s["role"])
        assert p["standby_server_status"] == "Ready" and s["standby_server_status"] == "Ready"
        return s["heartbeat"]["sent"] >= first + count

    await wait_until(enough, 30, f"{count} more heartbeats from the standby")


async def test_changing_the_scale_keeps_the_pair_in_step(pair):
    assert pair.clock.time_scale == TIME_SCALE
    await steady_for_heartbeats(pair)
    for scale in (SLOWER, TIME_SCALE):
        at = await pair.set_time_scale(scale)
        assert at <= time.time() and pair.time_scale == scale == pair.clock.time_scale
        for server in pair.servers:
            assert (await in_step(pair, server))["time_scale"] == scale
        await steady_for_heartbeats(pair)


async def test_the_standby_behind_a_cut_link_is_told_too(pair):
    reply = await pair.fault(pair.secondary, fault="cut-link", direction="both")
    assert reply.ok, reply.body
    await pair.set_time_scale(SLOWER)
    for server in pair.servers:
        st = await in_step(pair, server)
        assert st["time_scale"] == SLOWER


async def test_a_kill_after_a_change_is_taken_over_at_the_new_speed(pair):
    await pair.set_time_scale(SLOWER)
    await steady_for_heartbeats(pair, 1)
    pair.primary.kill()

    began = await pair.wait_status(pair.secondary, 10, role="transitioning")
    began_real = time.monotonic()
    assert began["time_scale"] == SLOWER
    assert began["transition"]["remaining_s"] <= 180
    active = await pair.wait_status(pair.secondary, SLOWER_TAKEOVER_DEADLINE_S, role="active")
    real = time.monotonic() - began_real
    # 150-180 emulated seconds on the server's own clock, polling slack aside ...
    assert 140 <= active["time"] - began["time"] <= 200, active["time"] - began["time"]
    # ... and in real time at the new scale: at the old one it would be over in under 1.9 s.
    assert 140 <= real / SLOWER <= 200, real

    # The old active, powered on, starts on the same emulated time and rejoins as standby.
    await pair.primary.power_on()
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    await pair.wait_status(pair.secondary, 30, role="active", standby_server_status="Ready")
    for server in pair.servers:
        st = await in_step(pair, server)
        no_clock_trouble(st)
        assert st["time_scale"] == SLOWER


async def test_a_server_powered_off_during_a_change_takes_it_at_power_on(pair):
    pair.secondary.kill()
    await pair.set_time_scale(SLOWER)  # the secondary is off: only the primary is told
    assert (await in_step(pair, pair.primary))["time_scale"] == SLOWER

    await pair.secondary.power_on()
    st = await in_step(pair, pair.secondary)
    assert st["time_scale"] == SLOWER
    await pair.wait_status(pair.primary, 30, role="active", standby_server_status="Ready")
    await steady_for_heartbeats(pair)


async def test_heartbeat_counters_grow_and_count_each_miss_once(pair):
    first = (await pair.status(pair.primary))["heartbeat"]
    assert first["sent"] > 0 and first["missed_total"] >= 0

    async def sent_more():
        hb = (await pair.status(pair.primary))["heartbeat"]
        return hb if hb["sent"] >= first["sent"] + 3 else None

    grown = await wait_until(sent_more, 10, "the primary to send 3 more heartbeats")
    assert grown["missed_total"] == first["missed_total"] and grown["missed_now"] == 0

    pair.secondary.kill()

    async def missing():
        hb = (await pair.status(pair.primary))["heartbeat"]
        # every miss since the kill is counted once: the total grew by exactly missed_now
        assert hb["missed_total"] == first["missed_total"] + hb["missed_now"], hb
        return hb if hb["missed_now"] >= MISSED + 2 else None

    hb = await wait_until(missing, 10, "the primary to miss the secondary's heartbeats")
    assert hb["sent"] > grown["sent"], "heartbeats are still sent to a partner that does not answer"


@pytest.mark.pair
async def test_a_server_not_started_by_the_lab_refuses_the_control(tmp_path):
    password = "adm-" + secrets.token_urlsafe(12)
    server = ServerProcess(
        "primary",
        tmp_path / "primary" / "data",
        PRIMARY_HOST,
        heartbeat_port=free_port_on(PRIMARY_HOST),
        admin_password=password,
        time_scale=TIME_SCALE,
        clock_epoch=time.time(),
        lab_faults=False,
        licenses=[sample_licenses_dir() / n for n in ("base.lic", "policy.lic")],
    )
    try:
        await server.start()
        async with server.client() as c:
            token = (await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": password}))["token"]
        async with server.client(token) as c:
            reply = await c.put("/api/v1/lab/time-scale", {"time_scale": SLOWER})
            assert reply.status == 403 and "started by the lab" in reply["message"], reply.body
            assert (await c.get("/api/v1/ha/status"))["time_scale"] == TIME_SCALE
        # A trainer panel attached to it: the fault refused, the panel says why.
        attached = AttachedLab.from_addresses([server.url, "127.0.0.1:9"]).pair
        attached.admin_password = password
        with pytest.raises(ActionRefused, match=r"started by the lab \(it must run with --lab-faults"):
            await Actions(attached).crash_tomcat("primary")
        async with server.client() as c:
            assert (await c.get("/api/v1/ha/status"))["services"]["tomcat"] == "running"
    finally:
        server.stop()
