"""A background loop of an aiohttp app, as a ``cleanup_ctx``: started with the app on
the object under ``key``, cancelled and awaited on shutdown (the server's HA loops, the
media router's sweeps)."""

from __future__ import annotations

import asyncio
import contextlib
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
