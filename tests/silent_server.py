"""A server gone silent, in this process: what a client sees of one that is paused
(SIGSTOP) or cut off by a network that drops its packets.  The connection is taken and
the request read, and nothing is ever answered, refused or closed."""

from __future__ import annotations

import asyncio
from typing import Self


class SilentServer:
    """``async with SilentServer() as silent``: ``silent.url``, and ``silent.requests``,
    how many requests have reached it (arrived, never to be answered)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.requests = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._hold, self.host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.readline():  # the request line: it has arrived
            self.requests += 1
        await self._closing.wait()
        writer.close()
