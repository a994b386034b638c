"""The chapter's example, end to end, on the IDC: Dan, Adam, Ursula and Amy.

Dan logs in on the active; Adam assigns the new Fire channel to Ursula just before the
earthquake, and it never reaches the standby; the active falls out of the rack; Dan's
console goes offline with its last configuration and he still reaches Adam by PTT;
it reconnects to the standby, now active, by itself; Adam remounts the server, which
comes back as standby, and Dan's console stays; Ursula's Fire channel is gone; the next
day Dan logs in to the active shown in the selector, and Amy, whose selector still
shows the old active, gets the pause and the redirect.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from ipics_clients.known_servers import KnownServers
from ipics_clients.session import State
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S
from .conftest import profile_path
from .steps import activity, log_in
from .test_console_window import names, ptt, talker_text


async def test_the_earthquake_example_on_the_consoles(demo, open_idc, qtbot, tmp_path):
    pair = demo.pair
    both = [pair.primary.url, pair.secondary.url]
    # Amy used her console last week: her selector knows the primary as the active server.
    amy_known = KnownServers.load(profile_path(tmp_path, "amy") / "servers.json")
    amy_known.set_role(pair.primary.url, "active")
    amy_known.set_role(pair.secondary.url, "standby")
    amy_known.save()

    # -- Dan starts his shift: he selects the active server.  Adam and Ursula are on too.
    dan, adam, ursula = open_idc("dan", both), open_idc("adam", both), open_idc("ursula", both)
    for idc, user in ((dan, "dan"), (adam, "adam"), (ursula, "ursula")):
        await log_in(idc, qtbot, pair.primary.url, user, demo.password)
    assert dan.session.server == pair.primary.url

    # -- Adam assigns the Fire channel to Ursula; her console shows it at once, but the
    #    assignment never reaches the standby (the link is already failing).
    await pair.fault(pair.primary, fault="cut-link", direction="outbound")
    async with await pair.admin(pair.primary) as admin:
        reply = await admin.post(
            f"/api/v1/channels/{demo.seeded['channels']['Fire']}/assignments", {"username": "ursula"}
        )
        assert reply.status == 201, reply.body
    await wait_until(lambda: "Fire" in names(ursula.window, "channel"), 10, "Fire on Ursula's console")

    # -- Lunch time: the earthquake.  The active server falls out of the rack.
    pair.primary.kill()
    await wait_until(lambda: any(n.kind == "offline" for n in dan.session.notices), 10, "Dan offline")
    assert dan.window.banner.text().startswith("Offline")
    assert names(dan.window, "channel") == ["EMS", "Fire", "Police"]

    # Dan still reaches Adam by PTT on Fire: the media path does not need the servers.
    fire = ptt(dan.window, "channel", "Fire")
    fire.setFocus()
    qtbot.keyPress(fire, Qt.Key.Key_Space)
    adams_view = talker_text(adam.window, "channel", "Fire")
    qtbot.keyRelease(fire, Qt.Key.Key_Space)
    assert adams_view == "dan is talking"

    # -- About 10 s later (emulated: the takeover), the console is on the standby by itself.
    await wait_until(lambda: dan.session.state == State.ONLINE, TAKEOVER_DEADLINE_S + 10, "Dan's reconnect")
    assert dan.session.server == pair.secondary.url
    assert dan.window.banner.text() == f"Reconnected to the new active server {pair.secondary.url}"
    assert names(dan.window, "channel") == ["EMS", "Fire", "Police"]  # no visible change for Dan

    # -- Ursula's Fire channel never replicated: it is gone from her console.
    await wait_until(lambda: ursula.session.state == State.ONLINE, TAKEOVER_DEADLINE_S + 10, "Ursula's reconnect")
    await wait_until(lambda: names(ursula.window, "channel") == ["Police"], 10, "Fire to go from Ursula's console")

    # -- 45 minutes later Adam remounts the server: it comes back as standby; Dan stays.
    await pair.primary.power_on()
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    assert dan.session.server == pair.secondary.url and dan.session.state == State.ONLINE

    # -- The next day Dan logs in to the active server identified in the selector.
    qtbot.mouseClick(dan.window.logout_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: dan.dialog.isVisible(), 10, "Dan's login dialog")
    assert dan.dialog.selected_address() == pair.secondary.url
    await log_in(dan, qtbot, pair.secondary.url, None, demo.password)
    assert dan.session.server == pair.secondary.url

    # -- Amy's console still shows the original active server: it is the standby now.
    #    The console pauses about 5 seconds, then goes to the other server.
    amy = open_idc("amy", [])
    assert amy.dialog.selected_address() == pair.primary.url
    await log_in(amy, qtbot, pair.primary.url, "amy", demo.password)
    assert amy.session.clock.slept == [5.0]
    assert amy.session.server == pair.secondary.url
    assert any("no longer the active server" in line for line in activity(amy.window))
    # ... and the selector is updated to reflect the new server status.
    assert KnownServers.load(profile_path(tmp_path, "amy") / "servers.json").active() == pair.secondary.url
