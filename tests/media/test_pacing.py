"""Audio paced in real time: the frames asked for, no more, even after the loop stalled."""

from __future__ import annotations

import time

from ipics_server.media.pacing import send_paced

FRAME_S = 0.02


async def test_a_stall_restarts_the_schedule_but_not_the_count():
    """A push-to-talk of five frames whose sender stalls the loop for longer than five
    frames (a loaded machine) still sends five: the schedule starts again from the
    stall, the frames already sent still count (it sent nine in CI)."""
    sent: list[int] = []

    def send(payload: bytes) -> bool:
        sent.append(len(sent))
        if len(sent) == 2:
            time.sleep(8 * FRAME_S)  # the loop stalls: far behind the schedule
        return True

    assert await send_paced(lambda: b"frame", send, lambda: True, count=5, frame_s=FRAME_S) == 5
    assert len(sent) == 5


async def test_without_a_count_it_goes_on_while_asked():
    frames = iter([b"a", b"b", b"c"])
    assert await send_paced(lambda: next(frames, None), lambda _p: True, lambda: True, count=None, frame_s=0.001) == 3
