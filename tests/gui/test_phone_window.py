"""The IP phone window against a real phone XML service on loopback (any service that
speaks the phone's objects): Services, menus, softkeys, input, push-to-talk, error
screens, the hook switch, the keyboard, and ``ipics-lab phone`` as a process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ipics_clients.phone_browser import PhoneBrowser, Service
from ipics_desktop.phone.window import PhoneWindow
from ipics_lab.labfile import write_lab_file
from ipics_lab.supervisor import wait_until

from ..commands import start
from ..recording_clock import RecordingClock
from .test_accessibility import controls, documented
from .test_console_command import console_env

MENU = ["News", "Login", "Talk", "Broken", "Directory", "Many", "Name", "Slow"]


def xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml")


def key(name: str, url: str, position: int, down: str = "") -> str:
    down = f"<URLDown>{down}</URLDown>" if down else ""
    return f"<SoftKeyItem><Name>{name}</Name><URL>{url}</URL>{down}<Position>{position}</Position></SoftKeyItem>"


@pytest.fixture
async def service():
    """A phone XML service with a request log (path and query string, in order)."""
    log: list[str] = []
    hits: dict[str, int] = {}
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        log.append(request.path_qs)
        hits[name] = hits.get(name, 0) + 1
        q = request.query
        if name == "menu":
            items = "".join(f"<MenuItem><Name>{n}</Name><URL>{n.lower()}</URL></MenuItem>" for n in MENU)
            return xml(f"<CiscoIPPhoneMenu><Title>Demo</Title><Prompt>Pick one</Prompt>{items}</CiscoIPPhoneMenu>")
        if name == "news":
            return xml(
                f"<CiscoIPPhoneText><Title>News</Title><Text>hit {hits[name]}</Text>"
                f"{key('Back', 'SoftKey:Back', 1)}{key('Update', 'SoftKey:Update', 2)}"
                f"{key('Exit', 'SoftKey:Exit', 3)}</CiscoIPPhoneText>"
            )
        if name == "login":
            return xml(
                "<CiscoIPPhoneInput><Title>Login</Title><Prompt>User ID and PIN</Prompt><URL>/welcome</URL>"
                "<InputItem><DisplayName>User ID</DisplayName><QueryStringParam>id</QueryStringParam>"
                "<InputFlags>N</InputFlags></InputItem>"
                "<InputItem><DisplayName>PIN</DisplayName><QueryStringParam>pin</QueryStringParam>"
                "<InputFlags>NP</InputFlags></InputItem></CiscoIPPhoneInput>"
            )
        if name == "welcome":
            return xml(
                f"<CiscoIPPhoneText><Title>Welcome</Title><Text>id={q['id']} pin={q['pin']}</Text></CiscoIPPhoneText>"
            )
        if name == "talk":
            state = "Talking" if q.get("ptt") == "down" else "Idle"
            return xml(
                f"<CiscoIPPhoneText><Title>Fire</Title><Text>{state}</Text>"
                f"{key('Talk', '/talk?ptt=up', 1, '/talk?ptt=down')}{key('Exit', 'SoftKey:Exit', 3)}"
                "</CiscoIPPhoneText>"
            )
        if name == "broken":
            return xml("<CiscoIPPhoneText><Text>oops</CiscoIPPhoneText>")
        if name == "directory":
            return xml(
                "<CiscoIPPhoneDirectory><Title>Crew</Title>"
                "<DirectoryEntry><Name>Adam</Name><Telephone>5001</Telephone></DirectoryEntry>"
                "<DirectoryEntry><Name>Ursula</Name><Telephone>5002</Telephone></DirectoryEntry>"
                "</CiscoIPPhoneDirectory>"
            )
        if name == "many":
            keys = "".join(key(f"K{n}", f"/pressed?n={n}", n) for n in range(1, 7))
            return xml(f"<CiscoIPPhoneText><Title>Many</Title><Text>six keys</Text>{keys}</CiscoIPPhoneText>")
        if name == "pressed":
            return xml(f"<CiscoIPPhoneText><Title>Pressed</Title><Text>key {q['n']}</Text></CiscoIPPhoneText>")
        if name == "name":
            return xml(
                "<CiscoIPPhoneInput><Title>Name</Title><URL>/hello</URL>"
                "<InputItem><DisplayName>Name</DisplayName><QueryStringParam>name</QueryStringParam>"
                "<InputFlags>A</InputFlags></InputItem>"
                "<InputItem><DisplayName>Code</DisplayName><QueryStringParam>code</QueryStringParam>"
                "<InputFlags>U</InputFlags></InputItem></CiscoIPPhoneInput>"
            )
        if name == "hello":
            return xml(f"<CiscoIPPhoneText><Title>Hello</Title><Text>{q['name']}/{q['code']}</Text></CiscoIPPhoneText>")
        if name == "slow":
            await release.wait()  # a service that takes its time
            return xml("<CiscoIPPhoneText><Title>Slow</Title><Text>at last</Text></CiscoIPPhoneText>")
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        release.set()
        await runner.cleanup()


@pytest.fixture
async def phone(service, qtbot, unused_tcp_port):
    browser = PhoneBrowser(
        [Service("Demo", service.url + "/menu"), Service("Dead", f"http://127.0.0.1:{unused_tcp_port}/menu")],
        clock=RecordingClock(0.01),
    )
    window = PhoneWindow(browser=browser, extension="1001")
    qtbot.addWidget(window)  # pytest-qt closes it (its tasks are cancelled) before this fixture ends
    window.show()
    try:
        yield window
    finally:
        await browser.close()


def title(window: PhoneWindow) -> str:
    return window.title_label.text()


def rows(window: PhoneWindow) -> list[str]:
    return [r.text() for r in window.rows if r.text()]


def highlighted(window: PhoneWindow) -> list[str]:
    return [r.text() for r in window.rows if r.property("highlighted")]


def softkey_names(window: PhoneWindow) -> list[str]:
    return [b.text() for b in window.softkeys]


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


async def shows(window: PhoneWindow, wanted: str, what: str | None = None) -> None:
    await wait_until(lambda: title(window) == wanted and not window.busy, 5, what or f"the {wanted} screen")


async def open_demo(window: PhoneWindow, qtbot) -> None:
    click(qtbot, window.keys["1"])
    await shows(window, "Demo")


async def open_item(window: PhoneWindow, qtbot, name: str, wanted: str | None = None) -> None:
    await open_demo(window, qtbot)
    click(qtbot, window.keys[str(MENU.index(name) + 1)])
    await shows(window, wanted or name)


async def test_the_services_menu_is_chosen_with_a_keypad_digit_and_with_select(phone, qtbot):
    assert title(phone) == "Services" and rows(phone) == ["1  Demo", "2  Dead"]
    assert highlighted(phone) == ["1  Demo"] and softkey_names(phone) == ["Select", "Exit", "", ""]
    assert phone.line_label.text() == "\u260e 1001" and ":" in phone.clock_label.text()
    assert phone.status_label.text() == "On hook"
    click(qtbot, phone.keys["1"])
    await shows(phone, "Demo")
    assert rows(phone)[:2] == ["1  News", "2  Login"] and phone.prompt_label.text() == "Pick one"
    assert softkey_names(phone) == ["Select", "", "Exit", ""]  # a menu without keys gets the phone's
    click(qtbot, phone.services_button)
    await shows(phone, "Services")
    click(qtbot, phone.select_button)
    await shows(phone, "Demo")


async def test_a_menu_is_navigated_with_up_and_down_and_scrolls(phone, qtbot):
    await open_demo(phone, qtbot)
    assert len(rows(phone)) == 6 and phone.position_label.text() == "1/8"  # six of eight on screen
    for _ in range(7):
        click(qtbot, phone.nav_down)
    await wait_until(lambda: highlighted(phone) == ["8  Slow"], 5, "the last item")
    assert rows(phone)[0] == "3  Talk" and phone.position_label.text() == "8/8"
    for _ in range(6):
        click(qtbot, phone.nav_up)
    await wait_until(lambda: highlighted(phone) == ["2  Login"], 5, "Login highlighted")
    assert rows(phone)[0] == "2  Login"
    click(qtbot, phone.select_button)
    await shows(phone, "Login")


async def test_softkeys_on_a_text_back_update_and_exit(phone, qtbot, service):
    await open_item(phone, qtbot, "News")
    assert phone.text_label.text() == "hit 1" and softkey_names(phone) == ["Back", "Update", "Exit", ""]
    click(qtbot, phone.softkeys[1])  # Update
    await wait_until(lambda: phone.text_label.text() == "hit 2", 5, "the reload")
    click(qtbot, phone.softkeys[0])  # Back
    await shows(phone, "Demo")
    click(qtbot, phone.keys["1"])
    await shows(phone, "News")
    click(qtbot, phone.softkeys[2])  # Exit
    await shows(phone, "Services")


async def test_an_input_is_typed_on_the_keypad_and_submitted_with_the_pin_masked(phone, qtbot, service):
    await open_item(phone, qtbot, "Login")
    assert softkey_names(phone) == ["Submit", "<<", "Cancel", ""]  # the phone's keys for an input
    for digit in "1001":
        click(qtbot, phone.keys[digit])
    assert rows(phone) == ["User ID: 1001_", "PIN: "] and phone.position_label.text() == "123"
    click(qtbot, phone.nav_down)
    for digit in "4329":
        click(qtbot, phone.keys[digit])
    click(qtbot, phone.softkeys[1])  # << deletes the 9
    click(qtbot, phone.keys["1"])
    click(qtbot, phone.keys["*"])  # a numeric field takes digits only
    assert rows(phone) == ["User ID: 1001", "PIN: ****_"]
    assert "PIN: 123 only" in phone.status_label.text()
    assert not any("4321" in line for line in phone.screen_lines())  # the PIN is never on screen
    click(qtbot, phone.softkeys[0])  # Submit
    await shows(phone, "Welcome")
    assert phone.text_label.text() == "id=1001 pin=4321"
    assert service.log[-1] == "/welcome?id=1001&pin=4321"


async def test_a_text_field_types_letters_by_multi_tap_and_upper_case_by_its_flag(phone, qtbot, service):
    await open_item(phone, qtbot, "Name")
    for digit in "2233":  # b, then e: two taps each
        click(qtbot, phone.keys[digit])
    assert rows(phone)[0] == "Name: be_" and phone.position_label.text() == "abc"
    qtbot.keyClicks(phone, "th")  # the computer's keyboard types letters as they are
    click(qtbot, phone.nav_down)
    qtbot.keyClicks(phone, "ab1")
    assert rows(phone) == ["Name: beth", "Code: AB1_"] and phone.position_label.text() == "ABC"
    qtbot.keyClick(phone, Qt.Key.Key_Return)  # Select on an input submits it
    await shows(phone, "Hello")
    assert phone.text_label.text() == "beth/AB1"


async def test_a_push_to_talk_softkey_sends_urldown_on_press_and_url_on_release(phone, qtbot, service):
    await open_item(phone, qtbot, "Talk", "Fire")
    talk = phone.softkeys[0]
    assert talk.text() == "Talk" and talk.property("ptt") is True and "Hold to talk" in talk.accessibleDescription()
    service.log.clear()
    qtbot.mousePress(talk, Qt.MouseButton.LeftButton)
    await wait_until(lambda: phone.text_label.text() == "Talking", 5, "talking")
    assert service.log == ["/talk?ptt=down"] and talk.property("held") is True
    qtbot.mouseRelease(talk, Qt.MouseButton.LeftButton)
    await wait_until(lambda: phone.text_label.text() == "Idle", 5, "idle")
    assert service.log == ["/talk?ptt=down", "/talk?ptt=up"] and talk.property("held") is False

    talk.setFocus()  # Space on the focused key, then F1: the same press and release
    qtbot.keyPress(talk, Qt.Key.Key_Space)
    await wait_until(lambda: phone.text_label.text() == "Talking", 5, "talking by Space")
    qtbot.keyRelease(talk, Qt.Key.Key_Space)
    await wait_until(lambda: phone.text_label.text() == "Idle", 5, "idle after Space")
    qtbot.keyPress(phone, Qt.Key.Key_F1)
    await wait_until(lambda: phone.text_label.text() == "Talking", 5, "talking by F1")
    qtbot.keyRelease(phone, Qt.Key.Key_F1)
    await wait_until(lambda: phone.text_label.text() == "Idle", 5, "idle after F1")
    assert service.log == ["/talk?ptt=down", "/talk?ptt=up"] * 3
    assert title(phone) == "Fire" and phone.browser.history == [service.url + "/menu"]  # PTT kept Back as it was


async def test_a_quick_press_and_release_reach_the_service_in_order(phone, qtbot, service):
    await open_item(phone, qtbot, "Talk", "Fire")
    service.log.clear()
    for _ in range(3):
        click(qtbot, phone.softkeys[0])  # press and release at once: the release never overtakes
    await wait_until(lambda: len(service.log) == 6 and not phone.busy, 5, "three presses and releases")
    assert service.log == ["/talk?ptt=down", "/talk?ptt=up"] * 3 and phone.text_label.text() == "Idle"


async def test_more_pages_softkeys_beyond_the_fourth(phone, qtbot, service):
    await open_item(phone, qtbot, "Many")
    assert softkey_names(phone) == ["K1", "K2", "K3", "more"]
    click(qtbot, phone.softkeys[3])
    assert softkey_names(phone) == ["K4", "K5", "K6", "more"]
    click(qtbot, phone.softkeys[3])
    assert softkey_names(phone) == ["K1", "K2", "K3", "more"]
    click(qtbot, phone.softkeys[3])
    click(qtbot, phone.softkeys[1])
    await shows(phone, "Pressed")
    assert phone.text_label.text() == "key 5"


async def test_bad_xml_and_a_dead_service_are_error_screens_and_the_phone_goes_on(phone, qtbot):
    await open_item(phone, qtbot, "Broken", "Error")
    assert "XML error" in phone.text_label.text() and phone.title_label.property("error") is True
    assert softkey_names(phone)[:2] == ["Back", "Exit"]
    click(qtbot, phone.softkeys[0])  # Back: the menu again
    await shows(phone, "Demo")
    click(qtbot, phone.services_button)
    await shows(phone, "Services")
    click(qtbot, phone.keys["2"])  # Dead
    await shows(phone, "Error")
    assert "not answering" in phone.text_label.text()
    click(qtbot, phone.services_button)
    await shows(phone, "Services")
    assert phone.title_label.property("error") is False
    await open_demo(phone, qtbot)


async def test_services_brings_the_phone_home_while_a_service_is_slow(phone, qtbot):
    await open_demo(phone, qtbot)
    click(qtbot, phone.keys["8"])  # Slow: does not answer yet
    await wait_until(lambda: phone.prompt_label.text() == "Requesting...", 5, "Requesting...")
    click(qtbot, phone.services_button)
    await shows(phone, "Services")
    await open_demo(phone, qtbot)


async def test_a_push_replaces_a_page_still_loading_from_a_server_gone_silent(phone, qtbot, service):
    """After a failover the new active pushes its page while a key still waits on the
    old active, silent: the push does not wait for that key's deadline."""
    await open_demo(phone, qtbot)
    click(qtbot, phone.keys["8"])  # Slow: never answers while the test runs
    await wait_until(lambda: phone.prompt_label.text() == "Requesting...", 5, "Requesting...")
    pushed = asyncio.ensure_future(phone.execute(service.url + "/news"))
    await shows(phone, "News", "the pushed page at once")
    await asyncio.wait_for(pushed, 5)
    assert service.log[-2:] == ["/slow", "/news"]


