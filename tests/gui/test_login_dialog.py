"""The login dialog: the server selector with roles, remember me, the standby's redirect,
Amy's pause and redirect (chapter, HA Affect on the IDC Connections)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ipics_clients.known_servers import KnownServers
from ipics_clients.session import State
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S, create_channel
from .conftest import profile_path
from .steps import activity, choose_server, log_in, selector_items


async def test_the_selector_lists_every_server_with_its_role_and_logs_in(demo, open_idc, qtbot):
    pair = demo.pair
    idc = open_idc("dan", [pair.primary.url, pair.secondary.url])
    await idc.session.learn_unknown_roles()
    items = selector_items(idc.dialog)
    assert items[0] == (pair.primary.url, f"{pair.primary.url}  (primary, active)")
    assert items[1] == (pair.secondary.url, f"{pair.secondary.url}  (secondary, standby)")

    await log_in(idc, qtbot, pair.primary.url, "dan", demo.password)
    window = idc.window
    assert window.isVisible() and not idc.dialog.isVisible()
    assert window.status_connection.text() == "Online"
    assert window.status_role.text() == "Role: active"
    assert pair.primary.url in window.status_server.text()


async def test_a_wrong_password_says_so_and_the_dialog_stays(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", "wrong-" + demo.password, expect_online=False)
    await wait_until(lambda: "wrong user name or password" in idc.dialog.message.text(), 10, "the error")
    assert idc.dialog.isVisible() and not idc.window.isVisible()
    assert idc.dialog.login_button.isEnabled()


async def test_choosing_the_standby_is_refused_and_redirected_and_the_console_says_why(demo, open_idc, qtbot):
    pair = demo.pair
    idc = open_idc("dan", [pair.primary.url, pair.secondary.url])
    await idc.session.learn_unknown_roles()
    await log_in(idc, qtbot, pair.secondary.url, "dan", demo.password)
    assert idc.session.server == pair.primary.url
    assert any(
        f"standby server: the login was refused and redirected to the active server {pair.primary.url}" in line
        for line in activity(idc.window)
    )
    # The dialog's message starts with the address as it is, not "Http://...".
    assert idc.dialog.message.text().startswith(f"{pair.secondary.url} is the standby server: ")

    # The dialog is gone; the console's banner says why Dan is not on the server he chose.
    window, why = (
        idc.window,
        (
            f"Logged in to the active server {pair.primary.url}, not to {pair.secondary.url} "
            f"as chosen: {pair.secondary.url} is the standby server"
        ),
    )
    assert not idc.dialog.isVisible() and window.isVisible()
    assert window.banner.isVisible() and window.banner.text() == why
    # It stays until the connection changes: a configuration change pushed meanwhile keeps it.
    async with await pair.admin(pair.primary) as admin:
        hazmat = await create_channel(admin, "Hazmat")
        await admin.post(f"/api/v1/channels/{hazmat['id']}/assignments", {"username": "dan"})
    await wait_until(lambda: any(row.name == "Hazmat" for row in window.rows.values()), 10, "Hazmat on Dan's console")
    assert window.banner.isVisible() and window.banner.text() == why


async def test_remember_me_keeps_the_password_in_the_keyring_and_nowhere_else(
    demo, open_idc, qtbot, tmp_path, memory_keyring
):
    pair = demo.pair
    idc = open_idc("dan", [pair.primary.url])
    assert idc.dialog.remember.isEnabled() and not idc.dialog.keyring_status.isVisible()
    qtbot.keyClick(idc.dialog.remember, Qt.Key.Key_Space)  # the keyboard, as a user might
    assert idc.dialog.remember.isChecked(), idc.dialog.remember.geometry()
    await log_in(idc, qtbot, pair.primary.url, "dan", demo.password)
    assert idc.dialog.remember.isChecked()
    assert list(memory_keyring.passwords.values()) == [demo.password]
    profile = profile_path(tmp_path, "dan")
    for path in profile.rglob("*"):
        assert demo.password.encode() not in path.read_bytes(), path

    # The next run fills in the user name and the password.
    again = open_idc("dan", [])
    assert again.dialog.username.text() == "dan" and again.dialog.password.text() == demo.password
    assert again.dialog.remember.isChecked()

    # Unticked, the password is forgotten.
    qtbot.keyClick(again.dialog.remember, Qt.Key.Key_Space)
    await log_in(again, qtbot, pair.primary.url, None, None)
    assert memory_keyring.passwords == {}
    assert open_idc("dan", []).dialog.password.text() == ""


async def test_without_a_keyring_remember_me_says_so_and_stores_nothing(demo, open_idc, qtbot, tmp_path):
    idc = open_idc("dan", [demo.pair.primary.url])
    dialog = idc.dialog
    assert not dialog.remember.isEnabled() and not dialog.remember.isChecked()
    assert dialog.keyring_status.isVisible() and "unavailable" in dialog.keyring_status.text()
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", demo.password)
    for path in profile_path(tmp_path, "dan").rglob("*"):
        assert demo.password.encode() not in path.read_bytes(), path
    assert open_idc("dan", []).dialog.password.text() == ""  # asked each time


async def test_a_server_that_does_not_answer_pauses_then_redirects_and_updates_the_selector(
    demo, open_idc, qtbot, tmp_path
):
    pair = demo.pair
    # Amy's console ran before the failover: her selector shows the primary as active.
    stale = KnownServers.load(profile_path(tmp_path, "amy") / "servers.json")
    stale.set_role(pair.primary.url, "active")
    stale.set_role(pair.secondary.url, "standby")
    stale.save()
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")

    idc = open_idc("amy", [])
    assert selector_items(idc.dialog)[0][1].endswith("(active)")  # still the old roles
    await log_in(idc, qtbot, pair.primary.url, "amy", demo.password)
    assert idc.session.clock.slept == [5.0]  # the pause, in emulated seconds
    assert idc.session.server == pair.secondary.url
    assert any("does not answer" in line for line in activity(idc.window))
    # The selector and its file now say who is active.
    assert KnownServers.load(profile_path(tmp_path, "amy") / "servers.json").active() == pair.secondary.url
    labels = dict(selector_items(idc.dialog))
    assert labels[pair.secondary.url].endswith("active)") and labels[pair.primary.url].endswith("did not answer)")
    assert idc.window.banner.text() == (
        f"Logged in to the active server {pair.secondary.url}, not to "
        f"{pair.primary.url} as chosen: {pair.primary.url} does not answer"
    )


async def test_the_dialog_stays_responsive_during_the_pause_and_cancel_stops_the_login(demo, open_idc, qtbot):
    pair = demo.pair
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    from ipics_server.clock import Clock

    # A slower console clock, so the 5 s pause lasts a second: long enough to click in.
    idc = open_idc("amy", [pair.primary.url, pair.secondary.url], clock=Clock(0.2))
    choose_server(idc.dialog, pair.primary.url)
    qtbot.keyClicks(idc.dialog.username, "amy")
    qtbot.keyClicks(idc.dialog.password, demo.password)
    qtbot.mouseClick(idc.dialog.login_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: "does not answer" in idc.dialog.message.text(), 10, "the pause message")
    assert idc.dialog.progress.isVisible() and not idc.dialog.login_button.isEnabled()

    qtbot.mouseClick(idc.dialog.cancel_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: idc.dialog.login_button.isEnabled(), 5, "the dialog to be ready again")
    assert "cancelled" in idc.dialog.message.text()
    assert idc.session.state == State.LOGGED_OUT and not idc.window.isVisible()


async def test_a_mistyped_address_says_so_and_is_not_kept(demo, open_idc, qtbot, tmp_path):
    idc = open_idc("dan", [demo.pair.primary.url])
    idc.dialog.selector.setEditText("127.0.0.1:99999")
    qtbot.keyClicks(idc.dialog.username, "dan")
    qtbot.keyClicks(idc.dialog.password, demo.password)
    qtbot.mouseClick(idc.dialog.login_button, Qt.MouseButton.LeftButton)
    assert "127.0.0.1:99999 is not a server address" in idc.dialog.message.text()
    assert idc.dialog.login_button.isEnabled() and idc.session.state == State.LOGGED_OUT
    saved = KnownServers.load(profile_path(tmp_path, "dan") / "servers.json").addresses()
    assert not any("99999" in a for a in saved)
