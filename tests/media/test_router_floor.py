"""``RouterFloor``: the console's ``Floor`` interface carried by a real router process.
Each floor stands for one console (one process in the lab); the answers are synchronous
from local knowledge, the router has the last word."""

from __future__ import annotations

import pytest

from ipics_clients.router_floor import RouterFloor
from ipics_lab.supervisor import free_port_on, wait_until
from ipics_server.media import tone

from .conftest import FIRE, POLICE


class Console:
    """A console's view: the floor and every (group, talker) it was told."""

    def __init__(self, floor: RouterFloor):
        self.floor = floor
        self.told: list[tuple[str, str | None]] = []
        floor.subscribe(lambda g, t: self.told.append((g, t)))

    def changes(self, group: str) -> list[str | None]:
        return [t for g, t in self.told if g == group]


@pytest.fixture
async def consoles(router, ticket):
    made: list[RouterFloor] = []

    def make(who: str | None = None, url: str | None = None, **kw) -> Console:
        """A console logged in as ``who`` (its ticket given), or not logged in."""
        floor = RouterFloor(url or router.url, ticket=ticket(who) if who else None, **kw)
        made.append(floor)
        return Console(floor)

    yield make
    for floor in made:
        await floor.close()


async def listening(*consoles: Console, group: str) -> None:
    for c in consoles:
        assert c.floor.talker(group) is None  # a talk-group row asks this: the floor joins the group
    await wait_until(
        lambda: all(c.floor.client and c.floor.client.joined(group) for c in consoles),
        10,
        "every console to join the group",
    )


async def test_a_press_answers_at_once_and_every_console_learns_the_talker(consoles, router):
    dan, adam = consoles("dan"), consoles("adam")
    await listening(dan, adam, group=FIRE)

    assert dan.floor.press(FIRE, "dan") is True  # synchronous, from local knowledge
    assert dan.floor.talker(FIRE) == "dan" and dan.told == [(FIRE, "dan")]
    await wait_until(lambda: adam.floor.talker(FIRE) == "dan", 10, "adam's console to show dan")
    assert adam.floor.press(FIRE, "adam") is False  # dan holds it: nothing is asked of the router

    # Dan's console streams the tone while he holds the button.
    await wait_until(lambda: adam.floor.heard[FIRE] >= 10, 10, "adam to hear dan's tone")
    heard = []
    adam.floor.on_audio(lambda g, who, seq, payload, ns: heard.append((who, payload)))
    await wait_until(lambda: len(heard) >= 3, 10, "more audio")
    assert all(who == "dan" and tone.is_tone(p) for who, p in heard)

    dan.floor.release(FIRE, "dan")
    await wait_until(lambda: adam.floor.talker(FIRE) is None, 10, "adam's console to show nobody")
    assert dan.changes(FIRE) == ["dan", None] and adam.changes(FIRE) == ["dan", None]
    assert (await router.stats())["talking"] == 0


async def test_a_race_lost_at_the_router_tells_the_listeners_the_real_talker(consoles):
    dan, adam = consoles("dan"), consoles("adam")
    await listening(dan, adam, group=FIRE)
    # Both press before either hears of the other: both are allowed locally ...
    assert dan.floor.press(FIRE, "dan") and adam.floor.press(FIRE, "adam")
    # ... the router grants one, and the other console is told who really talks.
    await wait_until(
        lambda: dan.floor.talker(FIRE) is not None and dan.floor.talker(FIRE) == adam.floor.talker(FIRE),
        10,
        "both consoles to agree",
    )
    winner = dan.floor.talker(FIRE)
    loser = adam if winner == "dan" else dan
    assert loser.changes(FIRE)[-1] == winner
    loser.floor.release(FIRE, loser.floor.client.who)  # the loser lets go of the button: no effect
    assert dan.floor.talker(FIRE) == adam.floor.talker(FIRE) == winner


