"""The lab's pytest plugin (entry point ``ipics_lab``): an HA pair, its addresses, an
administrator's session, faults, and an IDC or IP phone in a qtbot, for test engineers.

Installed with the package, so any test module in this environment can ask for the
fixtures (all named ``ipics_*``; each one's docstring says what it gives):

    async def test_the_secondary_takes_over(ipics_pair, ipics_faults, ipics_takeover_deadline_s):
        await ipics_faults.power_off("primary")  # kill -9
        await ipics_pair.wait_status(ipics_pair.secondary, ipics_takeover_deadline_s, role="active")

Options: ``--ipics-time-scale S`` (or the ini option ``ipics_time_scale``; default 0.01:
the 25 s failover window passes in a quarter of a real second), ini options
``ipics_heartbeat_interval`` (5) and ``ipics_missed_heartbeats`` (5).

Async tests that use ``ipics_idc`` or ``ipics_phone`` (or carry the ``ipics_qt``
marker) run on a qasync loop, so the pair, the clients' tasks and the widgets share
one loop as in the application; every other async test keeps a plain asyncio loop.
Importing this module imports neither Qt nor the servers: the fixtures do, when used.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # the plugin loads in every pytest run here; only its async fixtures need it
    async_fixture = pytest.fixture

if TYPE_CHECKING:
    from ipics_server.lab.supervisor import LabPair, ServerProcess

DEFAULT_TIME_SCALE = 0.01
DEFAULT_HEARTBEAT_INTERVAL_S = 5
DEFAULT_MISSED_HEARTBEATS = 5
#: the demo users' password and Dial Login PIN (fixed, so a failing test can be replayed by hand)
DEMO_PASSWORD = "Demo-Pass-2026"
DEMO_PIN = "246810"
#: the fixtures whose tests need the qasync loop
QT_FIXTURES = frozenset({"ipics_idc", "ipics_phone"})
QT_MARKER = "ipics_qt"
#: real seconds of slack on every derived deadline, for a loaded machine
SLACK_S = 10


# --------------------------------------------------------------------- options
@dataclass(frozen=True)
class LabSettings:
    time_scale: float
    heartbeat_interval_s: int
    missed_heartbeats: int


_SETTINGS = pytest.StashKey[LabSettings]()


def check_time_scale(value: float) -> float:
    from ipics_server.clock import (
        check_time_scale as servers_rule,  # not at import: no server code
    )

    return servers_rule(value)


def parse_time_scale(text: str) -> float:
    """A time scale from the command line or the ini file: real seconds per emulated second."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    try:
        return check_time_scale(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini option {name} = {text!r} is not a whole number") from None
    if not low <= value <= high:  # the chapter's ranges; the server would refuse the settings later
        raise pytest.UsageError(f"ini option {name} = {value} is outside {low}-{high}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipics_lab", "IPICS HA Lab (the ipics_* fixtures)")
    group.addoption("--ipics-time-scale", type=parse_time_scale, default=None, metavar="S",
                    help="real seconds per emulated second for the lab's pair "
                         f"(default: ini ipics_time_scale, else {DEFAULT_TIME_SCALE})")
    parser.addini("ipics_time_scale", "the lab pair's time scale (real seconds per emulated second)",
                  default=str(DEFAULT_TIME_SCALE))
    parser.addini("ipics_heartbeat_interval", "ipics_pair's heartbeat interval, emulated seconds (5-600)",
                  default=str(DEFAULT_HEARTBEAT_INTERVAL_S))
    parser.addini("ipics_missed_heartbeats", "ipics_pair's missed heartbeat count (5-30)",
                  default=str(DEFAULT_MISSED_HEARTBEATS))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{QT_MARKER}: run this async test on the qasync loop "
                                       "(for tests that build their own widgets)")
    scale = config.getoption("ipics_time_scale")
    if scale is None:
        try:
            scale = parse_time_scale(config.getini("ipics_time_scale"))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option ipics_time_scale: {exc}") from None
    config.stash[_SETTINGS] = LabSettings(
        time_scale=scale,
        heartbeat_interval_s=_whole("ipics_heartbeat_interval", config.getini("ipics_heartbeat_interval"), 5, 600),
        missed_heartbeats=_whole("ipics_missed_heartbeats", config.getini("ipics_missed_heartbeats"), 5, 30))
    # Without a display Qt cannot open a window; offscreen still renders every widget.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _settings(config: pytest.Config) -> LabSettings:
    return config.stash[_SETTINGS]


