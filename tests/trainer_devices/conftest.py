"""Devices opened by the trainer, in-process on a qasync loop (as tests/gui does),
against a real trainer lab: media router, HA pair, demo data, at a small time scale."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from ipics_desktop.testing import qasync_loop
from ipics_desktop.trainer.devices import DeviceLauncher

from ..trainer import conftest as trainer_fixtures

INTERVAL_S, MISSED, TIME_SCALE = trainer_fixtures.INTERVAL_S, trainer_fixtures.MISSED, trainer_fixtures.TIME_SCALE
trainer_lab = trainer_fixtures.trainer_lab  # the fixture shared with tests/trainer
trainer_modes = trainer_fixtures.trainer_modes


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": qasync_loop}


@pytest.fixture(autouse=True)
def qt_objects_deleted(qapp, ipics_no_keyring):
    """No keyring (as on a machine without a desktop session: the real one is never
    touched), and each test's windows deleted while the application still runs."""
    yield
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()


@pytest.fixture
async def launcher(trainer_lab, tmp_path):
    devices = DeviceLauncher(trainer_lab, tmp_path / "profiles")
    try:
        yield devices
    finally:
        await devices.close_all()  # while the loop and the lab still run
