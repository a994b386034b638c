"""The IDC's console windows with their push-to-talk on the media router: each console
has its own ``RouterFloor`` (as each dispatcher's console is its own process), so the
floor is shared only through the router.  A qasync loop, as in tests/gui."""

from __future__ import annotations

import pytest

from ipics_clients.router_floor import RouterFloor
from ipics_desktop.idc.idc import Idc
from ipics_desktop.testing import close_idc, new_idc

from ...gui.conftest import (  # noqa: F401 (fixtures and the qasync loop hook)
    USER_PASSWORD,
    demo,
    no_keyring,
    profile_path,
    pytest_asyncio_loop_factories,
    qt_objects_deleted,
)
from ...pair.conftest import TIME_SCALE
from ...recording_clock import RecordingClock
from ..conftest import router  # noqa: F401 (fixture)


@pytest.fixture
async def open_console(tmp_path, qtbot, router):  # noqa: F811
    """``open_console(profile, servers)``: an IDC whose floor is a ``RouterFloor``."""
    opened: list[Idc] = []

    def make(profile: str, servers: list[str]) -> Idc:
        idc = new_idc(
            profile_path(tmp_path, profile), servers, clock=RecordingClock(TIME_SCALE), floor=RouterFloor(router.url)
        )
        opened.append(idc)
        return idc

    yield make
    for idc in opened:
        await close_idc(idc)
        await idc.floor.close()