# ------------------------------------------------------------------ the loops
def qasync_loop() -> asyncio.AbstractEventLoop:
    """The loop of Qt tests: a qasync loop over the one QApplication (made here if none)."""
    os.environ.setdefault("QT_API", "pyside6")  # before qasync picks a Qt binding
    import qasync
    from ipics_desktop.qt.style import STYLE_SHEET
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)  # a test closing its last window must not stop the loop
    return qasync.QEventLoop(app)


def asyncio_loop() -> asyncio.AbstractEventLoop:
    """The loop of every other test: what pytest-asyncio makes without a factory (the
    event loop policy's, so a project's own policy still applies)."""
    return asyncio.new_event_loop()


def wants_qt(item: pytest.Item) -> bool:
    return bool(QT_FIXTURES & set(item.fixturenames)) or item.get_closest_marker(QT_MARKER) is not None


@pytest.hookimpl(optionalhook=True)
def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item):
    # pytest-asyncio refuses a hook that answers None, so other tests get the plain loop
    # by name.  A conftest's own implementation of this hook is asked first.
    return {"qasync": qasync_loop} if wants_qt(item) else {"asyncio": asyncio_loop}


@async_fixture
async def _ipics_on_qasync():
    # First in the Qt fixtures' arguments: the error comes before a pair is started.
    import qasync

    if not isinstance(asyncio.get_running_loop(), qasync.QEventLoop):
        pytest.fail("ipics_idc and ipics_phone need the qasync loop: use them from an `async def` test "
                    "(the ipics_lab plugin then runs the test on a qasync loop), and no conftest's "
                    "pytest_asyncio_loop_factories may give this test another loop", pytrace=False)


# -------------------------------------------------------------------- the pair
@dataclass(frozen=True)
class ServerAddress:
    name: str  # "primary" or "secondary"
    url: str  # the client API, http://host:port
    host: str  # its own loopback address
    port: int
    ssh_port: int | None  # the server shell (ipics-lab shell); None if it runs without SSH


@dataclass(frozen=True)
class PairAddresses:
    primary: ServerAddress
    secondary: ServerAddress
    heartbeat_port: int  # the same port on both hosts, as on two real servers

    @property
    def urls(self) -> list[str]:
        return [self.primary.url, self.secondary.url]

    def server(self, name: str) -> ServerAddress:
        if name not in ("primary", "secondary"):
            raise ValueError(f"no server {name!r}: primary or secondary")
        return getattr(self, name)


def pair_addresses(pair: LabPair) -> PairAddresses:
    def one(s: ServerProcess) -> ServerAddress:
        return ServerAddress(s.name, s.url, s.host, s.port, s.ssh_port)

    return PairAddresses(one(pair.primary), one(pair.secondary), pair.primary.heartbeat_port)


async def active_server(pair: LabPair, timeout_s: float = SLACK_S) -> ServerProcess:
    """The server that reports itself active (the first of two in a split brain)."""
    from ipics_server.adapters.httpclient import Unreachable
    from ipics_server.lab.supervisor import wait_until

    async def find():
        for server in pair.servers:
            try:
                if (await pair.status(server)).get("role") == "active":
                    return server
            except Unreachable:
                continue
        return None

    return await wait_until(find, timeout_s, "a server of the pair to be active")


def takeover_deadline_s(time_scale: float, heartbeat_interval_s: int = DEFAULT_HEARTBEAT_INTERVAL_S,
                        missed_heartbeats: int = DEFAULT_MISSED_HEARTBEATS) -> float:
    """Real seconds a whole failover may take: the missed-heartbeat window plus the
    longest takeover (a crashed tomcat's, 300 emulated s), scaled, plus slack."""
    from ipics_server.core.roles import TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S

    longest = max(TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S)
    return (heartbeat_interval_s * missed_heartbeats + longest) * time_scale + SLACK_S


