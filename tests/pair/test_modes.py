"""The modes beyond IPICS on a real pair: synchronous replication (strict and fallback)
and the witness.  Each test picks its modes by parametrizing the plugin's
``ipics_modes`` fixture; IPICS's own behaviour stays the default everywhere else."""

from __future__ import annotations

import asyncio
import signal

import pytest

from ipics_lab.supervisor import wait_until

from .conftest import INTERVAL_S, MISSED, TAKEOVER_DEADLINE_S, TIME_SCALE, channel_names

#: real seconds of the failover window at the suite's settings
WINDOW_S = INTERVAL_S * MISSED * TIME_SCALE


async def _create(client, name: str):
    return await client.post("/api/v1/channels", {"name": name})


@pytest.mark.parametrize("ipics_modes", ["synchronous-strict"])
async def test_strict_synchronous_keeps_every_acknowledged_write_through_a_kill_9_and_refuses_without_a_standby(
    pair,
):
    st = await pair.wait_status(pair.primary, 10, role="active")
    assert st["modes"]["replication"] == "synchronous" and st["modes"]["synchronous_policy"] == "strict"

    async def synchronous():  # the standby Ready and caught up (on a loaded machine, a moment after the start)
        return (await pair.status(pair.primary))["synchronous"]["state"] == "synchronous"

    await pair.wait_until(synchronous, 10, "the primary to replicate synchronously")
    async with await pair.admin(pair.primary) as admin:
        token = admin.token
        # A burst of concurrent writes, and kill -9 the moment the last is acknowledged:
        # in IPICS mode some would still be in the transaction log, lost with the server.
        incident = (await admin.post("/api/v1/incidents", {"name": "Warehouse fire"}))["id"]
        photo = b"\xff\xd8\xff\xe0 the scene"
        upload = admin.request(
            "POST",
            f"/api/v1/incidents/{incident}/files?name=scene.jpg",
            data=photo,
            headers={"Content-Type": "image/jpeg"},
        )
        *replies, uploaded = await asyncio.gather(*(_create(admin, f"Sync {i}") for i in range(30)), upload)
        assert all(r.status == 201 for r in replies), [r.body for r in replies if r.status != 201]
        assert uploaded.status == 201, uploaded.body
        pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with pair.secondary.client(token) as c:
        assert {f"Sync {i}" for i in range(30)} <= await channel_names(c)
        # the upload's content too, not only its record (contents replicate apart, later)
        got = await c.request("GET", f"/api/v1/incidents/{incident}/files/{uploaded['id']}", binary=True)
        assert got.status == 200 and got.body == photo, got.body
        # The new active has no standby: strict refuses writes at once, nothing written.
        refused = await _create(c, "Without A Standby")
        assert refused.status == 503 and refused["error"] == "no_synchronous_standby", refused.body
        assert "Without A Standby" not in await channel_names(c)
    st = await pair.wait_status(pair.secondary, 5, role="active")
    assert st["synchronous"]["state"] == "refusing" and st["synchronous"]["writes_refused"] >= 1
    assert any("strict synchronous replication" in m["text"] for m in st["messages"])

    # The old active comes back as the standby, adopts, is Ready: writes are taken again.
    await pair.primary.power_on()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active", standby_server_status="Ready")
    async with pair.secondary.client(token) as c:

        async def taken():
            reply = await _create(c, "Standby Back")
            return reply.status == 201

        await wait_until(taken, 10, "writes to be taken with the standby Ready again")
    st = await pair.wait_status(pair.secondary, 5, role="active")
    assert st["synchronous"]["state"] == "synchronous"


@pytest.mark.parametrize("ipics_modes", ["synchronous-fallback"])
async def test_fallback_synchronous_waits_for_the_deadline_then_acknowledges_without_the_standby_and_says_so(pair):
    async with await pair.admin(pair.primary) as admin:
        assert (await _create(admin, "While Synchronous")).status == 201
        pair.secondary.kill()
        # Written while the standby is gone: answered only once the deadline (the failover
        # window) has passed without a standby, then acknowledged as IPICS would.
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await _create(admin, "After The Deadline")
        waited = loop.time() - started
        assert reply.status == 201, reply.body
        assert waited >= WINDOW_S * 0.8, f"acknowledged after {waited:.2f} s, before the {WINDOW_S:.2f} s deadline"
        st = await pair.wait_status(pair.primary, 5, role="active")
        assert st["synchronous"]["state"] == "suspended"
        assert st["synchronous"]["acknowledged_without_standby"] >= 1
        assert any("synchronous replication suspended" in m["text"] for m in st["messages"])
        # Suspended: the next write is acknowledged at once.
        started = loop.time()
        assert (await _create(admin, "Suspended")).status == 201
        assert loop.time() - started < WINDOW_S * 0.8

    await pair.secondary.power_on()
    await pair.wait_status(pair.primary, TAKEOVER_DEADLINE_S, standby_server_status="Ready")
    st = await pair.wait_status(pair.primary, 10, **{"synchronous": lambda v: v["state"] == "synchronous"})
    assert any("writes are acknowledged once the standby has them" in m["text"] for m in st["messages"])


