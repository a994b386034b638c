"""The trainer app in-process, on a qasync loop, with no keyring (as tests/trainer_devices)."""

from ipics_desktop.testing import qasync_loop

from ..trainer_devices import conftest as device_fixtures

qt_objects_deleted = device_fixtures.qt_objects_deleted


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": qasync_loop}