@pytest.fixture
def ipics_time_scale(request: pytest.FixtureRequest) -> float:
    """Real seconds per emulated second for the lab: ``--ipics-time-scale``, else the
    ini option ``ipics_time_scale``, else 0.01.  A test module may override this fixture
    (``@pytest.fixture def ipics_time_scale(): return 0.02``)."""
    return _settings(request.config).time_scale


@pytest.fixture
def ipics_takeover_deadline_s(ipics_time_scale: float, request: pytest.FixtureRequest) -> float:
    """Real seconds to wait for a failover at this lab's settings: the missed-heartbeat
    window plus the longest takeover (300 emulated s), scaled, plus 10 s of slack."""
    s = _settings(request.config)
    return takeover_deadline_s(ipics_time_scale, s.heartbeat_interval_s, s.missed_heartbeats)


@pytest.fixture
def ipics_lab(tmp_path, ipics_time_scale: float):
    """An unstarted ``LabPair`` (ipics_server.lab.supervisor) in the test's ``tmp_path``
    at ``ipics_time_scale``: call ``await ipics_lab.up(...)`` or its steps yourself.
    Stopped after the test; a server that does not stop is killed."""
    from ipics_server.lab.supervisor import LabPair

    try:
        check_time_scale(ipics_time_scale)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"ipics_time_scale: {exc}", pytrace=False)
    pair = LabPair(tmp_path, time_scale=ipics_time_scale)
    try:
        yield pair
    finally:
        pair.stop()  # SIGTERM, then kill -9 after 10 s
        for server in pair.servers:
            server.kill()  # a no-op unless it is still running


@async_fixture
async def ipics_pair(ipics_lab: LabPair, request: pytest.FixtureRequest) -> LabPair:
    """``ipics_lab`` started as ``ipics-lab up`` does without demo data: licenses, NTP,
    trust, HA configured (heartbeat interval and missed count from the ini options
    ``ipics_heartbeat_interval``, 5 s, and ``ipics_missed_heartbeats``, 5), the primary
    active and the standby Ready."""
    s = _settings(request.config)
    await ipics_lab.up(interval_s=s.heartbeat_interval_s, missed_count=s.missed_heartbeats)
    return ipics_lab


@async_fixture
async def ipics_demo(ipics_pair: LabPair) -> SimpleNamespace:
    """``ipics_pair`` with the demo data (ipics_server.lab.seed): Dan, Adam, Ursula, Amy
    and Fred (password ``.password``; Dial Login user IDs 1001-1005 in ``.dial_ids``,
    PIN ``.pin``), channels Fire, Police, EMS, Public Works, two VTGs, an incident with a
    photo.  ``.pair`` is the pair, ``.seeded`` the ids ``seed_demo_data`` returned.
    Replicated to the standby before the test starts."""
    from ipics_server.lab.seed import DEMO_DIAL_IDS, seed_demo_data

    async with await ipics_pair.admin(ipics_pair.primary) as admin:
        seeded = await seed_demo_data(admin, DEMO_PASSWORD, DEMO_PIN)
    await ipics_pair.wait_ready()
    return SimpleNamespace(pair=ipics_pair, seeded=seeded, password=DEMO_PASSWORD, pin=DEMO_PIN,
                           dial_ids=dict(DEMO_DIAL_IDS))


@pytest.fixture
def ipics_addresses(ipics_pair: LabPair) -> PairAddresses:
    """Where the started pair listens: ``.primary`` and ``.secondary`` (``url``, ``host``,
    ``port``, ``ssh_port``), ``.heartbeat_port``, ``.urls``.  They stay valid across a
    power off and on (a server comes back on the same ports)."""
    return pair_addresses(ipics_pair)


