"""Audio frames sent in real time: one every ``frame_s``, as a microphone would give them.

Behind schedule (the loop was busy), the next frames go at once until the sender has
caught up; far behind (a stall of more than five frames), the schedule starts again
from now rather than bursting to catch up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def send_paced(
    next_frame: Callable[[], bytes | None],
    send: Callable[[bytes], bool],
    go_on: Callable[[], bool],
    *,
    count: int | None,
    frame_s: float,
) -> int:
    """Send ``next_frame()`` every ``frame_s`` while ``go_on()``, until ``count`` frames
    or a None frame; how many ``send`` took."""
    loop = asyncio.get_running_loop()
    # ``i`` counts the frames taken (``count`` ends it); ``start`` and ``due`` are the
    # schedule, which a stall starts again without counting the frames again.
    start, due, i, sent = loop.time(), 0, 0, 0
    while go_on() and (count is None or i < count):
        payload = next_frame()
        if payload is None:
            break
        sent += send(payload)
        i += 1
        due += 1
        delay = start + due * frame_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -5 * frame_s:
            start, due = loop.time(), 0  # far behind (a stall): do not burst to catch up
    return sent
