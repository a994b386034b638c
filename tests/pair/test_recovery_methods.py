"""Resolving a Split Brain Scenario: Method 1 (Go Standby, REPAIR, ipicsrsync), Method 2
(reconfigure HA) and Method 3 (the workaround), typed in the servers' SSH shells."""

from __future__ import annotations

import sqlite3

from ipics_lab.campaign import REPAIR, RSYNC, RSYNC_LOG
from ipics_lab.supervisor import wait_until

from .conftest import (
    TAKEOVER_DEADLINE_S,
    channel_names,
    create_channel,
    discarded_on,
    shell,
)


async def upload(client, incident_id: str, content: bytes) -> str:
    reply = await client.request(
        "POST",
        f"/api/v1/incidents/{incident_id}/files?name=scene.jpg",
        data=content,
        headers={"Content-Type": "image/jpeg"},
    )
    assert reply.status == 201, reply.body
    return reply["id"]


def records(server) -> dict:
    """Every record of a server's database, read-only, as the checker reads it."""
    db = sqlite3.connect(f"file:{server.data_dir / 'ipics.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT tbl, key, value, updated_at, origin FROM records").fetchall()
    finally:
        db.close()
    return {(t, k): (v, u, o) for t, k, v, u, o in rows}


async def make_a_split_brain(pair) -> dict:
    """Both servers active with diverged data, then the link back."""
    found = {}
    async with await pair.admin(pair.primary) as p:
        incident = (await p.post("/api/v1/incidents", {"name": "Earthquake"})).body
        shared = await create_channel(p, "Shared")
    found["incident"], found["shared"] = incident["id"], shared["id"]
    await pair.wait_ready()
    await pair.fault(pair.primary, fault="cut-link", direction="both")
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with await pair.admin(pair.primary) as p, await pair.admin(pair.secondary) as s:
        await create_channel(p, "Fire (primary)")
        found["primary_file"] = await upload(p, incident["id"], b"\xff\xd8primary photo")
        await create_channel(s, "Police (secondary)")
        assert (await s.delete(f"/api/v1/channels/{shared['id']}")).ok  # the same record, changed here
        found["secondary_file"] = await upload(s, incident["id"], b"\xff\xd8secondary photo")
        found["secondary_token"] = s.token
    await pair.fault(pair.primary, fault="heal-link")
    # Each server learns of the split brain from the partner's next heartbeat: wait for
    # both, or a Go Standby on the secondary can come before it knows (a CI flake seen).
    for server in pair.servers:
        await pair.wait_status(server, 10, split_brain=True)
    return found


async def test_method_1_go_standby_repair_and_rsync(pair):
    found = await make_a_split_brain(pair)
    out, status = await shell(pair, pair.primary, REPAIR, user="informix")  # too early: both active
    assert status == 1 and "Go Standby on the secondary" in out
    async with await pair.admin(pair.secondary) as s:
        assert (await s.post("/api/v1/ha/go-standby")).ok

    # REPAIR is informix's, and runs once at a time; either server starts it.
    out, status = await shell(pair, pair.secondary, REPAIR)
    assert status == 1 and "must be run as user informix" in out
    # Typed twice in one session, so the second surely finds the first still running.
    out, status = await shell(pair, pair.secondary, f"{REPAIR}\n{REPAIR}", user="informix")
    first, second = out.split("\n", 1)
    assert "repair processes" in first and "already running" in second and status == 1, out

    out, _ = await shell(pair, pair.secondary, "/sbin/service ipics ha-status", user="informix")
    pending = out.split("Pending Database Replication Synchronization Processes:")[1]
    assert "repair channels" in pending or "none" in pending  # all may be done already at this scale

    async def repaired():
        text, _ = await shell(pair, pair.primary, "service ipics ha-status", user="informix")
        tail = text.split("Pending Database Replication Synchronization Processes:")[1]
        return text if tail.strip().startswith("none") and "Standby Server Status        : Ready" in text else None

    out = await wait_until(repaired, 20, "the repair processes to finish and the standby to be Ready")
    assert "last REPAIR finished" in out

    # Records from each side are on both; the record on both is the primary's.
    async with await pair.admin(pair.primary) as p:
        assert {"Shared", "Fire (primary)", "Police (secondary)"} <= await channel_names(p)
        # Go Standby logged out the secondary's sessions, and REPAIR carried that across.
        async with pair.primary.client(found["secondary_token"]) as old:
            assert (await old.get("/api/v1/channels")).status == 401
    discarded = await discarded_on(pair, pair.secondary)
    assert any(d["key"] == found["shared"] and "REPAIR" in d["reason"] for d in discarded)
    await wait_until(lambda: _same_records(pair), 10, "both databases to be identical")

    # ipicsrsync: ipicsadmin's, on the primary only.
    out, status = await shell(pair, pair.primary, RSYNC, user="informix")
    assert status == 1 and "must be run as user ipicsadmin" in out
    out, status = await shell(pair, pair.secondary, RSYNC)
    assert status == 1 and "primary" in out
    out, status = await shell(pair, pair.primary, "cat /opt/cisco/ipics/conf/fileDirectory")
    assert status == 0 and "/opt/cisco/ipics/tomcat/current/webapps/documents" in out and out.count("\n") == 6
    out, status = await shell(pair, pair.primary, RSYNC)
    assert status == 0 and "rsync.log" in out

    async def finished():
        text, _ = await shell(pair, pair.primary, f"tail -n 50 {RSYNC_LOG}")
        return text if "ipicsrsync finished" in text else None

    log = await wait_until(finished, 20, "ipicsrsync to finish")
    assert f"deleting {pair.secondary.host}" in log and found["secondary_file"] in log
    secondary_files = pair.secondary.data_dir / "files"
    assert (secondary_files / found["primary_file"]).exists()
    assert not (secondary_files / found["secondary_file"]).exists()
    out, status = await shell(pair, pair.primary, RSYNC_LOG)  # the chapter's "monitor" line, typed as is
    assert status == 126 and "tail" in out


