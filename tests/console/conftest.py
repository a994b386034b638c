"""The console core against a real pair (the pair fixtures of tests/pair)."""

from __future__ import annotations

import pytest

from ipics_clients.known_servers import KnownServers
from ipics_clients.session import ConsoleSession

from ..pair.conftest import TIME_SCALE, lab, pair  # noqa: F401 (fixtures)
from ..recording_clock import RecordingClock


@pytest.fixture
def known(tmp_path) -> KnownServers:
    return KnownServers.load(tmp_path / "console" / "servers.json")


@pytest.fixture
async def console(known):
    session = ConsoleSession(known, clock=RecordingClock(TIME_SCALE))
    try:
        yield session
    finally:
        await session.close()
