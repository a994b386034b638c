"""Failover tests written with the lab's pytest plugin (installed with ipics-ha-lab).

No conftest needed: the ``ipics_*`` fixtures come from the plugin.  Copy this file
anywhere and run ``python -m pytest test_trainer_plugin.py`` (``--ipics-time-scale
0.05`` for a slower lab; without a display Qt renders offscreen).
"""

import pytest

from ipics_clients.session import State
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

pytestmark = pytest.mark.asyncio  # not needed where asyncio_mode = auto

CHANNELS = {"Fire", "Police", "EMS", "Public Works"}


async def channel_names(client: ApiClient) -> set[str]:
    reply = await client.get("/api/v1/channels")
    assert reply.ok, reply.body
    return {channel["name"] for channel in reply.body["channels"]}


async def test_the_secondary_takes_over_when_the_primary_loses_power(
    ipics_demo, ipics_addresses, ipics_admin, ipics_faults, ipics_takeover_deadline_s
):
    pair = ipics_demo.pair
    assert ipics_admin.base_url == ipics_addresses.primary.url  # the active
    assert await channel_names(ipics_admin) == CHANNELS

    await ipics_faults.power_off("primary")  # kill -9: the earthquake
    await pair.wait_status(pair.secondary, ipics_takeover_deadline_s, role="active")

    # The administrator's session replicated: the same token works on the new active.
    async with ApiClient(ipics_addresses.secondary.url, token=ipics_admin.token) as admin:
        assert await channel_names(admin) == CHANNELS

    await ipics_faults.power_on("primary")  # no failback: it rejoins as the standby
    await pair.wait_status(pair.primary, ipics_takeover_deadline_s, role="standby")


async def test_dans_console_reconnects_to_the_new_active_by_itself(
    ipics_idc, ipics_addresses, ipics_faults, ipics_takeover_deadline_s
):
    dan = await ipics_idc("dan")  # an IDC in qtbot, logged in on the active
    assert dan.session.server == ipics_addresses.primary.url
    assert dan.window.status_connection.text() == "Online"

    await ipics_faults.power_off("primary")
    # No user action from here on.
    await wait_until(
        lambda: dan.session.state == State.ONLINE and dan.session.server == ipics_addresses.secondary.url,
        ipics_takeover_deadline_s,
        "Dan's console online on the secondary",
    )
    assert dan.window.isVisible()
    assert ipics_addresses.secondary.url in dan.window.status_server.text()
