"""Run a coroutine from a widget without blocking the Qt loop, and without losing its errors.

``qasync.asyncSlot`` sends exceptions to ``sys.excepthook``; a widget wants to show
them instead, so it starts a task here and handles the outcome in the coroutine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("ipics.console")


class Tasks:
    """The tasks a window started, so that closing it cancels them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def start(self, coro: Coroutine) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("console task failed", exc_info=task.exception())

    def cancel_all(self, but: asyncio.Task | None = None) -> None:
        for task in list(self._tasks):
            if task is not but:
                task.cancel()

    def __len__(self) -> int:
        return len(self._tasks)
