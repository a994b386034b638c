"""Two dispatchers' consoles, each with its own floor on the media router: the console
widgets work unchanged, and PTT keeps working while the active server is down, with
the tickets the consoles got at login, and after the failover with the new active's."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ipics_clients.session import State
from ipics_lab.supervisor import wait_until
from ipics_server.media import tone

from ...gui.steps import log_in
from ...gui.test_console_window import ptt, talker_text
from ...pair.conftest import TAKEOVER_DEADLINE_S


async def test_dan_reaches_ursula_through_the_router_before_and_during_the_failover(demo, open_console, qtbot):
    pair = demo.pair
    servers = [pair.primary.url, pair.secondary.url]
    dan, ursula = open_console("dan", servers), open_console("ursula", servers)
    await log_in(dan, qtbot, pair.primary.url, "dan", demo.password)
    await log_in(ursula, qtbot, pair.primary.url, "ursula", demo.password)
    assert (dan.floor.user, ursula.floor.user) == ("dan", "ursula")  # each talks with his own ticket
    assert dan.floor.client.claims.issuer == "primary"
    police = next(r.group_id for r in dan.window.rows.values() if r.name == "Police")
    await wait_until(
        lambda: (
            dan.floor.connected
            and ursula.floor.connected
            and dan.floor.client.joined(police)
            and ursula.floor.client.joined(police)
        ),
        10,
        "both consoles listening on the router",
    )

    async def dan_talks_and_ursula_hears() -> None:
        dans, ursulas = ptt(dan.window, "channel", "Police"), ptt(ursula.window, "channel", "Police")
        heard = ursula.floor.heard[police]
        qtbot.mousePress(dans, Qt.MouseButton.LeftButton)
        assert talker_text(dan.window, "channel", "Police") == "You are talking"  # at once
        await wait_until(
            lambda: talker_text(ursula.window, "channel", "Police") == "dan is talking",
            10,
            "Ursula's console to show Dan talking",
        )
        assert ursula.window.now_talking.text() == "Talking: dan on Police"
        await wait_until(lambda: ursula.floor.heard[police] >= heard + 5, 10, "Ursula to hear Dan's voice")
        # One talker at a time: Ursula's PTT takes nothing and shows who holds the floor.
        qtbot.mousePress(ursulas, Qt.MouseButton.LeftButton)
        assert ursulas.property("busy") is True
        qtbot.mouseRelease(ursulas, Qt.MouseButton.LeftButton)
        qtbot.mouseRelease(dans, Qt.MouseButton.LeftButton)
        await wait_until(lambda: talker_text(ursula.window, "channel", "Police") == "Idle", 10, "the floor free")

    last = []
    ursula.floor.on_audio(lambda g, who, seq, payload, ns: last.append((who, payload)))
    await dan_talks_and_ursula_hears()
    assert last and all(who == "dan" and tone.is_tone(p) for who, p in last)

    pair.primary.kill()  # the earthquake: both consoles go offline
    await wait_until(lambda: any(n.kind == "offline" for n in dan.session.notices), 10, "Dan's console offline")
    assert (await pair.status(pair.secondary))["role"] != "active"
    await dan_talks_and_ursula_hears()
    assert (await pair.status(pair.secondary))["role"] != "active"  # all of it before the takeover

    # Reconnected to the new active, each console gets its ticket there; the router takes it.
    await wait_until(
        lambda: dan.session.state == ursula.session.state == State.ONLINE,
        TAKEOVER_DEADLINE_S + 10,
        "both consoles on the new active",
    )
    await wait_until(
        lambda: dan.floor.client.claims.issuer == "secondary" and dan.floor.client.stats["renewed"],
        10,
        "Dan's console to renew its ticket from the secondary",
    )
    await dan_talks_and_ursula_hears()