async def test_a_press_released_before_the_router_answers_leaves_no_stuck_floor(consoles, router):
    dan, adam = consoles("dan"), consoles("adam")
    await listening(dan, adam, group=FIRE)
    for _ in range(5):
        assert dan.floor.press(FIRE, "dan")
        dan.floor.release(FIRE, "dan")
    await wait_until(
        lambda: dan.floor.client.talker(FIRE) is None and adam.floor.client.talker(FIRE) is None,
        10,
        "the router's floor to be free",
    )
    assert dan.floor.talker(FIRE) is None and adam.floor.talker(FIRE) is None
    assert (await router.stats())["talking"] == 0
    assert adam.floor.press(FIRE, "adam")
    await wait_until(lambda: dan.floor.talker(FIRE) == "adam", 10, "dan's console to show adam")


async def test_release_all_and_a_new_user_on_the_same_console(consoles, ticket):
    console, adam = consoles("dan"), consoles("adam")
    await listening(console, adam, group=FIRE)
    await listening(console, adam, group=POLICE)
    assert console.floor.press(FIRE, "dan") and console.floor.press(POLICE, "dan")
    await wait_until(lambda: adam.floor.talker(FIRE) == adam.floor.talker(POLICE) == "dan", 10, "dan on both")
    console.floor.release_all("dan")  # logout
    await wait_until(
        lambda: adam.floor.talker(FIRE) is None and adam.floor.talker(POLICE) is None, 10, "both floors free"
    )
    # Amy logs in on the same console (her ticket comes): the router stamps her name.
    console.floor.set_ticket(ticket("amy"))
    assert not console.floor.press(FIRE, "dan")  # nobody talks under another's name
    assert console.floor.press(FIRE, "amy")
    await wait_until(lambda: adam.floor.talker(FIRE) == "amy", 10, "adam to see amy talking")
    await wait_until(
        lambda: console.floor.client.who == "amy" and console.floor.client.joined(POLICE),
        10,
        "amy's connection to listen to every group",
    )


async def test_without_a_router_a_press_is_taken_back(consoles):
    nowhere = f"ws://127.0.0.1:{free_port_on('127.0.0.1')}/media"
    dan = consoles("dan", url=nowhere)
    assert dan.floor.talker(FIRE) is None
    assert dan.floor.press(FIRE, "dan")
    await wait_until(lambda: dan.floor.talker(FIRE) is None, 10, "the press to be taken back")
    assert dan.changes(FIRE) == ["dan", None]
    assert not dan.floor.connected


async def test_an_id_the_router_does_not_carry_stays_on_this_console(consoles):
    dan = consoles("dan")
    assert dan.floor.talker("not an id!") is None
    assert dan.floor.press("not an id!", "dan")
    assert dan.floor.talker("not an id!") == "dan"
    dan.floor.release("not an id!", "dan")
    assert dan.changes("not an id!") == ["dan", None]


async def test_a_press_waits_a_moment_for_the_logins_ticket_and_without_one_is_taken_back(consoles, ticket):
    dan, adam = consoles(), consoles("adam")  # dan's console before its ticket came
    await listening(adam, group=FIRE)
    assert dan.floor.talker(FIRE) is None and dan.floor.client is None  # no ticket: no connection
    assert dan.floor.press(FIRE, "dan")
    dan.floor.set_ticket(ticket("dan"))  # the login's ticket arrives
    await wait_until(lambda: adam.floor.talker(FIRE) == "dan", 10, "the press to reach the router")
    dan.floor.release(FIRE, "dan")
    await wait_until(lambda: adam.floor.talker(FIRE) is None, 10, "the release")

    nobody = consoles()  # a console that gets no ticket (its server issues none)
    assert nobody.floor.press(POLICE, "amy")
    await wait_until(lambda: nobody.floor.talker(POLICE) is None, 10, "the press to be taken back")
    assert nobody.changes(POLICE) == ["amy", None]


async def test_the_console_shows_its_user_as_typed_at_login_and_the_router_stamps_the_tickets_name(consoles):
    dan, adam = consoles("dan"), consoles("adam")
    await listening(dan, adam, group=FIRE)
    assert dan.floor.press(FIRE, "Dan")  # typed "Dan" at login: the same user
    await wait_until(lambda: adam.floor.talker(FIRE) == "dan", 10, "adam to see dan")
    assert dan.floor.talker(FIRE) == "Dan" and dan.changes(FIRE) == ["Dan"]  # still "you" on his console
    assert not dan.floor.press(POLICE, "adam")  # nor anyone else's name
