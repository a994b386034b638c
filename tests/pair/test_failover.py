"""Failover: lost heartbeats after kill -9 and under a silent partner (SIGSTOP), a
crashed tomcat, Failover Now, no failback."""

from __future__ import annotations

import signal
import time

from ipics_lab.supervisor import wait_until

from .conftest import (
    MISSED,
    TAKEOVER_DEADLINE_S,
    TIME_SCALE,
    channel_names,
    create_channel,
    discarded_on,
)


async def test_kill_9_of_the_active_makes_the_standby_take_over(pair):
    async with await pair.admin(pair.primary) as admin:
        await create_channel(admin, "Before The Earthquake")
        token = admin.token
    await pair.wait_replicated()

    pair.primary.kill()

    st = await pair.wait_status(pair.secondary, 10, role="transitioning")
    assert st["heartbeat"]["missed_now"] >= 5
    assert 150 <= st["transition"]["remaining_s"] + 5 and st["transition"]["remaining_s"] <= 180
    async with pair.secondary.client() as c:
        assert (await c.get("/api/v1/health/active")).status == 503
        refused = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
        assert refused.status == 503 and refused["error"] == "transitioning"

    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with pair.secondary.client(token) as c:
        assert (await c.get("/api/v1/health/active")).status == 200
        # The console's session was replicated: it carries on with no new login.
        assert "Before The Earthquake" in await channel_names(c)


#: a heartbeat interval longer than the least real time a heartbeat's answer is awaited
#: (``ha/deadlines.py``: 0.2 s), as at the chapter's settings on a real pair
HANG_INTERVAL_S = 30
#: the goal is 1.05 (bench/run_bench.py, failover_detection_ratio_hang; 1.02 here on a
#: quiet machine), with room for a loaded one.  Before the deadlines were derived, the
#: count-th miss of a silent partner landed 0.8 interval late: 1.16 here.
HANG_DETECTION_RATIO_MAX = 1.10


async def test_a_paused_active_is_detected_after_the_window_and_the_pair_talks_again_after_it_resumes(pair):
    """A SIGSTOPped active accepts connections (the kernel completes the handshakes) and
    never answers: the standby must count its heartbeats missed within the failover
    window, as after kill -9, take over, and hear the old active again once it resumes,
    over the same peer link (no restart)."""
    s, p = pair.secondary, pair.primary
    async with await pair.admin(p) as admin:
        reply = await admin.put(
            "/api/v1/ha/settings", {"port": p.heartbeat_port, "interval_s": HANG_INTERVAL_S, "missed_count": MISSED}
        )
        assert reply.ok, reply.body
    window_real_s = HANG_INTERVAL_S * MISSED * TIME_SCALE

    # The worst moment to go silent: just after the active answered a heartbeat.
    first = (await pair.status(s))["heartbeat"]

    async def just_answered():
        hb = (await pair.status(s))["heartbeat"]
        return hb["sent"] > first["sent"] + 1 and hb["missed_now"] == 0 and hb["next_in_s"] >= 0.8 * HANG_INTERVAL_S

    await wait_until(just_answered, 10, "the standby's heartbeat answered, at the new interval", interval_s=0.005)
    paused = time.monotonic()
    p.send_signal(signal.SIGSTOP)
    try:
        st = await wait_until(
            lambda: _transitioning(pair), 3 * window_real_s + 5, "the standby to take over", interval_s=0.005
        )
        ratio = (time.monotonic() - paused) / window_real_s
        assert st["heartbeat"]["missed_now"] >= MISSED and "heartbeats missed" in st["transition"]["reason"]
        assert ratio <= HANG_DETECTION_RATIO_MAX, f"detected after {ratio:.3f} x interval x missed count"
        await pair.wait_status(s, TAKEOVER_DEADLINE_S + 2, role="active")
    finally:
        p.send_signal(signal.SIGCONT)
    # The old active resumes where it stopped: both hear each other again over the links
    # they had (the chapter's split brain, resolved by the administrator).
    ps = await pair.wait_status(p, 10, partner_role="active", split_brain=True)
    assert ps["heartbeat"]["missed_now"] == 0
    st = await pair.wait_status(s, 10, partner_role="active", split_brain=True)
    assert st["heartbeat"]["missed_now"] == 0 and st["peer_link"]["error"] is None


async def _transitioning(pair) -> dict | None:
    st = await pair.status(pair.secondary)
    return st if st["role"] == "transitioning" else None


async def test_takeover_lasts_150_to_180_emulated_seconds(pair):
    pair.primary.kill()
    import time

    await pair.wait_status(pair.secondary, 10, role="transitioning")
    began = time.monotonic()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    emulated = (time.monotonic() - began) / TIME_SCALE
    assert 140 <= emulated <= 200  # 150-180 s, with polling and start-up slack


