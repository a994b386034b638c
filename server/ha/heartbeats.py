"""Heartbeats: the loop, the exchange, the clock agreement, observing the partner.

Every Heartbeat Interval this server sends its partner what it is (role, readiness,
time, replication position) over the peer link and reads the partner's answer; a
scheduled heartbeat that fails counts as missed, and the tick decides on the count.

Chapter: Overview (Server Failover Due to Lost Heartbeat Message); Configuring Cisco
IPICS Servers for HA (Heartbeat Interval, Missed Heartbeat Count); Synchronizing the
Server Time on HA Servers (more than 30 seconds apart, HA communication is lost).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from ..adapters.httpclient import Unreachable
from ..adapters.peer import PeerLink
from ..core.roles import Decision, HAState, Role
from .deadlines import Deadlines
from .node import NodeState

log = logging.getLogger("ipics.ha")

#: Chapter: "If the time settings are more than 30 seconds apart, the servers can lose
#: HA communication."  A heartbeat from a clock further off than this is refused.
MAX_CLOCK_SKEW_S = 30.0


class Heartbeats:
    """The heartbeat loop of this server and its answer to the partner's heartbeats."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        deadlines: Deadlines,
        *,
        tick: Callable[[], Awaitable[Decision]],
        repair_status: Callable[[], dict[str, Any]],
        follow_unconfigure: Callable[[dict[str, Any]], None],
    ):
        self.state = state
        self.peer = peer
        self.deadlines = deadlines
        self._tick = tick
        self._repair_status = repair_status
        self._follow_unconfigure = follow_unconfigure
        #: this boot's name and the number of the last view sent: the partner takes a
        #: view older than one it already heard for what it is, old news
        self._boot = secrets.token_hex(8)
        self._sent = 0
        #: the partner's boot and the number of its newest view heard
        self._heard: tuple[str, int] | None = None
        #: the partner's modes last said to differ from this server's
        self._modes_told: str | None = None

    def payload(self) -> dict[str, Any]:
        s = self.state
        d = s.designation()
        self._sent += 1
        return {
            "boot": self._boot,
            "seq": self._sent,
            "server": d.value if d else None,
            "role": s.role.value,
            "ha": s.ha.value,
            "ready": s.role == Role.STANDBY and s.synchronized,
            "time": s.clock.now(),
            "address": s.address,
            "log_id": s.store.log_id,
            "applied": list(s.applied),
            "software_version": s.cfg.software_version,
            "active_since": s.active_since,
            "awaiting_repair": s.awaiting_repair,
            "repair": self._repair_status(),
            "modes": s.cfg.modes.label,
        }

    async def loop(self) -> None:
        """A heartbeat every Heartbeat Interval, and one at once when kicked.

        The next one is due one interval after the last scheduled one, computed afresh
        on every pass from the settings in force: a kick (an Update of the settings is
        one) cuts the wait short, so a shorter interval takes effect at once instead of
        after the old, longer one (issue 14: 600 s, then 15 s, waited out the 600)."""
        s = self.state
        last_scheduled = s.clock.monotonic() - s.settings.interval_s
        while True:
            s.heartbeat_scheduled_at = last_scheduled
            next_due = last_scheduled + s.settings.interval_s
            try:
                await s.clock.wait_for(s.kicked.wait(), max(0.0, next_due - s.clock.monotonic()))
                scheduled = False
            except TimeoutError:
                scheduled = True
            s.kicked.clear()
            now = s.clock.monotonic()
            if scheduled:
                # On the beat; after a long stall (a paused process), from now: no burst
                # of catch-up heartbeats.
                last_scheduled = next_due if now - next_due < s.settings.interval_s else now
            elif now >= next_due:
                # Kicked when a scheduled one was due as well: this exchange is that one.
                scheduled, last_scheduled = True, now
            if self.peer.configured and not s.suspended and s.ha != HAState.UNCONFIGURED:
                # Trusted but not configured too: the HA Configuration tab shows whether
                # the partner answers (no decision is taken on it before Configure).
                await self.exchange(last_scheduled + s.settings.interval_s, count_miss=scheduled)
                await self._tick()

    async def exchange(self, next_due: float, *, count_miss: bool) -> bool:
        """One heartbeat and its answer, awaited within its deadline (``deadlines``);
        ``next_due``: when the next scheduled one is (emulated monotonic)."""
        s = self.state
        timeout = self.deadlines.heartbeat_s(next_due, scheduled=count_miss)
        sent_at = s.clock.monotonic()
        s.heartbeats_sent += 1
        try:
            reply = await self.peer.heartbeat(self.payload(), timeout_s=timeout)
            ok = reply.ok and self.clock_agrees(reply.body.get("time"))
        except Unreachable:
            ok = False
        if ok:
            if s.missed_now:
                log.warning("heartbeat from partner again after %d missed", s.missed_now)
            s.missed_now = 0
            s.last_heard = s.clock.monotonic()
            s.heard.set()  # wakes whatever waits to retry a call that timed out
            s.heard.clear()
            self._observe_partner(reply.body)
        elif count_miss:
            s.missed_now += 1
            s.heartbeats_missed_total += 1
            if s.missed_now == 1:
                s.missing_since = sent_at
                log.warning("missed heartbeat from partner (1 of %d)", s.settings.missed_count)
        return ok

    def hear(self, view: dict[str, Any]) -> bool:
        """The partner's heartbeat arrived: False (refused) if its clock is too far off."""
        if not self.clock_agrees(view.get("time")):
            return False
        if not self._newer(view):
            return True  # a heartbeat, but overtaken by a newer one on its way (under load)
        self.state.partner_view = view
        self._follow_unconfigure(view)
        return True

    def _newer(self, view: dict[str, Any]) -> bool:
        """Whether ``view`` is newer than every view heard from the partner: both send
        at once (a heartbeat each way), so an old one can arrive after a newer answer,
        and must not undo what that said (a partner seen configured is not unconfigured
        by its heartbeat from before Configure).  A partner that restarted is new."""
        boot, seq = view.get("boot"), view.get("seq")
        if not isinstance(boot, str) or not isinstance(seq, int):
            return True
        if self._heard is not None and self._heard[0] == boot and seq <= self._heard[1]:
            return False
        self._heard = (boot, seq)
        return True

    def _compare_modes(self, theirs: Any) -> None:
        """Both servers of a pair run the same modes; a partner started with others is
        said once (a witness on one side only would let the other take over without it)."""
        ours = self.state.cfg.modes.label
        if isinstance(theirs, str) and theirs != ours and theirs != self._modes_told:
            self._modes_told = theirs
            self.state.message(
                "error",
                f"the partner runs the modes {theirs!r}, this server {ours!r}: start both servers "
                "with the same --replication, --synchronous-policy and --witness",
            )

    @property
    def clock_skew_s(self) -> float | None:
        """How far the partner's clock was from this one at its last heartbeat."""
        return self.state.clock_skew_s

    def clock_agrees(self, partner_time: Any) -> bool:
        """Heartbeats carry the sender's time; more than 30 s apart, HA communication is lost."""
        s = self.state
        if not isinstance(partner_time, (int, float)):
            return False
        skew = float(partner_time) - s.clock.now()
        was_ok = s.clock_skew_s is None or abs(s.clock_skew_s) <= MAX_CLOCK_SKEW_S
        s.clock_skew_s = skew
        if abs(skew) > MAX_CLOCK_SKEW_S:
            if was_ok:
                s.message(
                    "error",
                    f"the partner's clock is {skew:+.0f} s from this server's (more than "
                    f"{MAX_CLOCK_SKEW_S:.0f} s): HA communication lost; configure NTP on "
                    "both servers (ntpsetup -s enable) and restart ipics_nm",
                )
            return False
        if not was_ok:
            log.warning("clocks agree again (skew %+.1f s)", skew)
        return True

    def _observe_partner(self, view: dict[str, Any]) -> None:
        s = self.state
        if not self._newer(view):
            return
        s.partner_view = view
        self._follow_unconfigure(view)
        self._compare_modes(view.get("modes"))
        applied = view.get("applied")
        if s.role == Role.ACTIVE and applied and applied[0] == s.store.log_id:
            s.advance_acked(int(applied[1]))
        s.ship_wakeup.set()
