"""Split brain on the emulated clock: a cut link or clocks more than 30 s apart leave
both servers active; once they hear each other again the split brain is reported and
repaired by Method 1: Go Standby, ipicsedr_control_repl REPAIR, ipicsrsync."""

from __future__ import annotations

from ipics_lab.campaign import REPAIR, RSYNC, RSYNC_LOG
from ipics_lab.checker import databases_identical, read_server

from .conftest import INTERVAL_S, MISSED, channel_names, create_channel, discarded_on, when

PENDING = "Pending Database Replication Synchronization Processes:"


async def upload(client, incident_id: str, content: bytes) -> str:
    reply = await client.request(
        "POST",
        f"/api/v1/incidents/{incident_id}/files?name=scene.jpg",
        data=content,
        headers={"Content-Type": "image/jpeg"},
    )
    assert reply.status == 201, reply.body
    return reply["id"]


async def test_a_cut_link_is_a_split_brain_once_healed_and_method_1_repairs_it(pair):
    async with await pair.admin(pair.primary) as p:
        incident = (await p.post("/api/v1/incidents", {"name": "Earthquake"})).body
        shared = await create_channel(p, "Shared")
    await pair.wait_replicated()

    await pair.cut_link(pair.primary, "both")
    cut = pair.now_s
    active_at, _ = await when(pair, pair.secondary, 75 + 180, role="active")
    assert 75 + 150 - 15 <= active_at - cut <= 75 + 180  # the first miss is at most one interval away
    p_status = await pair.status(pair.primary)
    assert p_status["role"] == "active" and p_status["split_brain"] is False  # not hearing each other yet

    async with await pair.admin(pair.primary) as p, await pair.admin(pair.secondary) as s:
        await create_channel(p, "Fire (primary)")
        primary_file = await upload(p, incident["id"], b"\xff\xd8primary photo")
        await create_channel(s, "Police (secondary)")
        assert (await s.delete(f"/api/v1/channels/{shared['id']}")).ok  # the same record, changed here
        secondary_file = await upload(s, incident["id"], b"\xff\xd8secondary photo")
        secondary_token = s.token

    await pair.heal_link(pair.primary)
    for server in pair.servers:
        _, st = await when(pair, server, 15, split_brain=True)
        assert st["role"] == "active" and st["split"]["go_standby_on"] == "secondary"
        assert "split brain" in st["decision"]

    out, status = await pair.shell(pair.primary, REPAIR, user="informix")  # too early: both active
    assert status == 1 and "Go Standby on the secondary" in out
    async with pair.secondary.client(secondary_token) as s:
        reply = await s.post("/api/v1/ha/go-standby")
        assert reply.ok and reply["role"] == "standby", reply.body
        assert (await s.get("/api/v1/channels")).status in (401, 409)  # every session logged out
    await when(pair, pair.secondary, 15, role="standby", awaiting_repair=True)

    out, status = await pair.shell(pair.secondary, f"{REPAIR}\n{REPAIR}", user="informix")
    first, second = out.split("\n", 1)
    assert "repair processes" in first and "already running" in second and status == 1, out
    # REPAIR runs on the active; time stands still meanwhile, so every process is pending.
    out, _ = await pair.shell(pair.primary, "service ipics ha-status", user="informix")
    assert "repair channels" in out.split(PENDING)[1], out

    async def repaired():
        text, _ = await pair.shell(pair.primary, "service ipics ha-status", user="informix")
        done = text.split(PENDING)[1].strip().startswith("none")
        return text if done and "Standby Server Status        : Ready" in text else None

    out = await pair.until(repaired, 600, "the repair processes to finish and the standby to be Ready")
    assert "last REPAIR finished" in out
    async with await pair.admin(pair.primary) as p:
        assert {"Fire (primary)", "Police (secondary)", "Shared"} <= await channel_names(p)
    discarded = await discarded_on(pair, pair.secondary)
    assert any(d["key"] == shared["id"] and "REPAIR" in d["reason"] for d in discarded), discarded

    out, status = await pair.shell(pair.primary, RSYNC)
    assert status == 0 and "rsync.log" in out

    async def rsynced():
        text, _ = await pair.shell(pair.primary, f"tail -n 50 {RSYNC_LOG}")
        return text if "ipicsrsync finished" in text else None

    log = await pair.until(rsynced, 600, "ipicsrsync to finish")
    assert f"deleting {pair.secondary.host}" in log and secondary_file in log
    assert (pair.secondary.data_dir / "files" / primary_file).exists()
    assert not (pair.secondary.data_dir / "files" / secondary_file).exists()
    await pair.wait_replicated()
    sides = [read_server(s.name, s.host, s.data_dir) for s in pair.servers]
    same = databases_identical(*sides)
    assert same["ok"], same["detail"]


async def test_clocks_more_than_30_s_apart_lose_ha_communication_until_ntp_brings_them_back(pair):
    await pair.clock_offset(pair.secondary, 45)
    _, st = await when(pair, pair.secondary, 75 + 180, role="active")
    assert round(abs(st["clock_skew_s"])) == 45
    assert any("more than 30 s" in m["text"] for m in st["messages"])
    p = await pair.status(pair.primary)
    assert p["role"] == "active" and p["heartbeat"]["missed_now"] > 0

    await pair.clock_offset(pair.secondary, 0)
    await when(pair, pair.primary, 15, split_brain=True)


async def test_clocks_up_to_30_s_apart_keep_the_pair(pair):
    await pair.clock_offset(pair.secondary, 29)
    await pair.run_for(3600)
    st = await pair.status(pair.primary)
    assert round(abs(st["clock_skew_s"])) == 29
    assert st["heartbeat"]["missed_total"] == 0 and st["standby_server_status"] == "Ready"
    assert (await pair.status(pair.secondary))["role"] == "standby"


async def test_a_heartbeat_from_a_partner_still_applying_configure_is_not_an_unconfigure(pair):
    """Found under load (a CI run): a standalone secondary (HA unconfigured earlier) is
    configured again, and its heartbeat from just before it applied the configuration
    (HA trusted, standalone) reached the primary, configured already.  The primary took
    that for a partner that unconfigured HA during a split brain, said so and
    unconfigured itself; the pair never became Ready.  Here the secondary sends that
    heartbeat at the worst moment, every time."""
    async with await pair.admin(pair.primary) as c:
        assert (await c.post("/api/v1/ha/unconfigure")).ok
    for server in (pair.primary, pair.secondary):
        await pair.wait_status(server, 2 * 120, role="standalone")
    secondary = pair.secondary.server.engine
    apply_configuration = secondary.configuration.on_partner_configure
    sent_before: list[dict] = []

    async def heartbeat_in_flight(settings):
        sent_before.append(secondary.heartbeats.payload())  # HA trusted, standalone
        await apply_configuration(settings)

    secondary.configuration.on_partner_configure = heartbeat_in_flight
    await pair.configure(INTERVAL_S, MISSED)
    # the heartbeat the secondary sent before it applied the configuration, heard by the
    # primary once it is configured and active
    assert pair.primary.server.engine.heartbeats.hear(sent_before[0])
    await pair.wait_status(pair.primary, 2 * INTERVAL_S + 180, role="active", standby_server_status="Ready")
    st = await pair.status(pair.primary)
    assert st["ha"] == "configured", st
    assert not [m for m in st["messages"] if "split brain" in m["text"]], st["messages"]
