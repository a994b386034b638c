"""Synchronous replication: a write is acknowledged once the standby has applied it.

The write is committed and logged on the active as in IPICS; its answer then waits until
the standby acknowledged that entry of the transaction log (``/peer/replicate`` answers
after the standby committed it).  The shipper is woken by the write, so the wait is one
round trip.  With the standby not Ready, the policy decides (``core.modes``): strict
refuses writes before they are committed; fallback lets them wait up to the deadline and
then acknowledges without the standby ("suspended") until the standby is Ready and has
caught up.  Each change of state is a message for the administrator.

Sessions (a login, a logout) are not waited for: a session missing on the standby after a
failover means logging in again, and an administrator must be able to log in to a strict
pair without its standby to repair it.

Not in the chapter (IPICS replicates asynchronously): Patroni's ``synchronous_mode`` and
``synchronous_mode_strict``, DRBD's protocol C.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.modes import PairModes, SynchronousPolicy, SynchronousState, synchronous_state
from ..core.roles import HAState, Role
from ..errors import ApiError
from .node import NodeState

log = logging.getLogger("ipics.ha")

#: tables whose writes are acknowledged without waiting (see the module's words)
NOT_WAITED = frozenset({"sessions"})
ACK_TIMES_KEPT = 10_000

_MESSAGES = {
    SynchronousState.SYNCHRONOUS: (
        "warning",
        "synchronous replication: writes are acknowledged once the standby has them",
    ),
    SynchronousState.WAITING: (
        "warning",
        "synchronous replication: the standby is not Ready; writes wait for it up to {after:.0f} s, "
        "then are acknowledged without it",
    ),
    SynchronousState.SUSPENDED: (
        "error",
        "synchronous replication suspended: the standby has not been Ready for {after:.0f} s; writes are "
        "acknowledged without it (as IPICS) until it is Ready and caught up",
    ),
    SynchronousState.REFUSING: (
        "error",
        "strict synchronous replication: no standby is Ready to hold the writes; writes are refused until it is",
    ),
}


class SynchronousReplication:
    """The active's synchronous state, the writes waiting for the standby, what it cost."""

    def __init__(
        self,
        state: NodeState,
        modes: PairModes,
        *,
        push_file: Callable[[str, bytes, float], Awaitable[bool]] | None = None,
    ):
        self.state = state
        self.modes = modes
        #: hands an upload's content to the standby (``FileReplication.push``)
        self._push_file = push_file
        self.current = SynchronousState.IDLE
        #: since when (emulated monotonic) the standby has not been Ready, while active
        self._not_ready_since: float | None = None
        #: set and replaced at every change a waiting write cares about
        self._moved = asyncio.Event()
        self.refused_total = 0
        self.waiting = 0
        self.acknowledged_without_standby_total = 0
        #: real milliseconds a write waited for the standby, the last ones
        self._ack_ms: deque[float] = deque(maxlen=ACK_TIMES_KEPT)

    # ----------------------------------------------------------------- state
    def fallback_after_s(self) -> float:
        after = self.modes.synchronous_fallback_after_s
        return float(self.state.settings.failover_window_s) if after is None else after

    def update(self) -> SynchronousState:
        """Look again at the standby: called on every tick, acknowledgement and role change."""
        s = self.state
        now = s.clock.monotonic()
        active_in_pair = s.ha == HAState.CONFIGURED and s.role == Role.ACTIVE and not s.suspended
        ready = s.partner_ready
        if ready or not active_in_pair:
            self._not_ready_since = None
        elif self._not_ready_since is None:
            self._not_ready_since = now
        new = synchronous_state(
            self.modes,
            active_in_pair=active_in_pair,
            standby_ready=ready,
            caught_up=s.standby_applied_seq >= s.last_logged_seq,
            current=self.current,
            not_ready_for_s=0.0 if self._not_ready_since is None else now - self._not_ready_since,
            fallback_after_s=self.fallback_after_s(),
        )
        if new != self.current:
            self._change(new)
        return new

    def _change(self, new: SynchronousState) -> None:
        old, self.current = self.current, new
        if new in _MESSAGES and not (old == SynchronousState.IDLE and new == SynchronousState.SYNCHRONOUS):
            level, text = _MESSAGES[new]
            self.state.message(level, text.format(after=self.fallback_after_s()))
        else:
            log.info("synchronous replication: %s -> %s", old.value, new.value)
        self.state.events.publish({"type": "synchronous", "state": new.value, "was": old.value})
        self.moved()

    def moved(self) -> None:
        """Something a waiting write cares about changed (an acknowledgement, the state)."""
        event, self._moved = self._moved, asyncio.Event()
        event.set()

    def status(self) -> dict[str, Any] | None:
        if not self.modes.synchronous:
            return None
        s = self.state
        times = sorted(self._ack_ms)
        return {
            "state": self.current.value,
            "policy": self.modes.synchronous_policy.value,
            "fallback_after_s": self.fallback_after_s()
            if self.modes.synchronous_policy == SynchronousPolicy.FALLBACK
            else None,
            "standby_not_ready_for_s": None
            if self._not_ready_since is None
            else round(s.clock.monotonic() - self._not_ready_since, 1),
            "writes_waiting": self.waiting,
            "writes_refused": self.refused_total,
            "acknowledged_without_standby": self.acknowledged_without_standby_total,
            "ack_ms_p50": _percentile(times, 0.50),
            "ack_ms_p99": _percentile(times, 0.99),
        }

    # ----------------------------------------------------------------- writes
    def before_write(self, table: str) -> None:
        """Strict and no standby Ready: refuse before anything is committed."""
        if table in NOT_WAITED or not self.modes.synchronous:
            return
        if self.update() == SynchronousState.REFUSING:
            self.refused_total += 1
            raise ApiError(
                503,
                "no_synchronous_standby",
                "strict synchronous replication: no standby is Ready to hold this write, so it is refused "
                "(nothing was written); try again once the standby is Ready",
            )

    async def after_write(self, table: str, seq: int | None) -> None:
        """Wait until the standby has entry ``seq`` of the transaction log, as the mode says.

        Returns when the write may be acknowledged; ``ApiError`` when it may not: it is
        committed here and will reach the standby when it is back, but nobody can
        promise the client it survives a failover meanwhile."""
        if table in NOT_WAITED or seq is None or not self.modes.synchronous:
            return
        s = self.state
        started = s.clock.monotonic()
        real_started = asyncio.get_running_loop().time()
        self.waiting += 1
        try:
            while s.standby_applied_seq < seq:
                state = self.update()
                if state == SynchronousState.SUSPENDED:
                    self.acknowledged_without_standby_total += 1
                    return
                if state in (SynchronousState.REFUSING, SynchronousState.IDLE):
                    # idle: no longer the active of a configured pair (stepped down,
                    # ``service ipics stop``): nothing will ship it now
                    self._not_acknowledged(state)
                waited = s.clock.monotonic() - started
                left = self.fallback_after_s() - waited
                if left <= 0:
                    if self.modes.synchronous_policy == SynchronousPolicy.FALLBACK:
                        # Ready, yet not acknowledging: as good as gone for this write.
                        self._change(SynchronousState.SUSPENDED)
                        continue
                    self._not_acknowledged(state)
                moved = self._moved
                try:
                    # at least a heartbeat interval between looks: the tick looks too
                    await s.clock.wait_for(moved.wait(), min(left, float(s.settings.interval_s)))
                except TimeoutError:
                    pass
            self._ack_ms.append((asyncio.get_running_loop().time() - real_started) * 1000)
        finally:
            self.waiting -= 1

    async def after_file(self, file_id: str, content: bytes, mtime: float) -> None:
        """An upload whose record the standby acknowledged: its content too, before the
        upload is acknowledged (the standby fetches contents later, at a lower priority,
        so a failover meanwhile would leave the record without its file).  Called after
        ``after_write`` of the file's record."""
        if not self.modes.synchronous or self.current != SynchronousState.SYNCHRONOUS or self._push_file is None:
            return  # IPICS's way, or acknowledged without the standby (suspended)
        if await self._push_file(file_id, content, mtime):
            return
        if self.modes.synchronous_policy == SynchronousPolicy.FALLBACK:
            self.acknowledged_without_standby_total += 1
            return
        self.refused_total += 1
        raise ApiError(
            503,
            "not_acknowledged",
            "synchronous replication: the file is stored on this server but its content did not reach the "
            "standby; it is not acknowledged, and may be lost in a failover",
        )

    def _not_acknowledged(self, state: SynchronousState) -> None:
        self.refused_total += 1
        why = (
            "this server is no longer the active one of a configured pair"
            if state == SynchronousState.IDLE
            else "the standby did not acknowledge it in time"
        )
        raise ApiError(
            503,
            "not_acknowledged",
            f"synchronous replication: the write is committed on this server but {why}; it is not "
            "acknowledged, and may be lost in a failover",
        )


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 2)
