"""Push-to-talk tickets from real servers: a logged-in user gets one from the active
naming him and the channels and VTGs the API lists for him; with it he talks on the
router under his own name and only there; a channel taken from him is taken at once
(the servers of ``media_demo`` have the router, and tell it).  Neither the servers nor
the router log a ticket."""

from __future__ import annotations

import contextlib

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.media.client import MediaClient
from ipics_server.media.ticket import load_key, verify

from .conftest import Ear, logged_in, server_ticket, user_ticket


async def listed_talk_groups(api) -> set[str]:
    return {c["id"] for c in (await api.get("/api/v1/channels")).body["channels"]} | {
        v["id"] for v in (await api.get("/api/v1/vtgs")).body["vtgs"]
    }


@pytest.mark.pair
async def test_a_logged_in_user_gets_a_ticket_naming_him_and_his_channels_and_vtgs(demo):
    pair = demo.pair
    for user in ("fred", "dan", "adam"):
        async with await logged_in(pair.primary, user, demo.password) as api:
            issued = await server_ticket(api)
            assert issued["user"] == user and set(issued["groups"]) == await listed_talk_groups(api)
        claims = verify(load_key(pair.media_ticket_key_file), issued["ticket"])  # as the router checks it
        assert (claims.who, claims.groups, claims.issuer) == (user, set(issued["groups"]), "primary")
        assert issued["expires_at"] == claims.expires_at and 1790 < issued["expires_in_s"] <= 1800
        assert issued["refresh_after_s"] == 450
    fire, police = demo.seeded["channels"]["Fire"], demo.seeded["channels"]["Police"]
    assert fire in claims.groups  # adam's
    fred = verify(load_key(pair.media_ticket_key_file), await user_ticket(pair.primary, "fred", demo.password))
    assert fire in fred.groups and police not in fred.groups

    async with pair.primary.client() as anonymous:
        refused = await anonymous.post("/api/v1/media/ticket", {})
        assert refused.status == 401
        token = (await anonymous.post("/api/v1/auth/login", {"username": "fred", "password": demo.password}))["token"]
    async with pair.secondary.client(token) as on_standby:
        reply = await on_standby.post("/api/v1/media/ticket", {})
    assert reply.status == 409 and reply.body["active"] == pair.primary.url  # the standby names the active
    async with pair.primary.client() as c:
        spec = (await c.get("/api/openapi.json")).body
    assert spec["paths"]["/api/v1/media/ticket"]["post"]["security"] == [{"bearer": []}]


@pytest.mark.pair
async def test_with_his_servers_ticket_a_user_talks_only_as_himself_and_only_on_his_groups(demo, router, connect):
    fire, police = demo.seeded["channels"]["Fire"], demo.seeded["channels"]["Police"]
    dan = await connect(ticket=await user_ticket(demo.pair.primary, "dan", demo.password))
    fred = await connect(ticket=await user_ticket(demo.pair.primary, "fred", demo.password))
    ear = Ear(dan)
    assert fred.who == "fred"
    assert await fred.join(police) is False  # not his
    assert "not_allowed" in fred.last_error
    assert await dan.join(police) and await dan.join(fire) and await fred.join(fire)
    assert await fred.talk(fire, 0.1) == 5
    await wait_until(lambda: len(ear.heard(fire)) == 5, 10, "dan to hear fred")
    assert {h.talker for h in ear.heard(fire)} == {"fred"} and ear.heard(police) == []


async def test_a_channel_unassigned_is_taken_from_the_users_connections_and_older_tickets_at_once(media_demo):
    demo = media_demo
    pair, police = demo.pair, demo.seeded["channels"]["Police"]
    async with contextlib.AsyncExitStack() as clients:

        async def connect(ticket: str) -> MediaClient:
            return await clients.enter_async_context(await MediaClient.connect(demo.router.url, ticket))

        ursulas_ticket = await user_ticket(pair.primary, "ursula", demo.password)
        ursula = await connect(ursulas_ticket)
        dan = await connect(await user_ticket(pair.primary, "dan", demo.password))
        assert await ursula.join(police) and await dan.join(police)
        assert await ursula.press(police)
        await wait_until(lambda: dan.talker(police) == "ursula", 10, "dan to see ursula talking")

        async with await logged_in(pair.primary, "adam", demo.password) as operator:
            assert (await operator.delete(f"/api/v1/channels/{police}/assignments/ursula")).ok
        # The active tells the router: Ursula loses Police now, not when her ticket runs out.
        await wait_until(
            lambda: not ursula.joined(police) and dan.talker(police) is None, 10, "ursula to lose Police and its floor"
        )
        assert ursula.stats["groups_revoked"] == 1
        again = await connect(ursulas_ticket)  # the ticket she had
        assert await again.join(police) is False and "not_allowed" in again.last_error

        async with await logged_in(pair.primary, "adam", demo.password) as operator:
            assert (await operator.post(f"/api/v1/channels/{police}/assignments", {"username": "ursula"})).ok
        ursula.renew(await user_ticket(pair.primary, "ursula", demo.password))  # her console asks again
        assert await ursula.join(police)

    for server in pair.servers:
        assert "ipt1." not in server.log_path.read_text(), f"a ticket in the {server.name}'s log"