@async_fixture
async def ipics_admin(ipics_pair: LabPair):
    """An ``ApiClient`` logged in as ipicsadmin on the active server (the primary, unless
    the test changed the pair first); closed after the test.  Its ``.token`` also works
    on the partner once replicated (sessions replicate)."""
    client = await ipics_pair.admin(await active_server(ipics_pair))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def ipics_faults(ipics_pair: LabPair):
    """``ipics_desktop.trainer.actions.Actions`` on the pair: faults (``power_off``,
    ``power_on``, ``crash_tomcat``, ``cut_link``, ``heal_link``, ``skew_clock``,
    ``fill_txlog``) and the administrator's actions (``failover_now``, ``go_standby``,
    ``repair``, ``rsync``, ``unconfigure``, ``configure``), each awaited, each returning
    a sentence or raising ``ActionRefused`` with the reason."""
    from ipics_desktop.trainer.actions import Actions

    return Actions(ipics_pair)


# ----------------------------------------------------------------- Qt clients
@pytest.fixture
def ipics_no_keyring():
    """No keyring, as on a machine without a desktop session, for the test's length:
    a test never reads or writes the real keyring (set another backend after this one
    to test Remember me)."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def _ipics_qt_objects_deleted(qapp):
    # The test's windows are deleted while the application still runs, not at the
    # interpreter's exit, where PySide6 finalizers are fragile.
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()


def new_idc(profile_dir, servers, *, clock, floor=None):
    """An IDC (desktop/qt/idc.py) with its own profile folder (selector file and
    remembered user name) knowing ``servers``, its login dialog shown.  Close it with
    ``close_idc`` (not by qtbot: see there)."""
    from ipics_desktop.core.credentials import Credentials
    from ipics_desktop.core.known_servers import KnownServers
    from ipics_desktop.qt.idc import Idc

    known = KnownServers.load(profile_dir / "servers.json")
    for url in servers:
        known.add(url)
    idc = Idc(known, Credentials(profile_dir), clock=clock, floor=floor)
    idc.start()
    return idc


async def close_idc(idc) -> None:
    """Its windows closed, its tasks cancelled and its session closed (logged out,
    socket closed), on the running loop.  Not left to qtbot: pytest-qt closes the
    widgets it was given after the test, outside the loop, and the console's close
    would then start on a loop that is not running."""
    await idc.aclose()


async def log_in_idc(idc, qtbot, address: str, user: str, password: str, timeout_s: float) -> None:
    """What a dispatcher does: pick the server, type user name and password, Log In;
    returns when the console window is online, fails with the dialog's message if not."""
    from ipics_desktop.core.session import State
    from ipics_server.lab.supervisor import wait_until
    from PySide6.QtCore import Qt

    dialog = idc.dialog
    index = dialog.selector.findData(address)
    if index < 0:
        raise ValueError(f"{address} is not in the IDC's server selector")
    dialog.selector.setCurrentIndex(index)
    dialog.username.clear()
    qtbot.keyClicks(dialog.username, user)
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, password)
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: dialog.login_task is not None and dialog.login_task.done(), timeout_s,
                     f"{user}'s login on {address}")
    if not (idc.window.isVisible() and idc.session.state == State.ONLINE):
        raise AssertionError(f"{user} could not log in on {address}: {dialog.message.text()!r}")


def _demo_user(demo: SimpleNamespace, user: str) -> str:
    if user not in demo.dial_ids:
        raise ValueError(f"{user!r} is not a demo user: one of {', '.join(demo.dial_ids)}")
    return user