async def test_a_crashed_tomcat_on_the_active_hands_over_to_the_standby(pair):
    reply = await pair.fault(pair.primary, fault="crash-service", service="tomcat")
    assert reply.ok, reply.body

    st = await pair.wait_status(pair.secondary, 10, role="transitioning")
    assert st["transition"]["remaining_s"] <= 300 and "critical-process" not in st["decision"]
    assert "assume the active role" in st["transition"]["reason"]
    p = await pair.status(pair.primary)
    assert p["role"] == "standby" and p["services"]["tomcat"] == "failed"
    async with pair.primary.client() as c:
        down = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
        assert down.status == 503 and down["error"] == "tomcat_down"

    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    # ipics_nm restarts tomcat; the old active stays standby and becomes Ready.
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    await pair.wait_status(pair.secondary, 30, role="active", standby_server_status="Ready")


async def test_failover_now_swaps_the_roles(pair):
    async with await pair.admin(pair.primary) as admin:
        for i in range(20):
            await create_channel(admin, f"Channel {i}")
        reply = await admin.post("/api/v1/ha/failover")
        assert reply.ok, reply.body
    assert (await pair.status(pair.primary))["role"] == "standby"
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    await pair.wait_status(pair.secondary, 30, standby_server_status="Ready")
    async with await pair.admin(pair.secondary) as admin:
        assert {f"Channel {i}" for i in range(20)} <= await channel_names(admin)
        # and back again: Failover Now works from either server
        assert (await admin.post("/api/v1/ha/failover")).ok
    await pair.wait_status(pair.primary, TAKEOVER_DEADLINE_S, role="active")


async def test_failover_now_needs_a_ready_standby(pair):
    async with await pair.admin(pair.primary) as admin:
        pair.secondary.kill()
        await pair.wait_status(pair.primary, 10, standby_server_status="Not Ready")
        reply = await admin.post("/api/v1/ha/failover")
    assert reply.status == 409 and "Not Ready" in reply["message"]
    assert (await pair.status(pair.primary))["role"] == "active"


async def test_failover_now_that_cannot_reach_the_standby_keeps_this_server_active(pair):
    """The standby Ready when clicked, but the hand-over cannot reach it (the link cut
    this way): refused in words, and the pair still has its active."""
    p = pair.primary
    async with await pair.admin(p) as admin:
        # Heartbeats 300 s apart (3 real seconds here): right after one, the cut link
        # cannot show as missed heartbeats (Not Ready) before Failover Now is clicked,
        # milliseconds later.
        reply = await admin.put(
            "/api/v1/ha/settings", {"port": p.heartbeat_port, "interval_s": 300, "missed_count": 30}
        )
        assert reply.ok, reply.body
        sent = (await pair.status(p))["heartbeat"]["sent"]
        await wait_until(lambda: _sent_after(pair, sent + 1), 20, "two heartbeats at the new interval")
        await pair.fault(p, fault="cut-link", direction="outbound")
        assert (await pair.status(p))["standby_server_status"] == "Ready"
        reply = await admin.post("/api/v1/ha/failover")
    assert reply.status == 502 and reply["message"].startswith("the standby does not answer"), reply.body
    assert reply["message"].endswith("Failover Now was not done; this server stays active")
    assert (await pair.status(p))["role"] == "active"
    assert (await pair.status(pair.secondary))["role"] == "standby"


async def _sent_after(pair, count: int) -> bool:
    return (await pair.status(pair.primary))["heartbeat"]["sent"] > count


async def test_no_failback_and_the_fire_channel_is_lost(pair):
    """The chapter's example: Fire assigned to Ursula just before the earthquake never
    reaches the standby; after the failover it is gone, and the old active, restored,
    becomes the standby and logs the assignment as discarded."""
    async with await pair.admin(pair.primary) as admin:
        fire = (await create_channel(admin, "Fire"))["id"]
        await pair.wait_replicated()
        await admin.post("/api/v1/users", {"username": "ursula", "password": "ursula-pass", "role": "dispatcher"})
        await pair.wait_replicated()
        # The link toward the standby fails first: the assignment stays on the active.
        assert (await pair.fault(pair.primary, fault="cut-link", direction="outbound")).ok
        assert (await admin.post(f"/api/v1/channels/{fire}/assignments", {"username": "ursula"})).status == 201
    ursula = await pair.login(pair.primary, "ursula", "ursula-pass")
    async with pair.primary.client(ursula) as c:
        assert "Fire" in await channel_names(c)  # Ursula saw the new channel

    pair.primary.kill()  # the earthquake
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")

    await pair.primary.power_on()  # Adam remounts the server
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    st = await pair.wait_status(pair.secondary, 30, role="active", standby_server_status="Ready")
    assert st["partner_role"] == "standby"

    # Her session never replicated either: she logs in again, and Fire is gone.
    async with pair.secondary.client(await pair.login(pair.secondary, "ursula", "ursula-pass")) as c:
        assert "Fire" not in await channel_names(c)
    async with await pair.admin(pair.secondary) as admin:
        # No failback: the restored server is the standby; admin calls go to the active.
        assert (await admin.get("/api/v1/ha/status")).body["role"] == "active"
    # Read on the restored standby once the administrator's new token has reached it
    # (reading at once raced the replication of that token: a CI flake seen).
    discarded = await discarded_on(pair, pair.primary)
    assert any(d["table"] == "assignments" and "ursula" in d["key"] for d in discarded), discarded
    log = (pair.primary.data_dir / "server.log").read_text()
    assert "discarded assignments/" in log and "never reached the partner" in log