async def test_a_directory_entry_is_dialled_off_hook_on_the_speaker(phone, qtbot):
    await open_item(phone, qtbot, "Directory", "Crew")
    assert rows(phone) == ["Adam  5001", "Ursula  5002"] and softkey_names(phone) == ["Dial", "EditDial", "Exit", ""]
    click(qtbot, phone.nav_down)
    await wait_until(lambda: highlighted(phone) == ["Ursula  5002"], 5, "Ursula highlighted")
    click(qtbot, phone.softkeys[0])
    assert phone.status_label.text() == "Off hook (speaker) - dialing 5002" and phone.speaker_button.isChecked()
    click(qtbot, phone.speaker_button)
    assert phone.status_label.text() == "On hook"
    click(qtbot, phone.softkeys[1])  # EditDial: the number to change before Dial
    await shows(phone, "Edit Dial")
    assert rows(phone) == ["Number: 5002_"] and softkey_names(phone) == ["Dial", "<<", "Cancel", ""]
    click(qtbot, phone.softkeys[1])
    click(qtbot, phone.keys["9"])
    click(qtbot, phone.softkeys[0])
    assert phone.status_label.text() == "Off hook (speaker) - dialing 5009" and phone.speaker_button.isChecked()
    click(qtbot, phone.softkeys[2])  # Cancel: the directory again
    await shows(phone, "Crew")
    assert highlighted(phone) == ["Ursula  5002"]