@pytest.mark.parametrize("ipics_modes", ["witness"])
async def test_with_a_witness_a_cut_link_makes_no_second_active_and_a_dead_active_is_replaced(pair):
    witness = pair.witness
    assert witness is not None and witness.running
    await pair.wait_status(pair.primary, 10, **{"witness": lambda w: w["holds_vote"]})
    assert (await witness.status())["holder"] == "primary"

    # The link between the servers cut, both reach the witness: the standby misses its
    # heartbeats and asks for the vote; it is the active's, so no takeover, ever.
    await pair.network.cut_link("secondary", "both")
    st = await pair.wait_status(
        pair.secondary, 10, **{"witness": lambda w: w["votes_refused"] >= 1 and w["holder"] == "primary"}
    )
    assert st["role"] == "standby"
    assert "witness" in st["decision"]
    # Longer than a whole takeover would take without a witness (the window, then at most
    # 180 s of transition, emulated): still one active.  Nothing to wait for but time.
    await asyncio.sleep((INTERVAL_S * MISSED + 180 + 2 * INTERVAL_S) * TIME_SCALE + 0.5)
    assert (await pair.status(pair.secondary))["role"] == "standby"
    assert (await pair.status(pair.primary))["role"] == "active"
    await pair.network.heal()
    await pair.wait_status(pair.primary, 10, role="active", standby_server_status="Ready")

    # The active killed: its lease runs out, the witness votes for the standby, which takes over.
    pair.primary.kill()
    st = await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    assert st["witness"]["holds_vote"] and st["witness"]["holder"] == "secondary"
    assert st["witness"]["votes_granted"] >= 1
    assert "with the witness's vote" in st["decision"] or st["transition"] is None
    assert (await witness.status())["holder"] == "secondary"


@pytest.mark.parametrize("ipics_modes", ["witness"])
async def test_with_a_witness_an_active_paused_past_its_lease_steps_down_when_it_resumes(pair):
    """A SIGSTOPped active keeps its memory of a healthy pair: resumed while the standby
    assumes the active role with the witness's vote, it hears the partner taking over and
    holds no vote, so it steps down (and takes no write meanwhile): never two actives."""
    await pair.wait_status(pair.primary, 10, **{"witness": lambda w: w["holds_vote"]})
    pair.primary.proc.send_signal(signal.SIGSTOP)
    try:
        await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="transitioning")
    finally:
        pair.primary.proc.send_signal(signal.SIGCONT)
    st = await pair.wait_status(pair.primary, 10, role="standby")
    assert "fencing by self-demotion" in " ".join(m["text"] for m in st["messages"])
    while (secondary := await pair.status(pair.secondary))["role"] != "active":
        assert (await pair.status(pair.primary))["role"] != "active", "two actives"
        await asyncio.sleep(0.05)
    assert secondary["witness"]["holder"] == "secondary"
    assert (await pair.status(pair.primary))["role"] == "standby"


@pytest.mark.parametrize("ipics_modes", ["witness"])
async def test_with_a_witness_ha_is_never_unconfigured_behind_the_standbys_back(pair):
    """With the standby gone, Unconfigure and the 90 % safeguard would leave the active
    serving alone while the standby, back behind a cut link, assumes the active role with
    the witness's vote: refused, and the log runs on to DDRBLOCK instead."""
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=20)
    async with await pair.admin(pair.primary) as admin:
        pair.secondary.kill()
        await pair.wait_status(pair.primary, 10, standby_server_status="Not Ready")
        refused = await admin.post("/api/v1/ha/unconfigure")
        assert refused.status == 409 and "witness mode" in refused["message"], refused.body
        for i in range(40):
            reply = await admin.post("/api/v1/channels", {"name": f"Queued {i}"})
            if reply.status != 201:
                break
        assert reply.status == 503 and reply["error"] == "ddrblock", reply.body
    st = await pair.status(pair.primary)
    assert st["ha"] == "configured" and st["role"] == "active"
    assert "not done in witness mode" in " ".join(m["text"] for m in st["messages"])
