"""The in-process tier's own promises: emulated time jumps and gives the same story on
every run; power-off takes a server away at once and writes nothing on the way down."""

from __future__ import annotations

import asyncio
import time

import pytest

from ipics_lab.inprocess import InProcessPair
from ipics_lab.inprocess_loop import OWNER, EmulatedTimeLoop, PoweredOff
from ipics_server.adapters.httpclient import Unreachable

from .conftest import INTERVAL_S, MISSED, channel_names, create_channel, discarded_on, when


async def test_power_off_lets_nothing_it_runs_on_the_way_down_reach_the_disk(tmp_path):
    """A task of the server that, cancelled, still tries to write a file or open a
    connection: refused, as a killed process would never get to them."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, EmulatedTimeLoop)
    started, outcome = asyncio.Event(), []

    async def dying_words():
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            for attempt in (
                lambda: asyncio.to_thread((tmp_path / "last-words").write_text, "x"),
                lambda: asyncio.open_connection("127.0.0.1", 9),
            ):
                try:
                    await attempt()
                except PoweredOff as exc:
                    outcome.append(str(exc))

    loop.power_on("doomed")
    OWNER.set("doomed")  # this test's task starts the server's task, as a server's code would
    task = loop.create_task(dying_words())
    OWNER.set(None)
    await started.wait()
    assert await loop.power_off("doomed") == 1
    assert task.cancelled() and not (tmp_path / "last-words").exists()
    assert outcome == ["the doomed server is powered off"] * 2


async def test_a_powered_off_server_is_gone_at_once_and_comes_back_with_its_data(pair):
    async with await pair.admin(pair.primary) as admin:
        await create_channel(admin, "Before The Power Cut")
    await pair.wait_replicated()
    url = pair.primary.url
    await pair.power_off(pair.primary)
    assert all(t.done() for t in asyncio.get_running_loop().owned("primary").tasks)
    async with pair.primary.client() as c:
        with pytest.raises(Unreachable):
            await c.get("/api/v1/ha/status")
    st = await pair.status(pair.secondary)
    assert st["role"] == "standby" and st["heartbeat"]["missed_now"] == 0  # no time has passed

    await pair.power_on(pair.primary)
    assert pair.primary.url == url  # same address, same data directory
    # Back before the missed-heartbeat window ran out: both standby, and the one holding
    # the active's data takes over (no failback).
    await when(pair, pair.primary, INTERVAL_S, role="standby")
    # Detected within an interval, a takeover of at most 180 s, then the standby's Ready
    # reaches the active with its next heartbeat: up to another interval.
    await when(pair, pair.secondary, 2 * INTERVAL_S + 180, role="active", standby_server_status="Ready")
    async with await pair.admin(pair.secondary) as admin:
        assert "Before The Power Cut" in await channel_names(admin)


def failover_story(root) -> list[tuple[float, str, str]]:
    """Power off the active, wait for the takeover, power it on again: (emulated
    moment, server, role) at every change seen, in a fresh loop."""

    async def story():
        pair = InProcessPair(root, seed=7)
        roles: dict[str, str] = {}
        seen: list[tuple[float, str, str]] = []

        async def watch(**goal) -> bool:
            for server in pair.servers:
                if server.powered and roles.get(server.name) != (role := (await pair.status(server))["role"]):
                    roles[server.name] = role
                    seen.append((pair.now_s, server.name, role))
            return all(roles.get(name) == role for name, role in goal.items())

        try:
            await pair.up(interval_s=INTERVAL_S, missed_count=MISSED)
            await watch()
            await pair.power_off(pair.primary)
            await pair.until(lambda: watch(secondary="active"), 75 + 180, "the takeover")
            await pair.power_on(pair.primary)
            await pair.until(lambda: watch(primary="standby"), INTERVAL_S, "the primary back as standby")
            await pair.run_for(600)
            await watch()
            return seen
        finally:
            await pair.stop()

    with asyncio.Runner(loop_factory=EmulatedTimeLoop) as runner:
        return runner.run(story())


def test_emulated_time_jumps_and_tells_the_same_story_on_every_run(tmp_path):
    began = time.monotonic()
    first = failover_story(tmp_path / "first")
    second = failover_story(tmp_path / "second")
    assert time.monotonic() - began < 20  # two failovers and over 1,000 emulated seconds
    assert first == second
    assert [(s, r) for _, s, r in first] == [
        ("primary", "active"),
        ("secondary", "standby"),
        ("secondary", "transitioning"),
        ("secondary", "active"),
        ("primary", "standby"),
    ], first


async def test_a_lab_token_lost_in_a_failover_is_replaced(pair):
    """The lab's token taken on the active after the link toward the standby failed is
    discarded when the old active returns as the standby: the lab takes a fresh one."""
    async with await pair.admin(pair.primary) as admin:
        assert (await admin.post("/api/v1/lab/faults", {"fault": "cut-link", "direction": "outbound"})).ok
    await pair.clock_offset(pair.primary, 0)  # the lab's first token: on the primary only
    await pair.power_off(pair.primary)
    await when(pair, pair.secondary, 75 + 180, role="active")
    await pair.power_on(pair.primary)
    await when(pair, pair.primary, INTERVAL_S, role="standby", standby_server_status="Ready")

    discarded = await discarded_on(pair, pair.primary)  # a standby takes no login: a replicated token
    assert discarded and {d["table"] for d in discarded} == {"sessions"}, discarded  # the lab's, at least
