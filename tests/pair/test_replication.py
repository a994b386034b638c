"""Replication order, the standby refusing clients, pushes, the selector, files."""

from __future__ import annotations

import asyncio
import errno
import os
import signal

import aiohttp
import pytest

from ipics_lab.supervisor import LabPair, wait_until

from .conftest import INTERVAL_S, MISSED, TAKEOVER_DEADLINE_S, TIME_SCALE, channel_names, create_channel


async def _drained(pair) -> bool:
    p = await pair.status(pair.primary)
    s = await pair.status(pair.secondary)
    return (
        p["replication"]["pending"] == 0
        and s["replication"]["applied"]
        and s["replication"]["applied"][1] == p["replication"]["last_seq"]
    )


async def test_replication_ships_in_order_and_trims_the_log(pair):
    async with await pair.admin(pair.primary) as admin:
        ch = await create_channel(admin, "Police")
        await admin.post("/api/v1/users", {"username": "dan", "password": "dan-password", "role": "dispatcher"})
        # 60 alternating assign/unassign on one record, then 40 channels at once, then a
        # last assign: only shipping in order leaves the standby with the final state.
        for _ in range(30):
            assert (await admin.post(f"/api/v1/channels/{ch['id']}/assignments", {"username": "dan"})).ok
            assert (await admin.delete(f"/api/v1/channels/{ch['id']}/assignments/dan")).ok
        await asyncio.gather(*(create_channel(admin, f"Bulk {i}") for i in range(40)))
        assert (await admin.post(f"/api/v1/channels/{ch['id']}/assignments", {"username": "dan"})).ok
        await wait_until(lambda: _drained(pair), 10, "the standby to apply everything")
        assert (await admin.post("/api/v1/ha/failover")).ok
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with pair.secondary.client(await pair.login(pair.secondary, "dan", "dan-password")) as dan:
        assert await channel_names(dan) == {"Police"}
    async with await pair.admin(pair.secondary) as admin:
        assert {f"Bulk {i}" for i in range(40)} <= await channel_names(admin)


async def test_the_standby_refuses_logins_and_writes_and_names_the_active(pair):
    token = await pair.login(pair.primary)
    async with pair.secondary.client(token) as c:
        login = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
        write = await c.post("/api/v1/channels", {"name": "Sneaky"})
        read = await c.get("/api/v1/channels")
    for reply in (login, write, read):
        assert reply.status == 409 and reply["active"] == pair.primary.url, reply.body
        assert pair.primary.url in reply["message"]
    async with pair.primary.client(token) as c:
        assert "Sneaky" not in await channel_names(c)


async def test_login_server_selector_lists_both_with_roles(pair):
    for s in pair.servers:
        async with s.client() as c:
            body = (await c.get("/api/v1/servers")).body
        roles = {e["address"]: e["role"] for e in body["servers"]}
        assert roles == {pair.primary.url: "active", pair.secondary.url: "standby"}
        assert body["active"] == pair.primary.url


async def test_websocket_pushes_configuration_and_role_changes(pair):
    token = await pair.login(pair.primary)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            f"{pair.primary.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}
        ) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
            async with pair.primary.client(token) as c:
                await create_channel(c, "Hazmat")
            event = await ws.receive_json(timeout=5)
            assert event["type"] == "record" and event["value"]["name"] == "Hazmat"
            await wait_until(lambda: _drained(pair), 10, "replication")
            async with pair.primary.client(token) as c:
                assert (await c.post("/api/v1/ha/failover")).ok
            event = await ws.receive_json(timeout=5)
            assert event["type"] == "role" and event["role"] == "standby"
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


async def _upload(client, incident_id: str, content: bytes) -> dict:
    reply = await client.request(
        "POST",
        f"/api/v1/incidents/{incident_id}/files?name=scene.jpg",
        data=content,
        headers={"Content-Type": "image/jpeg"},
    )
    assert reply.status == 201, reply.body
    return reply.body


@pytest.mark.pair
async def test_uploaded_files_replicate_after_the_records(tmp_path):
    """Files replicate at a lower priority: one uploaded just before a failover is
    listed on the new active but missing there, and says to upload it again."""
    # The standby fetches a file 300 emulated seconds (3 real) after its upload: the late
    # file is surely not fetched before the kill, even on a loaded machine (with 5 s it
    # was, once).  The early file is uploaded before the pair is configured, so most of
    # its wait has passed by the time the standby is Ready.
    delay = ["--file-replication-delay", "300"]
    pair = LabPair(tmp_path, time_scale=TIME_SCALE, primary_args=delay, secondary_args=delay)
    try:
        await pair.start()
        await pair.establish_trust()
        async with await pair.admin(pair.primary) as admin:
            incident = (await admin.post("/api/v1/incidents", {"name": "Quake"})).body
            early = await _upload(admin, incident["id"], b"\xff\xd8early photo")
        await pair.configure(INTERVAL_S, MISSED)
        await pair.wait_ready()
        async with await pair.admin(pair.primary) as admin:
            await wait_until(lambda: _has_file(pair, early["id"]), 10, "the early file to replicate")
            late = await _upload(admin, incident["id"], b"\xff\xd8late photo")
            await wait_until(lambda: _drained(pair), 10, "the records to replicate")
            token = admin.token
        pair.primary.kill()
        await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
        async with pair.secondary.client(token) as c:
            files = {f["id"]: f for f in (await c.get(f"/api/v1/incidents/{incident['id']}")).body["files"]}
            assert files[early["id"]]["available"] and not files[late["id"]]["available"]
            ok = await c.get(f"/api/v1/incidents/{incident['id']}/files/{early['id']}")
            missing = await c.get(f"/api/v1/incidents/{incident['id']}/files/{late['id']}")
        assert ok.status == 200
        assert missing.status == 404 and missing["error"] == "file_missing" and "upload it again" in missing["message"]
    finally:
        pair.stop()


