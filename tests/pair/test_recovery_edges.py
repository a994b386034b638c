"""Edges a review found: no pair may end up with nobody active, or two actives nobody
is told about, and nothing Method 1 replaces goes unlogged."""

from __future__ import annotations

from ipics_lab.supervisor import wait_until

from .conftest import TAKEOVER_DEADLINE_S, channel_names, create_channel, discarded_on, shell
from .test_recovery_methods import REPAIR, RSYNC, RSYNC_LOG, make_a_split_brain, upload


async def test_restarting_ipics_on_the_active_within_the_window_still_leaves_one_active(lab):
    # A 300 s missed-heartbeat window: the restart is over long before the standby
    # would notice, so both are standby for a moment; the Ready one takes over.
    await lab.up(interval_s=60, missed_count=5)
    out, status = await shell(lab, lab.primary, "service ipics stop\nservice ipics start")
    assert status == 0 and out.count("[  OK  ]") == 2

    async def one_active():
        roles = [(await lab.status(s))["role"] for s in lab.servers]
        return roles if roles.count("active") == 1 and "transitioning" not in roles else None

    roles = await wait_until(one_active, TAKEOVER_DEADLINE_S + 6, "exactly one active server")
    assert roles == ["standby", "active"]  # no failback: the Ready standby took over
    await lab.wait_status(lab.secondary, 30, standby_server_status="Ready")


async def test_an_active_secondary_unconfigured_at_90_percent_keeps_serving(pair):
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    await pair.fault(pair.secondary, fault="txlog-capacity", capacity=10)
    async with await pair.admin(pair.secondary) as s:
        for i in range(12):
            reply = await s.post("/api/v1/channels", {"name": f"Queued {i}"})
            assert reply.status == 201, reply.body  # never refused: it keeps serving
    st = await pair.wait_status(pair.secondary, 10, role="standalone")
    assert st["ha"] == "trusted" and st["active"] == pair.secondary.url
    async with pair.secondary.client() as c:
        login = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
    assert login.status == 200


async def test_an_unconfigure_at_90_percent_during_a_split_brain_is_followed_and_said(pair):
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=10)
    await pair.fault(pair.primary, fault="cut-link", direction="both")
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with await pair.admin(pair.primary) as p:
        for i in range(12):
            await create_channel(p, f"Queued {i}")
    await pair.wait_status(pair.primary, 10, role="standalone")

    await pair.fault(pair.primary, fault="heal-link")
    st = await pair.wait_status(pair.secondary, 10, role="standalone")
    assert any("split brain" in m["text"] and "Method 2" in m["text"] for m in st["messages"])
    # Both serve on their own until HA is configured again: nobody is left out.
    for server in pair.servers:
        async with server.client() as c:
            assert (
                await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
            ).status == 200


async def test_after_method_1_new_uploads_replicate_past_a_file_rsync_deleted(pair):
    found = await make_a_split_brain(pair)
    async with await pair.admin(pair.secondary) as s:
        assert (await s.post("/api/v1/ha/go-standby")).ok
    assert (await shell(pair, pair.secondary, REPAIR, user="informix"))[1] == 0
    await pair.wait_ready(30)
    assert (await shell(pair, pair.primary, RSYNC))[1] == 0

    async def finished():
        text, _ = await shell(pair, pair.primary, f"tail -n 50 {RSYNC_LOG}")
        return "ipicsrsync finished" in text

    await wait_until(finished, 20, "ipicsrsync to finish")
    async with await pair.admin(pair.primary) as p:
        new = await upload(p, found["incident"], b"\xff\xd8after method 1")

    async def replicated():
        return (pair.secondary.data_dir / "files" / new).exists()

    await wait_until(replicated, 10, "the new upload to reach the standby")


async def test_go_standby_on_the_primary_logs_what_the_primarys_copies_replace(pair):
    found = await make_a_split_brain(pair)
    async with await pair.admin(pair.primary) as p:
        reply = await p.post("/api/v1/ha/go-standby")
    assert reply.ok and "Cisco recommends" in reply["message"]
    assert (await shell(pair, pair.primary, REPAIR, user="informix"))[1] == 0
    await pair.wait_status(pair.secondary, 30, role="active", standby_server_status="Ready")

    # The secondary deleted "Shared" during the split; the primary's copy is the master.
    async with await pair.admin(pair.secondary) as s:
        assert "Shared" in await channel_names(s)
    logged = await discarded_on(pair, pair.secondary)
    assert any(d["key"] == found["shared"] and "REPAIR" in d["reason"] for d in logged), (found, logged)
