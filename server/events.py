"""Fan-out of server events to WebSocket subscribers (configuration and role changes)."""

from __future__ import annotations

import asyncio
from typing import Any

QUEUE_LIMIT = 1000


class EventBus:
    """Each subscriber gets its own bounded queue; a subscriber too slow to keep up is
    dropped (its queue gets ``None``) rather than growing memory without bound."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self._subscribers.discard(q)

    def publish(self, event: dict[str, Any]) -> None:
        for q in list(self._subscribers):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self._subscribers.discard(q)
                _drain_and_close(q)

    def close_all(self) -> None:
        for q in list(self._subscribers):
            _drain_and_close(q)
        self._subscribers.clear()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def _drain_and_close(q: asyncio.Queue) -> None:
    while not q.empty():
        q.get_nowait()
    q.put_nowait(None)
