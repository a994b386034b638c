"""The one clock of a server: emulated seconds, scaled, with an emulated NTP offset.

Every HA duration (heartbeat interval, missed-heartbeat window, 150-180 s takeover,
the 30 s skew rule) is in emulated seconds.  ``time_scale`` is real seconds per
emulated second: at 0.02 a 75 s failover window passes in 1.5 real seconds.

Emulated UTC is anchored on a shared ``epoch`` (a real Unix time) so that two server
processes started a moment apart by the lab still agree on the time:

    emulated_utc = epoch + (real_now - epoch) / time_scale + offset

HA code never calls ``time.time()`` or ``asyncio.sleep()`` directly; it asks this.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Clock:
    time_scale: float = 1.0
    epoch: float = field(default_factory=time.time)
    #: emulated seconds added by NTP settings or ``date -s`` (the lab's clock offset)
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.time_scale <= 10:
            raise ValueError("time scale must be greater than 0 and at most 10")

    def now(self) -> float:
        """Emulated UTC, in seconds since the Unix epoch."""
        real = time.time()
        return self.epoch + (real - self.epoch) / self.time_scale + self.offset_s

    def monotonic(self) -> float:
        """Emulated seconds on a monotonic scale, for measuring durations."""
        return time.monotonic() / self.time_scale

    def real_seconds(self, emulated_s: float) -> float:
        return emulated_s * self.time_scale

    async def sleep(self, emulated_s: float) -> None:
        await asyncio.sleep(max(0.0, emulated_s) * self.time_scale)

    async def wait_for(self, aw, emulated_timeout_s: float):
        """``asyncio.wait_for`` with an emulated timeout."""
        return await asyncio.wait_for(aw, self.real_seconds(emulated_timeout_s))
