"""Only ticket holders get into the media router, under the ticket's name, to the talk
groups the ticket names (issue 14, item 15: an anonymous socket said hello as "dan",
joined Police, took the floor and was heard as dan).  Tickets here are signed with the
router's key as a server signs them; ``test_ptt_tickets.py`` gets them from servers.
Every test ends by checking that the router logged no ticket and not its key."""

from __future__ import annotations

import time

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.media import tone
from ipics_server.media.client import MediaClient, MediaRefused
from ipics_server.media.protocol import CLOSE_TICKET_EXPIRED, encode_audio
from ipics_server.media.ticket import SERVICE, issue

from .conftest import FIRE, POLICE, Ear, joined, raw


@pytest.fixture(autouse=True)
async def no_secret_logged(router):
    yield
    router.stop()  # everything it had to say is written
    logged = router.log_path.read_text() + router.stderr_path.read_text()
    assert "ipt1." not in logged, "a ticket in the router's log"
    assert router.ticket_key_file.read_text().strip() not in logged, "the key in the router's log"


async def test_an_anonymous_device_can_neither_talk_as_dan_nor_listen(router, connect):
    ursula = await connect("ursula")
    ear = Ear(ursula)
    await joined(ursula, group=POLICE)
    async with raw(router) as eve, raw(router) as mallory:
        refused = await eve.ask({"op": "hello", "who": "dan"})
        assert refused["code"] == "no_ticket" and "only ticket holders" in refused["message"]
        for op in ("join", "press"):
            assert (await eve.ask({"op": op, "group": POLICE}))["code"] == "hello_first"
        await eve.send(encode_audio(1, 0, time.monotonic_ns(), tone.tone_frame(0)))
        assert (await eve.event())["code"] == "hello_first"
        # A second anonymous socket hears nothing: it cannot even join.
        assert (await mallory.ask({"op": "hello", "who": "adam"}))["code"] == "no_ticket"
        assert (await mallory.ask({"op": "join", "group": POLICE}))["code"] == "hello_first"
    assert ear.audio == [] and ursula.talker(POLICE) is None
    stats = await router.stats()
    assert stats["talking"] == 0 and stats["counters"].get("frames_out", 0) == 0
    assert stats["counters"]["error.no_ticket"] == 2


def forged(key_holder, ticket: str) -> str:
    """The ticket's claims with more groups, under the same signature."""
    head, body, mac = ticket.split(".")
    other = key_holder("dan", [FIRE, POLICE, "1" * 32]).split(".")[1]
    return ".".join((head, other, mac))


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda t: issue(b"another lab's key, 32 bytes long!", "dan", [FIRE]), "bad_ticket", "not issued by"),
        (lambda t: forged(t, t("dan", [FIRE])), "bad_ticket", "not issued by"),
        (lambda t: t("dan", now=time.time() - 3600), "ticket_expired", "dan's ticket expired"),
        (lambda t: t("dan", now=time.time() + 3600), "bad_ticket", "in the future"),
        (lambda t: t("dan", lifetime_s=3 * 24 * 3600), "bad_ticket", "at most 86400 s"),
        (lambda t: "ipt1.e30.AAAA", "bad_ticket", "not issued by"),
        (lambda t: "dan", "bad_ticket", "not a push-to-talk ticket"),
        (lambda t: "x" * 20000, "too_big", "at most 1024 bytes"),
    ],
)
async def test_a_forged_tampered_expired_or_malformed_ticket_is_refused(router, ticket, make, code, words):
    async with raw(router) as ws:
        error = await ws.ask({"op": "hello", "ticket": make(ticket)})
        assert error["event"] == "error" and error["code"] == code, error
        assert words in error["message"]
        assert (await ws.ask({"op": "join", "group": FIRE}))["code"] == "hello_first"
        await ws.hello("dan")  # the same connection, with a good ticket
        assert (await ws.ask({"op": "join", "group": FIRE}))["event"] == "joined"


