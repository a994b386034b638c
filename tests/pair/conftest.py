"""A real HA pair: two ``ipics-lab server`` processes on loopback, time-scaled.

At time scale 0.01 with a 5 s heartbeat interval and 5 missed heartbeats, the 25 s
failover window passes in 0.25 real seconds and a 150-180 s takeover in under 2.

``lab``, ``pair`` and ``demo`` are the lab's pytest plugin's ``ipics_lab``,
``ipics_pair`` and ``ipics_demo`` (lab/pytest_plugin.py), so every test
here also tests the plugin; the constants below are its defaults.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ipics_lab import pytest_plugin as plugin
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.supervisor import LabPair
from ipics_server.adapters.httpclient import ApiClient

USER_PASSWORD = plugin.DEMO_PASSWORD
DEMO_PIN = plugin.DEMO_PIN
TIME_SCALE = plugin.DEFAULT_TIME_SCALE
INTERVAL_S = plugin.DEFAULT_HEARTBEAT_INTERVAL_S
MISSED = plugin.DEFAULT_MISSED_HEARTBEATS
#: real seconds a whole takeover may take here: window + 300 s worst case, scaled, plus slack
TAKEOVER_DEADLINE_S = plugin.takeover_deadline_s(TIME_SCALE, INTERVAL_S, MISSED)


@pytest.fixture
def lab(ipics_lab, ipics_takeover_deadline_s):
    """An unstarted pair at ``TIME_SCALE``, stopped after the test (``ipics_lab``)."""
    # This suite's deadlines are the constants above: run it at the plugin's defaults.
    if (ipics_lab.time_scale, ipics_takeover_deadline_s) != (TIME_SCALE, TAKEOVER_DEADLINE_S):
        pytest.fail(
            f"the project's tests run at time scale {TIME_SCALE} with a {INTERVAL_S} s heartbeat and "
            f"{MISSED} missed: drop --ipics-time-scale and the ipics_* ini options",
            pytrace=False,
        )
    return ipics_lab


@pytest.fixture
def pair(lab, ipics_pair):
    """A configured pair with the standby Ready (``ipics_pair``)."""
    return ipics_pair


@pytest.fixture
def demo(pair, ipics_demo):
    """The pair with the demo data: Dan, Adam, Ursula, Amy, Fred (Dial Login user IDs
    1001-1005, PIN ``DEMO_PIN``), their channels, VTGs, and the warehouse fire incident
    with its photo (``ipics_demo``)."""
    return ipics_demo


@pytest.fixture
@starts_processes
async def media_demo(tmp_path):
    """A media router process, and the demo pair using it for phones and telephones."""
    from ipics_lab.media_process import MediaProcess
    from ipics_lab.seed import seed_demo_data
    from ipics_server.media.ticket import KEY_FILE_NAME

    # The key the pair signs push-to-talk tickets with (a LabPair's in its root).
    router = MediaProcess(tmp_path / "media", time_scale=TIME_SCALE, ticket_key_file=tmp_path / KEY_FILE_NAME)
    await router.start()
    ha = LabPair(tmp_path, time_scale=TIME_SCALE, media_router=router.url)
    try:
        await ha.up(interval_s=INTERVAL_S, missed_count=MISSED)
        async with await ha.admin(ha.primary) as admin:
            seeded = await seed_demo_data(admin, USER_PASSWORD, DEMO_PIN)
        await ha.wait_ready()
        yield SimpleNamespace(pair=ha, router=router, seeded=seeded, password=USER_PASSWORD, pin=DEMO_PIN)
    finally:
        ha.stop()
        router.stop()


async def create_channel(client: ApiClient, name: str) -> dict:
    reply = await client.post("/api/v1/channels", {"name": name})
    assert reply.status == 201, reply.body
    return reply.body


async def channel_names(client: ApiClient) -> set[str]:
    reply = await client.get("/api/v1/channels")
    assert reply.ok, reply.body
    return {c["name"] for c in reply.body["channels"]}


async def shell(pair: LabPair, server, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
    """Run one command in the server's SSH shell, as an administrator would; (output, status)."""
    return await pair.shell(server, command, user)


async def discarded_on(pair: LabPair, server) -> list[dict]:
    """The server's discarded-records log, read with an administrator token from the
    active (a standby refuses logins; the token reaches it with the next replication)."""
    from ipics_lab.supervisor import wait_until

    token = await pair.any_admin_token(pair.primary)
    async with server.client(token) as c:

        async def read():
            reply = await c.get("/api/v1/ha/discarded")
            return reply.body["discarded"] if reply.ok else None

        return await wait_until(read, 10, f"{server.name} to accept the token")
