"""``Tasks``: what a window or a client core started on the loop; closing it cancels
them, and a task that fails is logged and reported, never lost."""

from __future__ import annotations

import asyncio
import logging

from ipics_clients.tasks import Tasks


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
