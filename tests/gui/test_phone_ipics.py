"""The IP phone window against the real IPICS phone service of the pair, driven through
its keys as a user would: Services lists the IPICS service of both servers (the
chapter's phone administrator configured one for each), the keypad login, the user's
channels then VTGs, a talk screen, Update; and the chapter's two failover paths for a
Cisco Unified IP Phone ("HA Affect On Connected Devices"): the new active redirects the
phone by itself (a push), or, where it cannot, the phone shows the failure and the
user opens Services, picks the other IPICS server and logs in again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from ipics_clients.phone_browser import PhoneBrowser
from ipics_clients.phone_push import PushReceiver
from ipics_desktop.phone.app import lab_services
from ipics_desktop.phone.window import PhoneWindow
from ipics_lab.labfile import write_lab_file
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S, TIME_SCALE
from ..recording_clock import RecordingClock
from .test_accessibility import controls, documented
from .test_phone_window import click, rows, softkey_names, title

DAN_MENU = ["1  EMS", "2  Fire", "3  Police", "4  Downtown Response", "5  Mutual Aid"]
#: real seconds one key's page may take on a loaded machine
PAGE_S = 15


def host_of(url: str | None) -> str:
    return urlsplit(url or "").netloc


@pytest.fixture
async def phone(demo, qtbot, tmp_path, request):
    """The phone as ``ipics-lab phone`` builds it: its Services menu from the lab's
    ``lab.json``, its push receiver listening before the first request.  Its clock runs
    at the lab's time scale unless a test asks for another (indirect parameter)."""
    write_lab_file(tmp_path, demo.pair.servers, time_scale=TIME_SCALE)
    services, _ = lab_services(tmp_path)
    browser = PhoneBrowser(services, clock=RecordingClock(getattr(request, "param", TIME_SCALE)))
    window = PhoneWindow(browser=browser, extension="1001")
    receiver = PushReceiver(window.execute)
    await window.take_pushes(receiver)
    qtbot.addWidget(window)  # pytest-qt closes it (its tasks are cancelled) before this fixture ends
    window.show()
    try:
        yield window
    finally:
        await receiver.close()
        await browser.close()


async def shows(window: PhoneWindow, wanted: str, timeout_s: float = PAGE_S) -> None:
    await wait_until(
        lambda: title(window) == wanted and not window.busy,
        timeout_s,
        f"the {wanted} screen (on screen: {window.screen_lines()})",
    )


async def log_in(window: PhoneWindow, qtbot, service_key: str, user_id: str, pin: str) -> None:
    """Services, the IPICS service on keypad key ``service_key``, the user ID and PIN on
    the keypad, Submit: the IPICS menu."""
    click(qtbot, window.services_button)
    await shows(window, "Services")
    click(qtbot, window.keys[service_key])
    await shows(window, "IPICS Login")
    assert window.prompt_label.text() == "Enter your user ID and PIN"
    for digit in user_id:
        click(qtbot, window.keys[digit])
    click(qtbot, window.nav_down)
    for digit in pin:
        click(qtbot, window.keys[digit])
    assert rows(window) == [f"User ID: {user_id}", f"PIN: {'*' * len(pin)}_"]
    assert not any(pin in line for line in window.screen_lines())  # masked (P flag)
    assert softkey_names(window) == ["Submit", "<<", "Cancel", ""]
    click(qtbot, window.softkeys[0])
    await shows(window, "IPICS")


