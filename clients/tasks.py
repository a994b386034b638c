"""The tasks one object started on the loop: closing it cancels them, and a task that
fails is logged, never lost (asyncio would only warn about it when the task is
collected, long after the fact).  And ``InOrder``: a device's key presses reaching a
service one after the other.

Used by the clients' cores (the console session, the router floor, the phone's push
receiver) and by every window: ``qasync.asyncSlot`` sends a slot's exception to
``sys.excepthook``; a widget starts a task here instead and handles the outcome in
its coroutine, without blocking the Qt loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine

log = logging.getLogger("ipics.tasks")


class Tasks:
    """``what`` names the owner's tasks in the log ("console task failed");
    ``on_failure(exception)`` is called too when one fails."""

    def __init__(self, what: str = "background", *, on_failure: Callable[[BaseException], None] | None = None):
        self.what, self.on_failure = what, on_failure
        self._tasks: set[asyncio.Task] = set()

    def start(self, coro: Coroutine) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exception = task.exception()
        if exception is not None:
            log.error("%s task failed", self.what, exc_info=exception)
            if self.on_failure is not None:
                self.on_failure(exception)

    def cancel_all(self, but: asyncio.Task | None = None) -> None:
        for task in list(self._tasks):
            if task is not but:
                task.cancel()

    async def close(self) -> None:
        """Cancel every task and wait until each has ended; their errors are logged, not
        raised here (a cancellation of the caller still is)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def __len__(self) -> int:
        return len(self._tasks)


class InOrder:
    """Actions run one after the other, in the order given: a key's request never
    overtakes an earlier key's (a push-to-talk release its press, a tone the one before).
    ``running`` while one runs; ``on_change()`` when that changes (the phone says
    "Requesting...")."""

    def __init__(self, on_change: Callable[[], None] | None = None):
        self.on_change = on_change
        self.running = False
        self._lock = asyncio.Lock()

    async def run(self, action: Callable[[], Awaitable[object]]) -> None:
        async with self._lock:
            self._set(True)
            try:
                await action()
            finally:
                self._set(False)

    def _set(self, running: bool) -> None:
        self.running = running
        if self.on_change is not None:
            self.on_change()
