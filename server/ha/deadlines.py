"""Deadlines: how long this server waits for its partner, from the heartbeat settings.

A real partition does not refuse anything: packets vanish, a connection hangs half
open, a request is sent and never answered.  So every call between the servers has a
deadline, in the heartbeat settings' terms (emulated seconds, made real by the one
clock), never a fixed number of real seconds:

- A heartbeat's answer is awaited until the next heartbeat is due: the loop keeps its
  beat, and an answer that is merely slow (a loaded machine) is still an answer.  The
  heartbeat that would be the Missed Heartbeat Count-th missed in a row is awaited only
  until the failover window (interval x missed count) since the partner last answered
  closes (counted while this server listened: after its own stop or pause, from one
  interval before its first miss): the partner then "misses the configured number of heartbeats" when the window
  has passed, under a silent partition as under ``kill -9`` (whose refusals are missed
  at once), not most of an interval later.  (Not at a time scale where an interval is
  shorter than the least real time an answer is awaited: the beat cannot be kept there.)
- Every other call (replication, snapshots, files, control messages, REPAIR's tables):
  until the partner has been silent on it for the failover window.  By then its
  heartbeats have declared it lost anyway, and a call waiting longer would only hold
  what owns it.  The deadline is on progress, not on the whole: a large snapshot or
  file may take longer than a window while its bytes keep coming; a body sent gets
  time for its size too (``UPLOAD_MIN_BYTES_PER_S``).  A call that ends is retried by
  what owns it (the shipper, the file fetcher, the tick's adoption), never waited on
  by the heartbeats.

The floors are real seconds: the time scale compresses the chapter's durations, not
the machine's latency (a TLS handshake, the partner's store thread, a loaded CPU).

Chapter: Configuring Cisco IPICS Servers for HA (Heartbeat Interval, Missed Heartbeat
Count); Overview (Server Failover Due to Lost Heartbeat Message).
"""

from __future__ import annotations

from ..adapters.peer import Deadline
from .node import NodeState

#: real seconds a heartbeat's answer is awaited at least: at the lab's time scales an
#: interval is tens of milliseconds, less than a loaded machine may take to answer
HEARTBEAT_FLOOR_S = 0.2
#: the last heartbeat of the window is awaited at least this part of an interval, and
#: at least ``LAST_HEARTBEAT_FLOOR_S`` real seconds (a fresh TLS handshake): at most a
#: fiftieth of the window late at the smallest missed count (5)
LAST_HEARTBEAT_FLOOR = 0.1
LAST_HEARTBEAT_FLOOR_S = 0.02
#: real seconds of silence any other call is allowed at least: the partner's own work
#: before its first byte (a snapshot's serialisation, its store thread) is not scaled
SILENCE_FLOOR_S = 5.0
#: the slowest link a body sent to the partner is given time for
UPLOAD_MIN_BYTES_PER_S = 1 << 20


class Deadlines:
    """The deadlines of this server's calls to its partner, from the settings in force."""

    def __init__(self, state: NodeState):
        self.state = state

    def heartbeat_s(self, next_due: float, *, scheduled: bool) -> float:
        """Real seconds to await the answer to a heartbeat sent now; ``next_due``: when
        the next scheduled one is (emulated monotonic)."""
        s = self.state
        clock, interval = s.clock, s.settings.interval_s
        now = clock.monotonic()
        wait = max(HEARTBEAT_FLOOR_S, clock.real_seconds(next_due - now))
        silent_since = self._silent_since()
        if (
            scheduled
            and silent_since is not None
            and s.missed_now + 1 >= s.settings.missed_count
            # Only while the heartbeats keep their beat: at a time scale where an
            # interval is shorter than the floor, a missed one already took longer than
            # an interval, the window is not kept anyway, and a loaded machine's slow
            # answer is given the floor like every other (no false takeover).
            and clock.real_seconds(interval) >= HEARTBEAT_FLOOR_S
        ):
            window_closes = silent_since + s.settings.failover_window_s
            last = max(LAST_HEARTBEAT_FLOOR_S, clock.real_seconds(LAST_HEARTBEAT_FLOOR * interval))
            wait = min(wait, max(last, clock.real_seconds(window_closes - now)))
        return wait

    def _silent_since(self) -> float | None:
        """Since when the partner has been silent while this server listened: its last
        answer, or one interval before the first heartbeat of the misses in a row if
        that is later (this server was stopped or paused itself meanwhile, or never
        heard it since it started); None while nothing is missed."""
        s = self.state
        if not s.missed_now or s.missing_since is None:
            return None
        listening = s.missing_since - s.settings.interval_s
        return listening if s.last_heard is None else max(s.last_heard, listening)

    def silence_s(self) -> float:
        """Real seconds the partner may stay silent on a call: the failover window."""
        s = self.state
        return max(SILENCE_FLOOR_S, s.clock.real_seconds(s.settings.failover_window_s))

    def call(self, body_bytes: int) -> Deadline:
        """The deadline of a call that sends ``body_bytes``: silence at most the window;
        a body is given time for its size on top."""
        silence = self.silence_s()
        total = silence + body_bytes / UPLOAD_MIN_BYTES_PER_S if body_bytes else None
        return Deadline(total_s=total, idle_s=silence)
