"""The event loop of the in-process test tier: it moves emulated time when idle, and
knows which server owns which task and socket, so one can be powered off.

Idle.  The loop hands its selector a timeout when it has nothing ready; that is the
moment to move emulated time (``Timeline.on_idle``), once nothing is in flight either:
the selector first polls for a short real moment (``QUIET_S``) so bytes just written
on loopback are seen, and time does not move while a thread job (the SQLite store, a
file write, a password hash) runs or a socket waits to be written.

Ownership.  A server is started in a context where ``OWNER`` names it.  Every task and
callback copies the context it was created in, so every task the server starts, every
connection it accepts (its listeners were created in that context) and every
connection it opens carries its name: ``create_task``, ``create_server`` and
``create_connection`` record them.  ``power_off`` then takes all of it away at once,
and refuses the server anything new (thread jobs, connections, listeners), so nothing
it runs on the way down reaches the disk or the network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import selectors
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

from .emulated_time import Timeline

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

#: which server the running code belongs to (None: the test itself)
OWNER: contextvars.ContextVar[str | None] = contextvars.ContextVar("ipics_inprocess_owner", default=None)

#: real seconds the selector waits for I/O before declaring the loop idle: loopback
#: delivers a write at once, this covers a kernel that defers it for a moment
QUIET_S = 0.0005
#: real seconds a powered-off server's cancelled tasks get to unwind
UNWIND_REAL_S = 10.0


class PoweredOff(ConnectionRefusedError):
    """The server this code belongs to is powered off."""


class _IdleSelector(selectors.BaseSelector):
    """The default selector, asking ``on_idle`` before blocking."""

    def __init__(self, on_idle: Callable[[], bool]):
        self._selector = selectors.DefaultSelector()
        self._on_idle = on_idle

    def register(self, fileobj, events, data=None):
        return self._selector.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._selector.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._selector.modify(fileobj, events, data)

    def get_map(self):
        return self._selector.get_map()

    def close(self) -> None:
        self._selector.close()

    def writing(self) -> bool:
        """A socket waits to be written (a connect under way, a write not yet taken)."""
        return any(key.events & selectors.EVENT_WRITE for key in self._selector.get_map().values())

    def select(self, timeout: float | None = None):
        if timeout is not None and timeout <= 0:
            return self._selector.select(timeout)  # callbacks are ready: no waiting
        events = self._selector.select(QUIET_S if timeout is None else min(QUIET_S, timeout))
        if events or self._on_idle():
            return events
        return self._selector.select(timeout)


class _Owned:
    """What one server owns on the loop."""

    def __init__(self) -> None:
        self.tasks: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()
        self.servers: list[asyncio.AbstractServer] = []
        #: the connections its listeners accepted (aiohttp's protocols have __slots__ and
        #: no weak references: kept for the life of the loop, a test's worth)
        self.protocols: list[Any] = []
        self.transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        self.powered = True


class EmulatedTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose idle moments move ``timeline``."""

    def __init__(self, timeline: Timeline | None = None):
        self._selector_wrapper = _IdleSelector(self._idle)
        super().__init__(self._selector_wrapper)
        self.timeline = timeline or Timeline(time.time())
        self._thread_jobs = 0
        self._owned: dict[str, _Owned] = {}

    def _idle(self) -> bool:
        if self._thread_jobs or self._selector_wrapper.writing():
            return False  # their completion wakes the selector
        return self.timeline.on_idle(self)

    # -- ownership ---------------------------------------------------------------------
    def owned(self, owner: str) -> _Owned:
        return self._owned.setdefault(owner, _Owned())

    def _current(self, context: contextvars.Context | None = None) -> _Owned | None:
        owner = context.get(OWNER) if context is not None else OWNER.get()
        if owner is None:
            return None
        owned = self.owned(owner)
        if not owned.powered:
            raise PoweredOff(f"the {owner} server is powered off")
        return owned

    def power_on(self, owner: str) -> None:
        self._owned[owner] = _Owned()

    def create_task(self, coro, **kwargs):
        try:
            owned = self._current(kwargs.get("context"))
        except PoweredOff:
            coro.close()
            raise
        task = super().create_task(coro, **kwargs)
        if owned is not None:
            owned.tasks.add(task)
        return task

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[[*_Ts], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        self._current()  # a powered-off server's thread jobs never start
        future = super().run_in_executor(executor, func, *args)
        self._thread_jobs += 1
        future.add_done_callback(self._thread_job_done)
        return future

    def _thread_job_done(self, _future) -> None:
        self._thread_jobs -= 1

    async def create_server(self, protocol_factory, *args, **kwargs):
        owned = self._current()
        if owned is None:
            return await super().create_server(protocol_factory, *args, **kwargs)

        def factory():
            protocol = protocol_factory()
            owned.protocols.append(protocol)
            return protocol

        server = await super().create_server(factory, *args, **kwargs)
        owned.servers.append(server)
        return server

    async def create_connection(self, protocol_factory, *args, **kwargs):
        owned = self._current()
        transport, protocol = await super().create_connection(protocol_factory, *args, **kwargs)
        if owned is not None:
            owned.transports.add(transport)
        return transport, protocol

    async def power_off(self, owner: str) -> int:
        """Take everything ``owner`` has away at once, as ``kill -9`` does: its listeners
        and connections aborted, its tasks cancelled (refused anything new while they
        unwind).  Returns how many tasks were cancelled."""
        owned = self.owned(owner)
        owned.powered = False
        for server in owned.servers:
            server.close()
        transports = [*owned.transports, *(getattr(p, "transport", None) for p in owned.protocols)]
        for transport in transports:
            if transport is not None:
                with contextlib.suppress(Exception):  # closed already
                    transport.abort()
        tasks = [t for t in owned.tasks if not t.done() and t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=UNWIND_REAL_S)
            if stuck:
                raise RuntimeError(f"{len(stuck)} tasks of the {owner} server ignored their cancellation: {stuck}")
        return len(tasks)