# The talk screen reloads itself every 2 emulated seconds: at the lab's scale, every
# 20 ms, which would leave this phone's reloads running when the test ends.
@pytest.mark.parametrize("phone", [1.0], ids=["phone clock in real time"], indirect=True)
async def test_the_keypad_login_lists_channels_then_vtgs_and_update_refreshes_them(demo, phone, qtbot):
    assert title(phone) == "Services" and rows(phone) == ["1  IPICS primary", "2  IPICS secondary"]
    assert phone.web_access_button.text() == "Web access: on" and phone.web_access_button.isChecked()
    await log_in(phone, qtbot, "1", "1001", demo.pin)
    assert rows(phone) == DAN_MENU and phone.prompt_label.text() == "Select a channel or VTG"
    assert softkey_names(phone) == ["Select", "Update", "Logout", "Exit"]
    assert host_of(phone.browser.screen.url) == host_of(demo.pair.primary.url)

    # The list is the one of the moment the service started, until Update.
    async with await demo.pair.admin(demo.pair.primary) as admin:
        works = demo.seeded["channels"]["Public Works"]
        reply = await admin.post(f"/api/v1/channels/{works}/assignments", {"username": "dan"})
        assert reply.ok, reply.body
    click(qtbot, phone.nav_down)
    await wait_until(lambda: phone.position_label.text() == "2/5", 5, "Fire highlighted")
    assert rows(phone) == DAN_MENU
    click(qtbot, phone.softkeys[1])  # Update
    await wait_until(lambda: len(rows(phone)) == 6 and not phone.busy, PAGE_S, "the updated list")
    assert rows(phone) == ["1  EMS", "2  Fire", "3  Police", "4  Public Works", "5  Downtown Response", "6  Mutual Aid"]

    click(qtbot, phone.keys["2"])  # Fire: its talk screen
    await shows(phone, "Fire")
    assert phone.prompt_label.text() == "Channel"
    assert softkey_names(phone) == ["Talk", "Update", "Back", "Exit"]
    assert phone.softkeys[0].property("ptt") is True  # held: URLDown; let go: URL

    checked = 0
    for widget in controls(phone):
        assert widget.objectName() and widget.accessibleName(), widget
        assert documented(widget.objectName()), f"{widget.objectName()} is not in docs/widgets.md"
        checked += 1
    assert checked == 4 + 3 + 12 + 3 + 1  # the phone's keys and the Web access switch


async def test_with_web_access_the_new_active_brings_the_phone_over_by_itself(demo, phone, qtbot):
    pair = demo.pair
    await log_in(phone, qtbot, "1", "1001", demo.pin)
    click(qtbot, phone.keys["2"])
    await shows(phone, "Fire")  # the talk screen reloads itself every 2 emulated seconds
    await pair.wait_ready()  # the phone's session has reached the standby
    seen: list[str] = []
    phone.changed.connect(lambda: seen.append(title(phone)))

    pair.primary.kill()
    # No key is pressed from here on.
    await wait_until(
        lambda: (
            title(phone) == "IPICS"
            and not phone.busy
            and host_of(phone.browser.screen.url) == host_of(pair.secondary.url)
        ),
        TAKEOVER_DEADLINE_S + PAGE_S,
        "the IPICS menu served by the secondary",
    )
    assert rows(phone) == DAN_MENU  # still logged in: no login asked
    assert "Error" in seen  # the talk screen's reload found the old active gone first
    assert len(phone.receiver.received) == 1 and host_of(phone.receiver.received[0]) == host_of(pair.secondary.url)
    assert phone.status_label.text() == f"On hook - pushed by {host_of(pair.secondary.url)}"


async def test_without_web_access_the_user_opens_services_and_logs_in_on_the_new_active(demo, phone, qtbot):
    pair = demo.pair
    click(qtbot, phone.web_access_button)  # the new active will not reach this phone
    assert phone.web_access_button.text() == "Web access: off" and not phone.receiver.enabled
    await log_in(phone, qtbot, "1", "1001", demo.pin)
    await pair.wait_ready()
    pair.primary.kill()
    await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
    assert title(phone) == "IPICS" and rows(phone) == DAN_MENU  # nothing told the phone

    click(qtbot, phone.softkeys[1])  # Update: the failure shows
    await shows(phone, "Error")
    assert phone.title_label.property("error") is True
    assert f"not answering: {host_of(pair.primary.url)}" in phone.text_label.text()

    await log_in(phone, qtbot, "2", "1001", demo.pin)  # Services, IPICS secondary, log in again
    assert rows(phone) == DAN_MENU
    assert host_of(phone.browser.screen.url) == host_of(pair.secondary.url)
    assert phone.receiver.received == []  # every push was refused
