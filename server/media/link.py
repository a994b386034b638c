"""The server's link to the media router, for devices that cannot talk to it
themselves: the IP phone (its talk screen is phone XML) and dial-in telephones (their
keys are tones).  The server presses and releases the floor on their user's behalf and
streams the voice tone while the floor is held; it listens to learn who is talking.

On a failover these users' push-to-talk goes with the server they reached, as the
chapter says for these devices; consoles and mobile clients talk to the router
directly and keep talking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .client import MediaClient, MediaRefused, MediaUnavailable

log = logging.getLogger("ipics.media")

LISTENER = "ipics-server"
CONNECT_TIMEOUT_S = 3.0


class RouterLink:
    """``PhoneMedia`` over the media router at ``url``: one router connection per user
    talking through this server, and one that listens."""

    def __init__(self, url: str):
        self.url = url
        self._listener: MediaClient | None = None
        self._talkers: dict[str, MediaClient] = {}
        self._streams: dict[tuple[str, str], asyncio.Task] = {}
        self._lock = asyncio.Lock()

    def talker(self, group: str) -> str | None:
        if self._listener is None:
            self._listener = MediaClient(self.url, LISTENER)
            self._listener.start()
        if not self._listener.joined(group):
            self._listener.join(group)
        return self._listener.talker(group)

    async def press(self, group: str, who: str) -> bool:
        client = await self._client(who)
        if client is None or not await client.press(group):
            return False
        key = (group, who)
        if key not in self._streams:
            self._streams[key] = asyncio.get_running_loop().create_task(client.stream(group))
        self.talker(group)
        return True

    async def release(self, group: str, who: str) -> None:
        client = self._talkers.get(who)
        if client is not None:
            client.release(group)
        task = self._streams.pop((group, who), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _client(self, who: str) -> MediaClient | None:
        async with self._lock:  # two presses of one user must not open two connections
            client = self._talkers.get(who)
            if client is None:
                try:
                    client = await MediaClient.connect(self.url, who, timeout_s=CONNECT_TIMEOUT_S)
                except (MediaUnavailable, MediaRefused) as exc:
                    log.warning("push-to-talk for %s: %s", who, exc)
                    return None
                self._talkers[who] = client
            return client

    async def close(self) -> None:
        for task in self._streams.values():
            task.cancel()
        await asyncio.gather(*self._streams.values(), return_exceptions=True)
        self._streams.clear()
        clients = list(self._talkers.values()) + ([self._listener] if self._listener else [])
        self._talkers.clear()
        self._listener = None
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
