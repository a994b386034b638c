"""A background loop of an aiohttp app, as a ``cleanup_ctx``: started with the app on
the object under ``key``, cancelled and awaited on shutdown (the server's HA loops, the
media router's sweeps)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


def background(
    key: web.AppKey[T], start: Callable[[T], Coroutine[Any, Any, None]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(start(app[key]))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def run_until_signalled(runner: web.AppRunner, on_stop: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM, then say so (``on_stop``) and clean the app up: how
    each process of the lab (a server, the media router, the witness) ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        on_stop()
        await runner.cleanup()
