"""A clock that remembers the emulated sleeps it was asked for.

At a time scale of 0.01 the chapter's 5 s pause is 50 real ms, no longer than the
requests around it, so timing the login cannot tell a pause from none: the tests ask
the clock whether the console slept the 5 emulated seconds.
"""

from __future__ import annotations

from ipics_server.clock import Clock


class RecordingClock(Clock):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.slept: list[float] = []

    async def sleep(self, emulated_s: float) -> None:
        self.slept.append(emulated_s)
        await super().sleep(emulated_s)

    def paused(self, seconds: float = 5.0) -> bool:
        return seconds in self.slept
