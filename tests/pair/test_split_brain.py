"""Split brain: both servers active after a cut link or a clock skew over 30 s, and
Go Standby, enabled only while both are active and communicating again."""

from __future__ import annotations

from ipics_lab.supervisor import wait_until

from .conftest import TAKEOVER_DEADLINE_S, channel_names, create_channel

SIX_DAYS_S = 6 * 24 * 3600


async def split_the_pair(pair, admin_token: str) -> None:
    """Cut the link both ways until the secondary has taken over too."""
    await pair.fault(pair.primary, fault="cut-link", direction="both")
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    st = await pair.status(pair.primary)
    assert st["role"] == "active" and st["split_brain"] is False  # not communicating: no Go Standby yet


async def test_a_cut_link_leaves_both_active_and_the_link_back_is_a_split_brain(pair):
    token = await pair.login(pair.primary)
    await split_the_pair(pair, token)

    # Clients can log in to either server; the data diverges.
    async with await pair.admin(pair.primary) as p, await pair.admin(pair.secondary) as s:
        await create_channel(p, "Fire (primary)")
        await create_channel(s, "Police (secondary)")
        assert "Police (secondary)" not in await channel_names(p)
        assert "Fire (primary)" not in await channel_names(s)

    await pair.fault(pair.primary, fault="heal-link")
    for server in pair.servers:
        st = await pair.wait_status(server, 10, split_brain=True)
        assert st["role"] == "active" and st["standby_server_status"] == "Not Ready"
        assert st["split"]["recommended_method"] == 1 and "Method 1" in st["split"]["recommendation"]
        assert 0 < st["split"]["duration_s"] < 3600
        assert st["split"]["go_standby_on"] == "secondary"
        assert "split brain" in st["decision"]


async def test_go_standby_on_the_secondary_logs_everyone_out_and_redirects_logins(pair):
    await split_the_pair(pair, await pair.login(pair.primary))
    async with await pair.admin(pair.secondary) as s:
        await create_channel(s, "Police (secondary)")
        await pair.fault(pair.primary, fault="heal-link")
        await pair.wait_status(pair.secondary, 10, split_brain=True)

        reply = await s.post("/api/v1/ha/go-standby")
        assert reply.ok, reply.body
        assert reply["role"] == "standby" and reply["logged_out"] is True

        # The session that pressed the button is gone with all the others.
        assert (await s.get("/api/v1/channels")).status in (401, 409)

    st = await pair.wait_status(pair.secondary, 10, role="standby", awaiting_repair=True)
    assert st["split_brain"] is False
    p = await pair.wait_status(pair.primary, 10, split_brain=False, partner_role="standby")
    assert p["role"] == "active" and p["standby_server_status"] == "Not Ready"  # until REPAIR
    async with pair.secondary.client() as c:
        refused = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
        assert refused.status == 409 and refused["active"] == pair.primary.url
        # Not in a split brain any more: the button is disabled again.
    async with await pair.admin(pair.primary) as p:
        again = await p.post("/api/v1/ha/go-standby")
        assert again.status == 409 and "split brain" in again["message"]
        # The secondary keeps its own data until REPAIR reconciles it: nothing adopted yet.
        assert "Police (secondary)" not in await channel_names(p)


async def test_a_split_brain_of_five_days_or_more_recommends_method_2(pair):
    await split_the_pair(pair, await pair.login(pair.primary))
    await pair.fault(pair.primary, fault="heal-link")
    await pair.wait_status(pair.primary, 10, split_brain=True)
    # Six days pass on both servers alike (no skew between them).
    for server in pair.servers:
        await pair.fault(server, fault="clock-offset", seconds=SIX_DAYS_S)

    async def method_2():
        st = await pair.status(pair.secondary)
        return st if st["split"] and st["split"]["recommended_method"] == 2 else None

    st = await wait_until(method_2, 10, "the recommendation to change to Method 2")
    assert st["split"]["duration_s"] >= 5 * 24 * 3600 and "Method 2" in st["split"]["recommendation"]
    assert st["split"]["duration"].startswith("6 d")


async def test_clocks_more_than_30_s_apart_lose_ha_communication(pair):
    await pair.fault(pair.secondary, fault="clock-offset", seconds=45)

    st = await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    assert 40 <= st["clock_skew_s"] <= 50 or -50 <= st["clock_skew_s"] <= -40
    assert any("more than 30 s" in m["text"] for m in st["messages"])
    p = await pair.status(pair.primary)
    assert p["role"] == "active" and p["heartbeat"]["missed_now"] > 0

    # NTP brings the clock back: communication returns, and both are active: split brain.
    await pair.fault(pair.secondary, fault="clock-offset", seconds=0)
    await pair.wait_status(pair.primary, 10, split_brain=True)


async def test_clocks_up_to_30_s_apart_keep_the_pair(pair):
    await pair.fault(pair.secondary, fault="clock-offset", seconds=20)

    async def measured():
        st = await pair.status(pair.primary)
        skew = st["clock_skew_s"]
        return st if skew is not None and 15 <= abs(skew) <= 25 else None

    st = await wait_until(measured, 10, "a heartbeat with the skewed clock")
    assert st["heartbeat"]["missed_now"] == 0 and st["standby_server_status"] == "Ready"
    assert (await pair.status(pair.secondary))["role"] == "standby"