async def test_the_name_listeners_see_is_the_tickets_never_the_devices(router, ticket, connect):
    dan = await connect("dan")
    ear = Ear(dan)
    await joined(dan, group=FIRE)
    async with raw(router) as fred:
        refused = await fred.ask({"op": "hello", "ticket": ticket("fred", [FIRE]), "who": "dan"})
        assert refused["code"] == "not_yours" and "this ticket is fred's" in refused["message"]
        welcome = await fred.ask({"op": "hello", "ticket": ticket("fred", [FIRE])})
        assert welcome["event"] == "welcome" and welcome["who"] == "fred"
        slot = (await fred.ask({"op": "join", "group": FIRE}))["slot"]
        assert (await fred.ask({"op": "press", "group": FIRE}))["event"] == "granted"
        await fred.send(encode_audio(slot, 0, time.monotonic_ns(), tone.tone_frame(0)))
        await wait_until(lambda: len(ear.heard(FIRE)) == 1, 10, "dan to hear fred")
    assert ear.heard(FIRE)[0].talker == "fred" and ear.changes(FIRE)[0] == "fred"


async def test_a_user_cannot_join_nor_take_the_floor_of_a_group_his_ticket_does_not_name(router, connect):
    ursula = await connect("ursula", groups=[POLICE])
    ear = Ear(ursula)
    await joined(ursula, group=POLICE)
    fred = await connect("fred", groups=[FIRE])
    assert await fred.join(POLICE) is False
    assert fred.last_error.startswith("not_allowed: fred's ticket does not name talk group")
    assert await fred.press(POLICE) is False
    assert ursula.talker(POLICE) is None and ear.audio == []
    assert await fred.join(FIRE)  # his own group, on the same connection
    counters = (await router.stats())["counters"]
    assert counters["error.not_allowed"] == 2 and "floor_granted" not in counters  # the press joined first


async def test_a_renewed_ticket_takes_away_the_groups_it_no_longer_names(router, ticket, connect):
    dan, adam = await connect("dan"), await connect("adam")
    await joined(dan, adam, group=FIRE)
    await joined(dan, adam, group=POLICE)
    assert await dan.press(POLICE)
    await wait_until(lambda: adam.talker(POLICE) == "dan", 10, "adam to see dan talking")

    dan.renew(ticket("dan", [FIRE]))  # Police was unassigned from dan
    await wait_until(lambda: adam.talker(POLICE) is None, 10, "dan's floor on Police freed")
    assert not dan.joined(POLICE) and not dan.holding(POLICE) and dan.joined(FIRE)
    assert dan.stats["groups_revoked"] == 1 and dan.stats["renewed"] == 1
    assert await dan.join(POLICE) is False

    older = ticket("dan", [FIRE, POLICE], now=time.time() - 60)
    async with raw(router) as ws:
        await ws.hello("dan", [FIRE])
        refused = await ws.ask({"op": "renew", "ticket": older})
        assert refused["code"] == "stale_ticket"
        refused = await ws.ask({"op": "renew", "ticket": ticket("adam")})
        assert refused["code"] == "not_yours"
        renewed = await ws.ask({"op": "renew", "ticket": ticket("dan", [FIRE, POLICE])})
        assert renewed["event"] == "renewed" and renewed["expires_at"] > time.time() + 1000
        assert (await ws.ask({"op": "join", "group": POLICE}))["event"] == "joined"


