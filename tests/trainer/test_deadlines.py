"""The trainer's waits are deadlines in emulated time: a trainer slowing the lab down in
the middle of a takeover must not see the action "give up" on a takeover going fine."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from ipics_lab.trainer.actions import ActionRefused, Actions
from ipics_server.clock import Clock


async def test_a_wait_follows_a_slower_time_scale_set_while_it_runs():
    clock = Clock(0.01)
    actions = Actions(SimpleNamespace(clock=clock, servers=()))
    start = clock.monotonic()

    async def slow_down():
        await asyncio.sleep(0.05)
        clock.set_time_scale(0.05)  # five times slower: 30 emulated s now take 1.5 real s

    slower = asyncio.ensure_future(slow_down())
    # Done after 25 emulated seconds; the deadline is 30.  Fixed in real seconds at the
    # start (30 x 0.01 + 0.1 = 0.4 s) it would have given up.
    assert await actions._until(lambda: clock.monotonic() - start >= 25, 30, "the takeover", real_s=0.1)
    await slower


async def test_a_wait_gives_up_after_its_emulated_deadline_with_the_reason():
    actions = Actions(SimpleNamespace(clock=Clock(0.01), servers=()))
    with pytest.raises(ActionRefused, match="gave up waiting for the takeover after 1[0-9] emulated seconds"):
        await actions._until(lambda: False, 10, "the takeover", real_s=0.05)
