"""``Tasks``: what a window or a client core started on the loop; closing it cancels
them, and a task that fails is logged and reported, never lost; ``InOrder`` runs key presses one after the other."""

from __future__ import annotations

import asyncio
import logging

from ipics_clients.tasks import InOrder, Tasks
from ipics_lab.supervisor import wait_until


async def test_a_failed_task_is_logged_and_reported_at_once(caplog):
    failures: list[BaseException] = []
    tasks = Tasks("push", on_failure=failures.append)

    async def boom() -> None:
        raise RuntimeError("the service answered nonsense")

    with caplog.at_level(logging.ERROR, logger="ipics.tasks"):
        task = tasks.start(boom())
        await asyncio.wait([task])
    assert [str(f) for f in failures] == ["the service answered nonsense"]
    assert "push task failed" in caplog.text and len(tasks) == 0


async def test_close_cancels_and_waits_for_every_task_but_raises_none_of_their_errors():
    tasks = Tasks()
    started = {name: asyncio.Event() for name in ("listen", "reconnect")}
    ended: list[str] = []

    async def long(name: str) -> None:
        started[name].set()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    async def broken() -> None:
        raise ValueError("not raised by close")

    for name in started:
        tasks.start(long(name))
    tasks.start(broken())
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started.values())), 5)
    await tasks.close()
    assert sorted(ended) == ["listen", "reconnect"] and len(tasks) == 0


async def test_in_order_runs_each_action_after_the_one_before_even_a_slower_one():
    changes: list[bool] = []
    order = InOrder()
    order.on_change = lambda: changes.append(order.running)
    press_sent = asyncio.Event()
    reached: list[str] = []

    async def press() -> None:  # a push-to-talk press whose request takes its time
        reached.append("press sent")
        await press_sent.wait()
        reached.append("press answered")

    async def release() -> None:  # quick: unordered, it would overtake the press
        reached.append("release")

    tasks = Tasks()
    first, second = tasks.start(order.run(press)), tasks.start(order.run(release))
    await wait_until(lambda: reached == ["press sent"] and order.running, 5, "the press on its way")
    press_sent.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert reached == ["press sent", "press answered", "release"] and not order.running
    assert changes == [True, False, True, False]