async def _has_file(pair, file_id: str) -> bool:
    return (pair.secondary.data_dir / "files" / file_id).exists()


#: real seconds a call the partner is silent on may last at least (ha/deadlines.py's
#: SILENCE_FLOOR_S: more than this pair's 0.25 s failover window)
SILENCE_FLOOR_S = 5.0


async def test_a_file_fetch_that_hangs_never_delays_a_heartbeat_and_is_tried_again(pair):
    """The active's answer to the standby's file fetch hangs, in a process that runs on
    (the file's content is a FIFO no one writes: reading it blocks): the standby keeps
    hearing every heartbeat and stays Ready meanwhile; the fetch ends at its deadline
    and is tried again, and the file arrives once the active can read it."""
    p, s = pair.primary, pair.secondary
    async with await pair.admin(p) as admin:
        incident = (await admin.post("/api/v1/incidents", {"name": "Quake"})).body
        s.send_signal(signal.SIGSTOP)  # so that it fetches the file only once it is a FIFO
        try:
            uploaded = await _upload(admin, incident["id"], b"\xff\xd8scene photo")
            path = p.data_dir / "files" / uploaded["id"]
            fifo = path.with_name("fifo.tmp")
            os.mkfifo(fifo)
            os.replace(fifo, path)
        finally:
            s.send_signal(signal.SIGCONT)
    # A writer can open the FIFO only once the active reads it: the standby's fetch.
    writer = await wait_until(lambda: _fifo_writer(path), 10, "the standby to fetch the file")
    try:
        before = (await pair.status(s))["heartbeat"]

        async def beats_while_hung():
            st = await pair.status(s)
            return st if st["heartbeat"]["sent"] >= before["sent"] + MISSED + 1 else None

        st = await wait_until(beats_while_hung, 10, "the standby's heartbeats while its fetch hangs")
        assert st["heartbeat"]["missed_total"] == before["missed_total"], st["heartbeat"]
        assert st["standby_server_status"] == "Ready" and not await _has_file(pair, uploaded["id"])

        readable = path.with_name("photo.tmp")
        readable.write_bytes(b"\xff\xd8scene photo")
        os.replace(readable, path)  # the hung read keeps the FIFO; the next fetch reads this
        await wait_until(
            lambda: _has_file(pair, uploaded["id"]), SILENCE_FLOOR_S + 5, "the fetch to end and be tried again"
        )
    finally:
        os.close(writer)  # the hung read ends (its answer goes nowhere)
    assert (s.data_dir / "files" / uploaded["id"]).read_bytes() == b"\xff\xd8scene photo"


async def _fifo_writer(path) -> int | None:
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise


async def test_lab_faults_only_on_lab_servers_and_for_admins(pair):
    async with pair.primary.client() as anonymous:
        assert (await anonymous.post("/api/v1/lab/faults", {"fault": "heal-link"})).status == 401
    pair.secondary.stop()
    pair.secondary.lab_faults = False
    await pair.secondary.power_on()
    async with pair.secondary.client(await pair.login(pair.primary)) as c:

        async def answered():  # the token minted on the active replicates to the standby
            reply = await c.post("/api/v1/lab/faults", {"fault": "power-off"})
            return reply if reply.status != 401 else None

        reply = await wait_until(answered, 10, "the standby to know the token")
    assert reply.status == 403 and "only on servers started by the lab" in reply["message"]
    assert pair.secondary.proc.poll() is None


async def test_cut_link_really_stops_heartbeats_and_heal_restores_them(pair):
    assert (await pair.fault(pair.secondary, fault="cut-link", direction="both")).ok
    st = await wait_until(lambda: _missed(pair.primary, pair), 10, "the primary to miss heartbeats")
    assert st["partner_role"] is None and st["standby_server_status"] == "Not Ready"
    assert (await pair.fault(pair.secondary, fault="heal-link")).ok
    await pair.wait_status(pair.primary, 10, standby_server_status="Ready")


async def _missed(server, pair):
    st = await pair.status(server)
    return st if st["heartbeat"]["missed_now"] >= 2 else None


async def test_power_off_fault_kills_the_process_at_once(pair):
    reply = await pair.fault(pair.primary, fault="power-off")
    assert reply.status == 202
    await wait_until(lambda: _exited(pair.primary), 5, "the process to die")
    assert pair.primary.proc.returncode == -9


async def _exited(server) -> bool:
    return server.proc.poll() is not None


async def test_concurrent_creates_of_one_name_make_one_record(pair):
    async with await pair.admin(pair.primary) as admin:
        replies = await asyncio.gather(
            *(admin.post("/api/v1/channels", {"name": "Dup"}) for _ in range(20)),
            *(
                admin.post("/api/v1/users", {"username": "twin", "password": f"pw-{i}-long", "role": "user"})
                for i in range(5)
            ),
        )
        channels = [c for c in (await admin.get("/api/v1/channels")).body["channels"] if c["name"] == "Dup"]
    statuses = sorted(r.status for r in replies)
    assert statuses.count(201) == 2 and statuses.count(409) == 23
    assert len(channels) == 1
