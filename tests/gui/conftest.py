"""IDC widgets against a real HA pair, on a qasync loop.

Async tests here run on a ``qasync.QEventLoop`` (pytest-asyncio's loop-factory hook,
for this folder only: every test here, not only those using ``ipics_idc``), so the
pair fixtures, the session's tasks and the widgets share one loop, as in the
application.  The loop, the keyring guard and the IDCs come from the lab's pytest
plugin (lab/pytest_plugin.py).  Poll with ``wait_until`` (it awaits),
never ``qtbot.waitUntil``, which cannot run inside a task on a qasync loop.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from ipics_clients.talk import Floor
from ipics_desktop.idc.idc import Idc
from ipics_desktop.testing import close_idc, new_idc, qasync_loop
from ipics_server.clock import Clock

from ..memory_keyring import MemoryKeyring
from ..pair.conftest import TIME_SCALE, USER_PASSWORD, demo, lab, pair  # noqa: F401 (fixtures)
from ..recording_clock import RecordingClock


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": qasync_loop}


@pytest.fixture(autouse=True)
def qt_objects_deleted(qapp):
    """Each test's windows and Qt objects are deleted while the application still runs,
    not left to the interpreter's exit, where PySide6 finalizers are fragile."""
    yield
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture(autouse=True)
def no_keyring(ipics_no_keyring):
    """By default no keyring, as on a machine without a desktop session: a test never
    touches the developer's real keyring."""


@pytest.fixture
def memory_keyring(no_keyring) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def floor() -> Floor:
    return Floor()


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def no_error_logged():
    """Fails the test when anything in this process logged an error, its teardown
    included (the widgets pytest-qt closes, the IDCs closed after the test): an error
    logged on every teardown hides the real ones."""
    errors = _ErrorRecords()
    logging.getLogger().addHandler(errors)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(errors)
    assert not errors.records, "errors logged:\n" + "\n".join(map(logging.Formatter().format, errors.records))


@pytest.fixture
async def open_idc(no_error_logged, tmp_path, qtbot, floor):
    """``open_idc(profile, servers)``: an IDC with its own profile folder (the selector
    file and the remembered user name), as a dispatcher's desktop would have.  A test
    that opens one fails if anything logs an error, its teardown included."""
    opened: list[Idc] = []

    def make(profile: str = "dan", servers: list[str] = (), *, clock: Clock | None = None) -> Idc:
        idc = new_idc(profile_path(tmp_path, profile), servers, clock=clock or RecordingClock(TIME_SCALE), floor=floor)
        opened.append(idc)
        return idc

    yield make
    for idc in opened:
        await close_idc(idc)


def profile_path(tmp_path: Path, profile: str) -> Path:
    return tmp_path / "profiles" / profile
