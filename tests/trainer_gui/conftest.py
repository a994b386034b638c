"""The trainer panel against a real trainer lab (media router, HA pair, demo data), on a
qasync loop as in tests/gui.

Each test gets its own lab: it starts in about a second at time scale 0.01, and the
panel's faults (power off, split brain, unconfigure) leave a pair that would take
longer to put back than to start again.  Poll with ``wait_until``; never
``qtbot.waitUntil`` or ``processEvents`` inside a task.
"""

from __future__ import annotations

import pytest

from ipics_desktop.testing import qasync_loop
from ipics_lab.supervisor import wait_until

from ..trainer import conftest as trainer_fixtures
from ..trainer_devices import conftest as device_fixtures

INTERVAL_S, MISSED, TIME_SCALE = trainer_fixtures.INTERVAL_S, trainer_fixtures.MISSED, trainer_fixtures.TIME_SCALE
# The fixtures shared with tests/trainer and tests/trainer_devices.
trainer_lab, launcher = trainer_fixtures.trainer_lab, device_fixtures.launcher
trainer_modes = trainer_fixtures.trainer_modes
qt_objects_deleted = device_fixtures.qt_objects_deleted

#: real seconds any one panel action may take here (a takeover is under 2 s at 0.01)
DEADLINE_S = 20


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": qasync_loop}


@pytest.fixture
async def monitor(trainer_lab):
    """The lab's monitor, polling every 50 ms."""
    watcher = trainer_lab.monitor  # the lab's own (it records): one poller on the timeline
    watcher.period_s = 0.05
    await watcher.poll_once()
    watcher.start()
    try:
        yield watcher
    finally:
        await watcher.stop()


@pytest.fixture
async def make_panel(trainer_lab, monitor, qapp):
    """``make_panel(launcher=None)``: the trainer panel on screen, showing both servers.
    Closed at the end, its tasks ended, before the lab stops."""
    from ipics_desktop.trainer.panel import TrainerPanel
    from ipics_lab.trainer.actions import Actions

    opened: list[TrainerPanel] = []

    async def make(launcher=None) -> TrainerPanel:
        panel = TrainerPanel(trainer_lab, Actions(trainer_lab.pair, trainer_lab.timeline), monitor, launcher)
        opened.append(panel)  # not qtbot.addWidget: pytest-qt would delete it before the teardown below
        panel.show()
        await wait_until(
            lambda: all(c.view is not None and c.view.reachable for c in panel.cards.values()),
            DEADLINE_S,
            "both servers on the panel",
        )
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
