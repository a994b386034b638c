"""The in-process tier: both servers on the test's event loop, on emulated time that
jumps (ipics_lab.inprocess).  No process is started here: every test checks it.

Waits are in emulated seconds; the chapter's durations are asserted on the emulated
clock (``pair.now_s``), exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from ipics_lab.inprocess import InProcessPair
from ipics_lab.inprocess_loop import EmulatedTimeLoop

INTERVAL_S = 15
MISSED = 5
#: ``pytest tests/inprocess/test_pair_machine.py --hypothesis-profile=ipics-long``: the
#: state machine's longer search (a few minutes), random sequences, no example database
LONG_PROFILE = "ipics-long"
settings.register_profile(LONG_PROFILE, max_examples=300, stateful_step_count=30, database=None)


def pytest_asyncio_loop_factories(config, item):
    return {"emulated_time": EmulatedTimeLoop}


def child_processes() -> list[str]:
    """Processes whose parent is this one (from /proc)."""
    me, children = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == me:
                children.append(f"{entry.name} {(entry / 'comm').read_text().strip()}")
    return children


@pytest.fixture(autouse=True)
def no_child_process():
    """The tier's promise: nothing here starts a process."""
    before = child_processes()
    yield
    started = [c for c in child_processes() if c not in before]
    assert not started, f"the in-process tier started processes: {started}"


@pytest.fixture
async def lab(tmp_path):
    """An unstarted in-process pair, stopped after the test."""
    pair = InProcessPair(tmp_path)
    try:
        yield pair
    finally:
        await pair.stop()


@pytest.fixture
async def pair(lab):
    """Started, trusted, configured (15 s heartbeats, 5 missed), the standby Ready."""
    await lab.up(interval_s=INTERVAL_S, missed_count=MISSED)
    return lab


async def create_channel(client, name: str) -> dict:
    reply = await client.post("/api/v1/channels", {"name": name})
    assert reply.status == 201, reply.body
    return reply.body


async def channel_names(client) -> set[str]:
    reply = await client.get("/api/v1/channels")
    assert reply.ok, reply.body
    return {c["name"] for c in reply.body["channels"]}


async def when(pair, server, within_s: float, **expected) -> tuple[float, dict]:
    """Wait (emulated) until ``server``'s status shows ``expected``: (the emulated moment
    it first did, the status)."""
    st = await pair.wait_status(server, within_s, **expected)
    return pair.now_s, st


async def discarded_on(pair, server) -> list[dict]:
    """The server's discarded-records log, read with an administrator token that works
    there (a standby refuses logins; the token reaches it by replication)."""
    reply = await pair.wait_until(
        lambda: pair.admin_attempt(server, "GET", "/api/v1/ha/discarded"),
        pair.TOKEN_WAIT_S,
        f"{server.name} to accept the lab token",
    )
    assert reply.ok, reply.body
    return reply.body["discarded"]