@async_fixture
async def ipics_idc(_ipics_on_qasync, ipics_demo: SimpleNamespace, qtbot, tmp_path, ipics_time_scale: float,
                    ipics_takeover_deadline_s: float, ipics_no_keyring, _ipics_qt_objects_deleted):
    """``await ipics_idc(user, *, login=True)``: an IDC (login dialog, then console
    window; drive it with ``qtbot``) knowing both servers, on the pair's clock (it
    follows a time-scale change), logged in as the demo user on the active server
    (unless ``login=False``: the dialog waits).  The IDCs of one test share a
    push-to-talk floor.  Needs an ``async def`` test (it runs on the qasync loop).
    Closed after the test, on the loop (``close_idc``)."""
    from ipics_desktop.core.talk import Floor

    pair, floor, opened = ipics_demo.pair, Floor(), []

    async def open_idc(user: str = "dan", *, login: bool = True):
        idc = new_idc(tmp_path / "ipics-idc" / _demo_user(ipics_demo, user),
                      [s.url for s in pair.servers], clock=pair.clock, floor=floor)  # follows set_time_scale
        opened.append(idc)
        if login:
            active = await active_server(pair)
            await log_in_idc(idc, qtbot, active.url, user, ipics_demo.password, ipics_takeover_deadline_s)
        return idc

    yield open_idc
    for idc in opened:
        await close_idc(idc)


async def log_in_phone(window, qtbot, service_key: str, user_id: str, pin: str, timeout_s: float) -> None:
    """Services, the IPICS service on keypad key ``service_key``, the user ID, Down, the
    PIN, Submit: returns on the user's IPICS menu (its channels then VTGs)."""
    from ipics_server.lab.supervisor import wait_until
    from PySide6.QtCore import Qt

    def click(button) -> None:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    async def shows(title: str) -> None:
        await wait_until(lambda: window.title_label.text() == title and not window._busy, timeout_s,
                         f"the phone's {title} screen (on screen: {window.screen_lines()})")

    click(window.services_button)
    await shows("Services")
    click(window.keys[service_key])
    await shows("IPICS Login")
    for digit in user_id:
        click(window.keys[digit])
    click(window.nav_down)
    for digit in pin:
        click(window.keys[digit])
    click(window.softkeys[0])  # Submit
    await shows("IPICS")


@async_fixture
async def ipics_phone(_ipics_on_qasync, ipics_demo: SimpleNamespace, qtbot, ipics_time_scale: float,
                      _ipics_qt_objects_deleted):
    """``await ipics_phone(user, *, login=True, web_access=True, time_scale=None)``: a
    Cisco IP phone window (desktop/qt/phone_window.py) in ``qtbot`` whose Services menu
    lists the IPICS service of the primary (key 1) and of the secondary (key 2), its
    push receiver listening (``web_access=False``: pushes refused), its line the demo
    user's Dial Login ID (dan 1001 ... fred 1005); logged in with that ID and the PIN
    on the active server's service unless ``login=False``.  ``time_scale`` sets the
    phone's own clock (default the lab's).  Needs an ``async def`` test (it runs on
    the qasync loop).  Closed after the test."""
    from ipics_desktop.core.phone_browser import PhoneBrowser, Service
    from ipics_desktop.core.phone_push import PushReceiver
    from ipics_desktop.qt.phone_app import IPICS_PHONE_PATH
    from ipics_desktop.qt.phone_window import PhoneWindow
    from ipics_server.clock import Clock

    pair, opened = ipics_demo.pair, []
    page_s = SLACK_S + 5  # one key's page on a loaded machine

    async def open_phone(user: str = "dan", *, login: bool = True, web_access: bool = True,
                         time_scale: float | None = None):
        user_id = ipics_demo.dial_ids[_demo_user(ipics_demo, user)]
        browser = PhoneBrowser([Service(f"IPICS {s.name}", s.url + IPICS_PHONE_PATH) for s in pair.servers],
                               clock=Clock(time_scale) if time_scale else pair.clock)
        window = PhoneWindow(browser=browser, extension=user_id)
        receiver = PushReceiver(window.execute)
        receiver.enabled = web_access
        opened.append((receiver, browser))
        await receiver.start()  # listening before the first request tells a service where to push
        browser.headers.update(receiver.headers())
        window.attach_push_receiver(receiver)
        qtbot.addWidget(window)  # pytest-qt closes it (its tasks cancelled) before the fixtures end
        window.show()
        if login:
            key = "1" if (await active_server(pair)) is pair.primary else "2"
            await log_in_phone(window, qtbot, key, user_id, ipics_demo.pin, page_s)
        return window

    yield open_phone
    for receiver, browser in opened:
        await receiver.close()
        await browser.close()
