"""The chapter's example: Dan reaches Adam by push-to-talk while the servers fail over.

A real configured HA pair (time scale 0.01) and a real media router: the active is
killed with kill -9, and Dan keeps talking to Adam on the Fire channel, before the
kill, while the secondary is still standby or transitioning, and after it is active.
The media router does not depend on the servers, so nothing of PTT is lost: the
tickets the primary issued at login stay good while no server is active, and the
tickets of the new active work on the same router.
"""

from __future__ import annotations

import time

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.media import tone

from ..pair.conftest import TAKEOVER_DEADLINE_S
from .conftest import Ear, joined, logged_in, server_ticket

BURST_S = 0.1  # five 20 ms frames


async def burst(dan, ear: Ear, group: str) -> list:
    """Dan talks for BURST_S; everything Adam heard of it, once it all arrived."""
    before = len(ear.heard(group))
    sent = await dan.talk(group, BURST_S)
    assert sent == 5, "dan's press was denied or his audio dropped"
    await wait_until(lambda: len(ear.heard(group)) == before + sent, 5, "adam to hear the whole burst")
    return ear.heard(group)[before:]


@pytest.mark.pair
async def test_dan_reaches_adam_by_ptt_while_the_active_server_is_down(demo, router, connect):
    pair, fire = demo.pair, demo.seeded["channels"]["Fire"]
    clients = []
    for user in ("dan", "adam"):  # each logs in on the active and gets his ticket there
        async with await logged_in(pair.primary, user, demo.password) as api:
            issued = await server_ticket(api)
        assert issued["user"] == user and issued["issuer"] == "primary" and fire in issued["groups"]
        clients.append(await connect(ticket=issued["ticket"]))
    dan, adam = clients
    ear = Ear(adam)
    await joined(dan, adam, group=fire)

    heard = {"before": await burst(dan, ear, fire)}
    pair.primary.kill()  # the earthquake
    killed = time.monotonic()

    roles: list[str] = []  # the secondary's role right after each burst
    while not roles or roles[-1] != "active":
        assert time.monotonic() - killed < TAKEOVER_DEADLINE_S, f"no takeover; roles seen {roles}"
        heard.setdefault("outage", []).extend(await burst(dan, ear, fire))
        roles.append((await pair.status(pair.secondary))["role"])
    heard["after"] = await burst(dan, ear, fire)

    # Dan was heard while the secondary was still standby or transitioning: PTT did
    # not wait for the failover.
    assert roles[0] in ("standby", "transitioning"), roles
    assert "transitioning" in roles, roles
    for when, frames in heard.items():
        assert {h.talker for h in frames} == {"dan"}, when
        assert all(h.payload == tone.tone_frame(h.seq) for h in frames), when
    everything = ear.heard(fire)
    assert [h.seq for h in everything] == list(range(len(everything)))  # nothing lost or reordered
    await wait_until(lambda: adam.talker(fire) is None, 5, "adam to see dan stop")
    assert ear.changes(fire) == ["dan", None] * (2 + len(roles))  # each burst: talking, then nobody

    # The talk group is keyed by the channel's id, which replicated: the new active has
    # it, and Dan's next ticket, from the new active, names it and works on the router.
    async with await logged_in(pair.secondary, "dan", demo.password) as api:
        assert fire in {c["id"] for c in (await api.get("/api/v1/channels")).body["channels"]}
        issued = await server_ticket(api)
    assert issued["issuer"] == "secondary" and fire in issued["groups"]
    dan.renew(issued["ticket"])
    await wait_until(lambda: dan.stats["renewed"] == 1, 10, "the router to take the new active's ticket")
    assert [h.talker for h in await burst(dan, ear, fire)] == ["dan"] * 5