async def test_a_servers_supersede_revokes_a_group_from_live_connections_and_older_tickets(router, ticket, connect):
    fred_before = ticket("fred", [FIRE, POLICE])
    fred, dan = await connect(ticket=fred_before), await connect("dan")
    await joined(fred, dan, group=POLICE)
    assert await fred.press(POLICE)
    await wait_until(lambda: dan.talker(POLICE) == "fred", 10, "dan to see fred talking")

    async with raw(router) as ws:  # a user cannot revoke anyone
        await ws.hello("dan")
        refused = await ws.ask({"op": "supersede", "ticket": ticket("fred", [])})
        assert refused["code"] == "forbidden" and "only an IPICS server" in refused["message"]

    server = await connect(ticket=ticket("ipics-server primary", [], kind=SERVICE))
    assert await server.join(POLICE)  # a server listens to any group ...
    assert await server.press(POLICE) is False  # ... and never talks
    server.supersede(ticket("fred", [FIRE]))  # an operator unassigned Police from fred
    await wait_until(lambda: dan.talker(POLICE) is None and not fred.joined(POLICE), 10, "fred to lose Police at once")
    assert server.stats["superseded"] == 1

    # His ticket from before is good for Fire still, not for Police.
    async with raw(router) as ws:
        assert (await ws.ask({"op": "hello", "ticket": fred_before}))["who"] == "fred"
        assert (await ws.ask({"op": "join", "group": POLICE}))["code"] == "not_allowed"
        assert (await ws.ask({"op": "join", "group": FIRE}))["event"] == "joined"
    # Police assigned to him again: his next ticket names it, and it is good.
    again = await connect(ticket=ticket("fred", [FIRE, POLICE]))
    assert await again.join(POLICE)
    assert (await router.stats())["superseded_users"] == 1


async def test_an_expired_ticket_closes_the_connection_and_frees_its_floor(router, ticket, connect):
    adam, dan = await connect("adam"), await connect("dan")
    await joined(dan, adam, group=FIRE)
    assert await dan.press(FIRE)
    await wait_until(lambda: adam.talker(FIRE) == "dan", 10, "adam to see dan talking")
    dan.renew(ticket("dan", lifetime_s=2))  # his last one: no newer comes (offline too long)
    await wait_until(lambda: dan.stats["renewed"] == 1, 10, "the router to take it")
    await wait_until(lambda: adam.talker(FIRE) is None, 10, "the router to free the expired ticket's floor")
    await wait_until(lambda: dan.refused is not None, 10, "dan's client to stop")
    assert "ticket expired" in dan.refused and not dan.connected
    assert (await router.stats())["counters"]["tickets_expired"] == 1

    dan.renew(ticket("dan"))  # the console's session got a new one: the client starts again
    await wait_until(lambda: dan.joined(FIRE), 10, "dan back on Fire")
    assert await dan.talk(FIRE, 0.04) == 2


async def test_the_router_closes_an_expired_connection_with_its_own_code(router, ticket):
    async with raw(router) as ws:
        await ws.ask({"op": "hello", "ticket": ticket("dan", lifetime_s=2)})
        expired = await ws.event()
        assert expired["code"] == "ticket_expired"
        closed = await ws.ws.receive(timeout=5)
        assert closed.type.name == "CLOSE" and closed.data == CLOSE_TICKET_EXPIRED


async def test_a_client_refused_for_its_ticket_starts_again_with_a_good_one(router, ticket):
    client = MediaClient(router.url, issue(b"another lab's key, 32 bytes long!", "dan", [FIRE]))
    client.start()
    try:
        with pytest.raises(MediaRefused, match="not issued by"):
            await client.wait_connected(5)
        client.renew(ticket("dan"))  # the console's next ticket
        await client.wait_connected(5)
        assert await client.join(FIRE) and client.connections == 2
    finally:
        await client.close()


async def test_a_router_started_again_is_told_the_revocations_again(router, ticket, connect):
    fred_before = ticket("fred", [FIRE, POLICE])
    server = await connect(ticket=ticket("ipics-server primary", [], kind=SERVICE))
    server.supersede(ticket("fred", [FIRE]))
    await wait_until(lambda: server.stats["superseded"] == 1, 10, "the router to take the revocation")
    router.kill()  # it forgets everything
    await router.start()
    await wait_until(lambda: server.stats["superseded"] == 2, 15, "the server's link to tell it again")
    async with raw(router) as ws:
        assert (await ws.ask({"op": "hello", "ticket": fred_before}))["who"] == "fred"
        assert (await ws.ask({"op": "join", "group": POLICE}))["code"] == "not_allowed"