async def test_the_hook_switch_handset_and_speaker(phone, qtbot):
    changes: list[bool] = []
    phone.hook_changed.connect(changes.append)
    click(qtbot, phone.handset)
    assert phone.status_label.text() == "Off hook (handset)" and phone.handset.isChecked()
    assert phone.status_label.property("offHook") is True
    click(qtbot, phone.speaker_button)
    assert phone.status_label.text() == "Off hook (speaker)"
    click(qtbot, phone.handset)  # hung up: the call stays on the speaker
    assert phone.status_label.text() == "Off hook (speaker)" and not phone.handset.isChecked()
    click(qtbot, phone.handset)  # lifted again: the call moves to the handset
    assert phone.status_label.text() == "Off hook (handset)" and not phone.speaker_button.isChecked()
    click(qtbot, phone.handset)
    assert phone.status_label.text() == "On hook"
    assert changes == [True, False]


async def test_keyboard_digits_arrows_enter_escape_and_function_keys(phone, qtbot):
    qtbot.keyClick(phone, Qt.Key.Key_1)
    await shows(phone, "Demo")
    qtbot.keyClick(phone, Qt.Key.Key_Down)
    await wait_until(lambda: highlighted(phone) == ["2  Login"], 5, "Login highlighted")
    qtbot.keyClick(phone, Qt.Key.Key_Enter)
    await shows(phone, "Login")
    qtbot.keyClicks(phone, "12")
    qtbot.keyClick(phone, Qt.Key.Key_Backspace)
    assert rows(phone)[0] == "User ID: 1_"
    qtbot.keyClick(phone, Qt.Key.Key_Escape)  # Back
    await shows(phone, "Demo")
    qtbot.keyClick(phone, Qt.Key.Key_Escape)  # Back from the first screen: Exit to Services
    await shows(phone, "Services")
    qtbot.keyClick(phone.softkeys[1], Qt.Key.Key_F1)  # keys reach the phone from a focused button too
    await shows(phone, "Demo")
    qtbot.keyClick(phone, Qt.Key.Key_F3)  # Exit
    await shows(phone, "Services")


