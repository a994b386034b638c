"""The console window: channels and VTGs with PTT, who is talking, incidents with their
photos, the status bar, live configuration, offline mode and the reconnect."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from ipics_clients.session import State
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S, create_channel
from .steps import activity, log_in, selector_items


def names(window, kind: str) -> list[str]:
    return [row.name for key, row in window.rows.items() if key.startswith(kind + ":")]


def ptt(window, kind: str, name: str) -> QPushButton:
    button = window.findChild(QPushButton, f"ptt:{kind}:{name}")
    assert button is not None, f"no PTT for {kind} {name}: {names(window, kind)}"
    return button


def talker_text(window, kind: str, name: str) -> str:
    from PySide6.QtWidgets import QLabel

    return window.findChild(QLabel, f"talker:{kind}:{name}").text()


async def test_the_console_shows_dans_channels_vtgs_and_incident_with_its_photo(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", demo.password)
    window = idc.window
    assert names(window, "channel") == ["EMS", "Fire", "Police"]  # Dan's, alphabetically
    assert names(window, "vtg") == ["Downtown Response", "Mutual Aid"]
    assert window.incident_list.currentItem().text() == "Warehouse fire, 5th Street"
    assert "Participants: dan, ursula, fred" in window.incident_detail.text()
    photo = window.incident_files.item(0)
    assert photo.text().startswith("scene.png  (photo")
    await wait_until(lambda: not photo.icon().isNull(), 10, "the photo's thumbnail")
    assert window.windowTitle() == "IPICS Dispatch Console - dan"


async def test_configuration_changes_pushed_by_the_server_appear_live(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", demo.password)
    async with await demo.pair.admin(demo.pair.primary) as admin:
        hazmat = await create_channel(admin, "Hazmat")
        await admin.post(f"/api/v1/channels/{hazmat['id']}/assignments", {"username": "dan"})
        await wait_until(lambda: "Hazmat" in names(idc.window, "channel"), 10, "Hazmat on Dan's console")
        await admin.delete(f"/api/v1/channels/{hazmat['id']}")
    await wait_until(lambda: "Hazmat" not in names(idc.window, "channel"), 10, "Hazmat to go")


async def test_ptt_by_keyboard_shows_the_talker_on_every_console_and_holds_the_floor(demo, open_idc, qtbot):
    pair = demo.pair
    dan, ursula = open_idc("dan", [pair.primary.url]), open_idc("ursula", [pair.primary.url])
    await log_in(dan, qtbot, pair.primary.url, "dan", demo.password)
    await log_in(ursula, qtbot, pair.primary.url, "ursula", demo.password)
    dans_police, ursulas_police = ptt(dan.window, "channel", "Police"), ptt(ursula.window, "channel", "Police")
    assert dans_police.focusPolicy() & Qt.FocusPolicy.TabFocus

    dans_police.setFocus()
    qtbot.keyPress(dans_police, Qt.Key.Key_Space)  # held down
    assert talker_text(dan.window, "channel", "Police") == "You are talking"
    assert talker_text(ursula.window, "channel", "Police") == "dan is talking"
    assert ursula.window.now_talking.text() == "Talking: dan on Police"

    # One talker at a time: Ursula's PTT does not take the floor.
    qtbot.keyPress(ursulas_police, Qt.Key.Key_Space)
    assert talker_text(ursula.window, "channel", "Police") == "dan is talking"
    assert ursulas_police.property("busy") is True
    qtbot.keyRelease(ursulas_police, Qt.Key.Key_Space)

    qtbot.keyRelease(dans_police, Qt.Key.Key_Space)
    assert talker_text(ursula.window, "channel", "Police") == "Idle"
    assert ursula.window.now_talking.text() == "Nobody is talking"


async def test_failover_offline_with_the_last_configuration_then_reconnected_by_itself(demo, open_idc, qtbot):
    pair = demo.pair
    idc = open_idc("dan", [pair.primary.url, pair.secondary.url])
    await log_in(idc, qtbot, pair.primary.url, "dan", demo.password)
    window = idc.window

    pair.primary.kill()  # the earthquake
    await wait_until(lambda: any(n.kind == "offline" for n in idc.session.notices), 10, "the console offline")
    assert window.banner.isVisible() and window.banner.text().startswith("Offline: the connection to")
    assert window.status_connection.text() == "Offline - reconnecting"
    assert names(window, "channel") == ["EMS", "Fire", "Police"]  # the last configuration stays
    fire = ptt(window, "channel", "Fire")
    qtbot.mousePress(fire, Qt.MouseButton.LeftButton)  # still usable: PTT does not need the server
    assert talker_text(window, "channel", "Fire") == "You are talking"
    qtbot.mouseRelease(fire, Qt.MouseButton.LeftButton)
    assert talker_text(window, "channel", "Fire") == "Idle"

    await wait_until(lambda: idc.session.state == State.ONLINE, TAKEOVER_DEADLINE_S + 5, "the reconnect")
    assert window.banner.text() == f"Reconnected to the new active server {pair.secondary.url}"
    assert window.status_connection.text() == "Online"
    assert pair.secondary.url in window.status_server.text() and window.status_role.text() == "Role: active"
    assert names(window, "channel") == ["EMS", "Fire", "Police"]  # no visible change: it all replicated


async def test_after_failover_the_console_stays_and_logout_shows_both_roles_then_login_goes_to_the_active(
    demo, open_idc, qtbot
):
    pair = demo.pair
    idc = open_idc("dan", [pair.primary.url, pair.secondary.url])
    await log_in(idc, qtbot, pair.primary.url, "dan", demo.password)
    pair.primary.kill()
    await wait_until(
        lambda: idc.session.state == State.ONLINE and idc.session.server == pair.secondary.url,
        TAKEOVER_DEADLINE_S + 10,
        "the reconnect to the secondary",
    )

    await pair.primary.power_on()  # Adam remounts the server
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    # ...and the active hears it again (its next heartbeat): the server Dan leaves is the
    # one the console asks for the roles at logout.
    await pair.wait_status(pair.secondary, 10, partner_role="standby", standby_server_status="Ready")
    assert idc.session.server == pair.secondary.url and idc.session.state == State.ONLINE

    qtbot.mouseClick(idc.window.logout_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: idc.dialog.isVisible(), 10, "the login dialog")
    assert not idc.window.isVisible()
    assert idc.dialog.selected_address() == pair.secondary.url  # the active, shown in the selector
    assert idc.dialog.selector.currentText().endswith("active)")
    # The old active came back as the standby while Dan was online: the selector says
    # so, not the "did not answer" of the moment he reconnected.
    assert dict(selector_items(idc.dialog))[pair.primary.url] == f"{pair.primary.url}  (primary, standby)"
    assert "Logged out" in idc.dialog.message.text()

    qtbot.keyClicks(idc.dialog.password, demo.password)
    qtbot.mouseClick(idc.dialog.login_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: idc.session.state == State.ONLINE, 10, "the login")
    assert idc.session.server == pair.secondary.url
    assert not [line for line in activity(idc.window) if "redirected" in line or "does not answer" in line]


async def test_after_logout_the_next_user_talks_under_their_own_name(demo, open_idc, qtbot, floor):
    pair = demo.pair
    idc = open_idc("shared-desk", [pair.primary.url])
    await log_in(idc, qtbot, pair.primary.url, "dan", demo.password)
    qtbot.mouseClick(idc.window.logout_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: idc.dialog.isVisible(), 10, "the login dialog")

    await log_in(idc, qtbot, pair.primary.url, "amy", demo.password)
    assert names(idc.window, "channel") == ["EMS"]  # Amy's, not Dan's
    ems = ptt(idc.window, "channel", "EMS")
    qtbot.mousePress(ems, Qt.MouseButton.LeftButton)
    group = next(r.group_id for r in idc.window.rows.values() if r.name == "EMS")
    assert floor.talker(group) == "amy"
    qtbot.mouseRelease(ems, Qt.MouseButton.LeftButton)
