"""The trainer app in-process, on a qasync loop, with no keyring (as tests/trainer_devices)."""

from ipics_desktop.trainer.pytest_plugin import qasync_loop

from ..trainer_devices.conftest import qt_objects_deleted  # noqa: F401 (fixture)


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": qasync_loop}
