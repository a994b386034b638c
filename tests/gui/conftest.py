"""IDC widgets against a real HA pair, on a qasync loop.

Async tests here run on a ``qasync.QEventLoop`` (pytest-asyncio's loop-factory hook,
for this folder only), so the pair fixtures, the session's tasks and the widgets
share one loop, as in the application.  Poll with ``wait_until`` (it awaits), never
``qtbot.waitUntil``, which cannot run inside a task on a qasync loop.
"""

from __future__ import annotations

import gc
from pathlib import Path

import keyring
import pytest
import qasync
from ipics_desktop.core.credentials import Credentials
from ipics_desktop.core.known_servers import KnownServers
from ipics_desktop.core.talk import Floor
from ipics_desktop.qt.idc import Idc
from ipics_desktop.qt.style import STYLE_SHEET
from ipics_server.clock import Clock
from keyring.backends import fail
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from ..memory_keyring import MemoryKeyring
from ..pair.conftest import TIME_SCALE, USER_PASSWORD, demo, lab, pair  # noqa: F401 (fixtures)
from ..recording_clock import RecordingClock


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": _qasync_loop}


def _qasync_loop():
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)
    return qasync.QEventLoop(app)


@pytest.fixture(autouse=True)
def qt_objects_deleted(qapp):
    """Each test's windows and Qt objects are deleted while the application still runs,
    not left to the interpreter's exit, where PySide6 finalizers are fragile."""
    yield
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture(autouse=True)
def no_keyring():
    """By default no keyring, as on a machine without a desktop session: a test never
    touches the developer's real keyring."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(no_keyring) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def floor() -> Floor:
    return Floor()


@pytest.fixture
async def open_idc(tmp_path, qtbot, floor):
    """``open_idc(profile, servers)``: an IDC with its own profile folder (the selector
    file and the remembered user name), as a dispatcher's desktop would have."""
    opened: list[Idc] = []

    def make(profile: str = "dan", servers: list[str] = (), *, clock: Clock | None = None) -> Idc:
        profile_dir = profile_path(tmp_path, profile)
        known = KnownServers.load(profile_dir / "servers.json")
        for url in servers:
            known.add(url)
        idc = Idc(known, Credentials(profile_dir), clock=clock or RecordingClock(TIME_SCALE), floor=floor)
        qtbot.addWidget(idc.dialog)
        qtbot.addWidget(idc.window)
        opened.append(idc)
        idc.start()
        return idc

    yield make
    for idc in opened:
        idc.tasks.cancel_all()
        idc.dialog.tasks.cancel_all()
        idc.window.tasks.cancel_all()
        await idc.session.close()


def profile_path(tmp_path: Path, profile: str) -> Path:
    return tmp_path / "profiles" / profile