async def _same_records(pair) -> bool:
    return records(pair.primary) == records(pair.secondary)


async def test_method_2_stop_the_secondary_unconfigure_delete_trust_and_configure_again(pair):
    await make_a_split_brain(pair)
    for command in ("/sbin/service ipics stop", "/sbin/service ipics_nm stop"):
        out, status = await shell(pair, pair.secondary, command)
        assert status == 0 and "OK" in out
    st = await pair.status(pair.secondary)
    assert st["ipics_stopped"] and st["services"] == {"tomcat": "stopped", "ipics_nm": "stopped", "database": "stopped"}
    await pair.wait_status(pair.primary, 10, split_brain=False, role="active")

    async with await pair.admin(pair.primary) as p:
        assert (await p.post("/api/v1/ha/unconfigure")).ok
    await pair.wait_status(pair.primary, 10, role="standalone")
    async with await pair.admin(pair.primary) as p:
        deleted = await p.post("/api/v1/ha/trust/delete", {"password": pair.admin_password})
        assert deleted.ok and "this server only" in deleted["message"]
    async with pair.primary.client() as c:
        assert (await c.get("/api/v1/ha/status")).body["ha"] == "unconfigured"

    # Reconfigure HA: start the secondary again, trust, configure; the data merges.
    for command in ("service ipics start", "service ipics_nm start"):
        out, status = await shell(pair, pair.secondary, command)
        assert status == 0, out
    await pair.establish_trust()
    await pair.configure(5, 5)
    await pair.wait_ready(30)
    async with await pair.admin(pair.primary) as p:
        assert {"Fire (primary)", "Police (secondary)"} <= await channel_names(p)


async def test_configure_from_the_secondary_says_a_role_change_needs_new_ha_licenses(lab):
    await lab.start()
    await lab.establish_trust()
    token = await lab.login(lab.secondary)  # its console is reachable while it is not paired
    async with lab.secondary.client(token) as s:
        refused = await s.post("/api/v1/ha/configure")
    assert refused.status == 409 and "High Availability license" in refused["message"]
    assert (await lab.status(lab.secondary))["ha"] == "trusted"


SEQUENCES = {
    "stop-all": ["service ipics stop-all", "service ipics start-all"],
    "alternative": ["service ipics_nm stop", "service ipics stop", "service ipics start", "service ipics_nm start"],
}


async def test_method_3_halt_the_secondary_restart_the_primary_power_up(pair):
    found = await make_a_split_brain(pair)
    out, _ = await shell(pair, pair.secondary, "shutdown -h now")
    assert "going down for system halt" in out
    await wait_until(lambda: _exited(pair.secondary), 10, "the secondary to halt")

    for i, command in enumerate(SEQUENCES["stop-all"]):
        out, status = await shell(pair, pair.primary, command)
        assert status == 0, out
        if i == 0:
            st = await pair.status(pair.primary)
            assert st["ipics_stopped"] and st["services"]["tomcat"] == "stopped"
    await pair.wait_status(pair.primary, TAKEOVER_DEADLINE_S, role="active")

    await pair.secondary.power_on()
    await pair.wait_ready(TAKEOVER_DEADLINE_S)
    async with await pair.admin(pair.primary) as p:
        names = await channel_names(p)
    # The workaround does not reconcile: the secondary's split-brain data is gone.
    assert "Fire (primary)" in names and "Police (secondary)" not in names
    discarded = await discarded_on(pair, pair.secondary)
    assert any(d["key"] == found["secondary_file"] for d in discarded)


async def test_method_3_alternative_sequence_restarts_the_primary(pair):
    await make_a_split_brain(pair)
    await shell(pair, pair.secondary, "shutdown -h now")
    await wait_until(lambda: _exited(pair.secondary), 10, "the secondary to halt")
    for command in SEQUENCES["alternative"]:
        out, status = await shell(pair, pair.primary, command)
        assert status == 0, out
    st = await pair.wait_status(pair.primary, TAKEOVER_DEADLINE_S, role="active")
    assert st["services"] == {"tomcat": "running", "ipics_nm": "running", "database": "running"}


async def _exited(server) -> bool:
    return server.proc.poll() is not None
