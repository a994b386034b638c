"""The lab's pytest fixtures that open desktop windows: ``ipics_idc`` and ``ipics_phone``
(entry point ``ipics_lab_qt``), beside the Qt-free ``ipics_lab`` plugin whose pair
(``ipics_demo``) they log in to.

Async tests that use ``ipics_idc`` or ``ipics_phone`` (or carry the ``ipics_qt`` marker)
run on a qasync loop, so the pair, the clients' tasks and the widgets share one loop as
in the application; every other async test keeps a plain asyncio loop.  Importing this
module imports no Qt: the fixtures do, when used.
"""

from __future__ import annotations

import asyncio
import gc
import os
from types import SimpleNamespace

import pytest

from ipics_lab.pytest_plugin import SLACK_S, active_server, async_fixture

#: the fixtures whose tests need the qasync loop
QT_FIXTURES = frozenset({"ipics_idc", "ipics_phone"})
QT_MARKER = "ipics_qt"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{QT_MARKER}: run this async test on the qasync loop (for tests that build their own widgets)"
    )
    # Without a display Qt cannot open a window; offscreen still renders every widget.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# ------------------------------------------------------------------ the loops
def qasync_loop() -> asyncio.AbstractEventLoop:
    """The loop of Qt tests: a qasync loop over the one QApplication (made here if none)."""
    os.environ.setdefault("QT_API", "pyside6")  # before qasync picks a Qt binding
    import qasync
    from PySide6.QtWidgets import QApplication

    from ipics_desktop.shared.style import STYLE_SHEET

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)  # instance() is typed QCoreApplication: here always widgets'
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)  # a test closing its last window must not stop the loop
    return _test_loop_class(qasync.QEventLoop)(app)


_TEST_LOOP_CLASS: type | None = None


def _test_loop_class(base: type) -> type:
    """A qasync loop whose callbacks always find it as the running loop.

    In the application the loop runs for the app's life.  In a test it runs only inside
    pytest-asyncio's ``run_until_complete``, while pytest-qt processes Qt events between
    a test's phases too, and with them this loop's callbacks: a console still
    reconnecting when the test returns then steps its task with no running loop, and
    aiohttp's timeouts fail with "no running event loop".  Each callback run outside
    ``run_until_complete`` sees this loop as running, as it would in the application."""
    global _TEST_LOOP_CLASS
    if _TEST_LOOP_CLASS is None:

        class QtTestLoop(base):
            def call_later(self, delay, callback, *args, context=None):
                return super().call_later(delay, self._as_running, callback, *args, context=context)

            def _as_running(self, callback, *args):
                if asyncio._get_running_loop() is not None:
                    return callback(*args)
                asyncio._set_running_loop(self)
                try:
                    return callback(*args)
                finally:
                    asyncio._set_running_loop(None)

        _TEST_LOOP_CLASS = QtTestLoop
    return _TEST_LOOP_CLASS


def asyncio_loop() -> asyncio.AbstractEventLoop:
    """The loop of every other test: what pytest-asyncio makes without a factory (the
    event loop policy's, so a project's own policy still applies)."""
    return asyncio.new_event_loop()


def wants_qt(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())  # a test function's; not every Item has them
    return bool(QT_FIXTURES & set(fixtures)) or item.get_closest_marker(QT_MARKER) is not None


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
        pytest.fail(
            "ipics_idc and ipics_phone need the qasync loop: use them from an `async def` test "
            "(the ipics_lab plugin then runs the test on a qasync loop), and no conftest's "
            "pytest_asyncio_loop_factories may give this test another loop",
            pytrace=False,
        )


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
    """An IDC (desktop/idc/idc.py) with its own profile folder (selector file and
    remembered user name) knowing ``servers``, its login dialog shown.  Close it with
    ``close_idc`` (not by qtbot: see there)."""
    from ipics_clients.credentials import Credentials
    from ipics_clients.known_servers import KnownServers
    from ipics_desktop.idc.idc import Idc

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


def type_login(page, qtbot, address: str, user: str | None, password: str | None) -> None:
    """What a user does on a login page (the IDC's login dialog, the mobile client's):
    pick the server in the selector, type the user name and the password (None: keep
    what is filled in), press Log In."""
    from PySide6.QtCore import Qt

    index = page.selector.findData(address)
    if index < 0:
        servers = [page.selector.itemData(i) for i in range(page.selector.count())]
        raise ValueError(f"{address} is not in the server selector: {servers}")
    page.selector.setCurrentIndex(index)
    for field, text in ((page.username, user), (page.password, password)):
        if text is not None:
            field.clear()
            qtbot.keyClicks(field, text)
    qtbot.mouseClick(page.login_button, Qt.MouseButton.LeftButton)