async def test_every_control_has_a_documented_object_name_and_an_accessible_name(phone, qtbot):
    await open_item(phone, qtbot, "Talk", "Fire")
    checked = 0
    for widget in controls(phone):
        name = widget.objectName()
        assert name, f"a {type(widget).__name__} without objectName"
        assert widget.accessibleName(), f"{name} has no accessible name"
        assert documented(name), f"{name} is not in docs/widgets.md"
        checked += 1
    assert checked == 4 + 3 + 12 + 3  # softkeys, nav cluster, keypad, Services, speaker, handset
    assert phone.findChild(QWidget, "phoneScreen").accessibleDescription().count("Fire")
    hint = phone.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 760, hint


# ---------------------------------------------------------------- ipics-lab phone
async def run_phone(*args: str, display: bool = True) -> asyncio.subprocess.Process:
    env = console_env(QT_QPA_PLATFORM="offscreen") if display else console_env()
    return await start("ipics_desktop.phone.app", *args, env=env)


@pytest.mark.pair
async def test_the_phone_command_lists_the_labs_ipics_services_first(tmp_path: Path):
    servers = [
        SimpleNamespace(name=name, host=host, url=f"http://{host}:8443", pid=1, ssh_port=2222, data_dir=tmp_path / name)
        for name, host in (("primary", "127.0.0.1"), ("secondary", "127.0.0.2"))
    ]
    write_lab_file(tmp_path, servers, time_scale=0.02)
    proc = await run_phone("--lab-dir", str(tmp_path), "--service", "Weather=http://127.0.0.1:9/w", "--report-shown")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
        assert json.loads(line)["services"] == [
            ["IPICS primary", "http://127.0.0.1:8443/phone/ipics"],
            ["IPICS secondary", "http://127.0.0.2:8443/phone/ipics"],
            ["Weather", "http://127.0.0.1:9/w"],
        ]
    finally:
        proc.kill()
        await proc.wait()


@pytest.mark.pair
@pytest.mark.parametrize(
    "args, display, says",
    [
        (["--service", "no-url-here"], True, b"is not NAME=URL"),
        (["--service", "Ftp=ftp://host/x"], True, b"is not NAME=URL"),
        (["--time-scale", "0"], True, b"time scale must be greater than 0"),
        (["--extension", "12a"], True, b"is not a line number"),
        ([], False, b"no display"),
    ],
    ids=["no url", "not http", "time scale", "extension", "no display"],
)
async def test_the_phone_command_says_what_is_wrong(tmp_path, args, display, says):
    proc = await run_phone("--lab-dir", str(tmp_path), *args, display=display)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and says in err, err
