"""The witness on a site of its own, the active's site unplugged by the kernel: the
isolated active steps down by itself within the stated bound (its lease, one failover
window, plus a heartbeat interval), the standby takes over with the witness's vote,
and at no moment are two servers active.  Strict synchronous replication beside it:
the lone new active refuses writes rather than acknowledge what only it holds."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from . import SITES
from .test_kernel_faults import net_namespace, run_in

pytestmark = SITES


@pytest.fixture
def ipics_topology() -> str:
    return "sites"


@pytest.fixture
def ipics_modes() -> str:
    return "witness+synchronous-strict"


def status_from_inside(pair, server) -> dict:
    """The server's HA status as a host on its own (unplugged) site reads it."""
    code = (
        "import json, ssl, urllib.request\n"
        f"ctx = ssl.create_default_context(cafile={str(pair.ca_file)!r})\n"
        f"print(urllib.request.urlopen({server.url + '/api/v1/ha/status'!r}, context=ctx, timeout=5).read().decode())\n"
    )
    done = run_in(server.site, code)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_an_unplugged_active_steps_down_before_the_standby_takes_over_with_the_witness_vote(
    ipics_pair, ipics_takeover_deadline_s
):
    pair = ipics_pair
    primary, secondary, witness = pair.primary, pair.secondary, pair.witness
    assert witness is not None and witness.url.startswith(f"https://{pair.sites['witness'].address}:")
    assert net_namespace(witness.pid) not in {net_namespace(os.getpid()), net_namespace(primary.pid)}
    st = await pair.wait_status(primary, 10, role="active", **{"witness": lambda w: w["holds_vote"]})
    assert st["modes"]["label"] == "synchronous (strict) + witness"
    interval, missed = st["heartbeat"]["interval_s"], st["heartbeat"]["missed_count"]
    scale = st["time_scale"]

    await pair.network.unplug("primary")
    unplugged = time.monotonic()
    # Read from inside its site, where it still answers: it steps down by itself.
    stepped = None
    while time.monotonic() - unplugged < ipics_takeover_deadline_s:
        inside = status_from_inside(pair, primary)
        if inside["role"] == "standby":
            stepped = time.monotonic() - unplugged
            break
        assert inside["role"] == "active"
        await asyncio.sleep(0.05)
    assert stepped is not None, "the isolated active never stepped down"
    assert "fencing by self-demotion" in inside["decision"] or any(
        "fencing by self-demotion" in m["text"] for m in inside["messages"]
    )
    # The stated bound: the lease (one failover window) plus a heartbeat interval, in
    # emulated seconds; a real second of slack for the calls that time out meanwhile.
    bound_real = (interval * missed + interval) * scale + 1.0
    assert stepped <= bound_real, f"stepped down after {stepped:.2f} s real, bound {bound_real:.2f} s"

    st = await pair.wait_status(secondary, ipics_takeover_deadline_s, role="active")
    assert st["witness"]["holder"] == "secondary" and st["witness"]["holds_vote"]
    assert status_from_inside(pair, primary)["role"] == "standby"  # never two actives
    assert (await witness.status())["holder"] == "secondary"
    # Strict synchronous and no standby: refused, not acknowledged and then lost.
    async with await pair.admin(secondary) as admin:
        refused = await admin.post("/api/v1/channels", {"name": "Alone"})
    assert refused.status == 503 and refused["error"] == "no_synchronous_standby"

    await pair.network.heal()
    await pair.wait_status(secondary, ipics_takeover_deadline_s, role="active", standby_server_status="Ready")
    assert (await pair.status(primary))["role"] == "standby"