async def log_in_idc(idc, qtbot, address: str, user: str, password: str, timeout_s: float) -> None:
    """What a dispatcher does: pick the server, type user name and password, Log In;
    returns when the console window is online, fails with the dialog's message if not."""
    from ipics_clients.session import State
    from ipics_lab.supervisor import wait_until

    dialog = idc.dialog
    type_login(dialog, qtbot, address, user, password)
    await wait_until(
        lambda: dialog.login_task is not None and dialog.login_task.done(), timeout_s, f"{user}'s login on {address}"
    )
    if not (idc.window.isVisible() and idc.session.state == State.ONLINE):
        raise AssertionError(f"{user} could not log in on {address}: {dialog.message.text()!r}")


def _demo_user(demo: SimpleNamespace, user: str) -> str:
    if user not in demo.dial_ids:
        raise ValueError(f"{user!r} is not a demo user: one of {', '.join(demo.dial_ids)}")
    return user


@async_fixture
async def ipics_idc(
    _ipics_on_qasync,
    ipics_demo: SimpleNamespace,
    qtbot,
    tmp_path,
    ipics_time_scale: float,
    ipics_takeover_deadline_s: float,
    ipics_no_keyring,
    _ipics_qt_objects_deleted,
):
    """``await ipics_idc(user, *, login=True)``: an IDC (login dialog, then console
    window; drive it with ``qtbot``) knowing both servers, on the pair's clock (it
    follows a time-scale change), logged in as the demo user on the active server
    (unless ``login=False``: the dialog waits).  The IDCs of one test share a
    push-to-talk floor.  Needs an ``async def`` test (it runs on the qasync loop).
    Closed after the test, on the loop (``close_idc``)."""
    from ipics_clients.talk import Floor

    pair, floor, opened = ipics_demo.pair, Floor(), []

    async def open_idc(user: str = "dan", *, login: bool = True):
        idc = new_idc(
            tmp_path / "ipics-idc" / _demo_user(ipics_demo, user),
            [s.url for s in pair.servers],
            clock=pair.clock,
            floor=floor,
        )  # follows set_time_scale
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
    from PySide6.QtCore import Qt

    from ipics_lab.supervisor import wait_until

    def click(button) -> None:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    async def shows(title: str) -> None:
        await wait_until(
            lambda: window.title_label.text() == title and not window.busy,
            timeout_s,
            f"the phone's {title} screen (on screen: {window.screen_lines()})",
        )

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
async def ipics_phone(
    _ipics_on_qasync, ipics_demo: SimpleNamespace, qtbot, ipics_time_scale: float, _ipics_qt_objects_deleted
):
    """``await ipics_phone(user, *, login=True, web_access=True, time_scale=None)``: a
    Cisco IP phone window (desktop/phone/window.py) in ``qtbot`` whose Services menu
    lists the IPICS service of the primary (key 1) and of the secondary (key 2), its
    push receiver listening (``web_access=False``: pushes refused), its line the demo
    user's Dial Login ID (dan 1001 ... fred 1005); logged in with that ID and the PIN
    on the active server's service unless ``login=False``.  ``time_scale`` sets the
    phone's own clock (default the lab's).  Needs an ``async def`` test (it runs on
    the qasync loop).  Closed after the test."""
    from ipics_clients.addresses import address_seen_by
    from ipics_clients.phone_browser import PhoneBrowser, ipics_service
    from ipics_clients.phone_push import PushReceiver
    from ipics_desktop.phone.window import PhoneWindow
    from ipics_server.clock import Clock

    pair, opened = ipics_demo.pair, []
    page_s = SLACK_S + 5  # one key's page on a loaded machine

    async def open_phone(
        user: str = "dan", *, login: bool = True, web_access: bool = True, time_scale: float | None = None
    ):
        user_id = ipics_demo.dial_ids[_demo_user(ipics_demo, user)]
        browser = PhoneBrowser(
            [ipics_service(s.name, s.url) for s in pair.servers], clock=Clock(time_scale) if time_scale else pair.clock
        )
        window = PhoneWindow(browser=browser, extension=user_id)
        receiver = PushReceiver(window.execute, host=address_seen_by(s.url for s in pair.servers))
        receiver.enabled = web_access
        opened.append((receiver, browser))
        await window.take_pushes(receiver)
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
