"""The trainer panel against a real trainer lab (media router, HA pair, demo data), on a
qasync loop as in tests/gui.

Each test gets its own lab: it starts in about a second at time scale 0.01, and the
panel's faults (power off, split brain, unconfigure) leave a pair that would take
longer to put back than to start again.  Poll with ``wait_until``; never
``qtbot.waitUntil`` or ``processEvents`` inside a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

import pytest
import qasync
from ipics_desktop.qt.style import STYLE_SHEET
from ipics_server.lab.supervisor import wait_until
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

TIME_SCALE = 0.01
INTERVAL_S = 5
MISSED = 5
#: real seconds any one panel action may take here (a takeover is under 2 s at 0.01)
DEADLINE_S = 20


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": _qasync_loop}


def _qasync_loop():
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)
    return qasync.QEventLoop(app)


@pytest.fixture(autouse=True)
def qt_objects_deleted(qapp):
    """Windows and Qt objects are deleted while the application still runs."""
    yield
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture
async def trainer_lab(tmp_path):
    from ipics_desktop.trainer.lab import TrainerLab

    lab = TrainerLab(tmp_path / "lab", time_scale=TIME_SCALE, interval_s=INTERVAL_S, missed_count=MISSED,
                     media=True)
    try:
        await lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
async def monitor(trainer_lab):
    """The lab's monitor, polling every 50 ms.

    Polled by ``_keep_polling`` rather than ``Monitor.start()``: pytest-qt calls
    ``processEvents()`` between a test's setup, call and teardown, where qasync runs
    due timers with no running loop, and ``asyncio.sleep`` then kills the polling task
    (RuntimeError: no running event loop) before the test has even begun."""
    from ipics_desktop.trainer.monitor import Monitor

    watcher = Monitor(trainer_lab.pair, trainer_lab.timeline, trainer_lab.clock, period_s=0.05)
    await watcher.poll_once()
    loop = asyncio.get_running_loop()
    task = loop.create_task(_keep_polling(watcher, loop))
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


async def _keep_polling(watcher, loop: asyncio.AbstractEventLoop) -> None:
    while True:
        try:
            await watcher.poll_once()
        except RuntimeError:  # a poll started outside the running loop (see ``monitor``): the next one
            pass
        # A sleep on the loop it was given: it needs no running loop to be set.
        done = loop.create_future()
        handle = loop.call_later(watcher.period_s, _wake, done)
        try:
            await done
        finally:
            handle.cancel()


@pytest.fixture
async def make_panel(trainer_lab, monitor, qapp):
    """``make_panel(launcher=None)``: the trainer panel on screen, showing both servers.
    Closed at the end, its tasks ended, before the lab stops."""
    from ipics_desktop.qt.trainer_panel import TrainerPanel
    from ipics_desktop.trainer.actions import Actions

    opened: list[TrainerPanel] = []

    async def make(launcher=None) -> TrainerPanel:
        panel = TrainerPanel(trainer_lab, Actions(trainer_lab.pair, trainer_lab.timeline), monitor, launcher)
        opened.append(panel)  # not qtbot.addWidget: pytest-qt would delete it before the teardown below
        panel.show()
        await wait_until(lambda: all(c.view is not None and c.view.reachable for c in panel.cards.values()),
                         DEADLINE_S, "both servers on the panel")
        return panel

    yield make
    for panel in opened:
        panel.close()
        await wait_until(lambda p=panel: len(p.tasks) == 0, 5, "the panel's tasks to end")
        panel.deleteLater()


@pytest.fixture
async def panel(make_panel):
    """The trainer panel, without a device launcher."""
    return await make_panel()


@pytest.fixture
async def launcher(trainer_lab, tmp_path):
    from ipics_desktop.qt.trainer_devices import DeviceLauncher

    devices = DeviceLauncher(trainer_lab, tmp_path / "profiles")
    try:
        yield devices
    finally:
        await devices.close_all()
