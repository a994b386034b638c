"""Roles and the tick: the role changes of one server and the reconcile tick.

One tick observes, asks ``core.roles.decide`` and acts, logging the sentence that says
why.  Every role change goes through ``set_role`` (checked against the transitions
table, logged, published); takeovers and the reconfiguration pass through a timed
transition.

Chapter: Overview (Defining the Active and Standby Servers; Server Failover Due to
Local Critical Process Failure; Server Failover Due to Lost Heartbeat Message); HA
Affect on the IDC Connections (no failback).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..adapters.httpclient import Unreachable
from ..adapters.peer import PeerLink
from ..core import roles
from ..core.roles import Action, Decision, HAState, Observations, Role, role_by_license
from ..core.txlog import MESSAGES as TXLOG_MESSAGES
from ..core.txlog import LogState
from ..errors import ApiError
from .node import NodeState, Transition, partner_message
from .synchronous import SynchronousReplication
from .witness import WitnessVote

log = logging.getLogger("ipics.ha")


class Roles:
    """The role of this server: changes, timed transitions, the tick, who takes writes."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        *,
        synchronize: Callable[[], Coroutine[Any, Any, None]],
        synchronous: SynchronousReplication,
        witness: WitnessVote | None,
    ):
        self.state = state
        self.peer = peer
        self._synchronize = synchronize  # a standby adopting the active's data
        self.synchronous = synchronous
        self.witness = witness
        self._tick_lock = asyncio.Lock()
        #: when this server last handed the active role over (emulated monotonic), until
        #: the partner is seen taking it (``Observations.handed_over``)
        self.handed_over_at: float | None = None
        #: why the last hand-over could not reach the standby (said once, not every tick)
        self._hand_over_failed: str | None = None
        #: the hand-over under way: the tick never waits on the partner (a silent one
        #: would hold the tick lock, and the heartbeat loop with it)
        self._handing_over: asyncio.Task | None = None

    def on_licenses_changed(self) -> None:
        s = self.state
        if s.ha == HAState.UNCONFIGURED and not s.standalone:
            self.set_role(role_by_license(s.designation()), "licenses installed")

    def set_role(self, role: Role, reason: str) -> None:
        s = self.state
        if role == s.role:
            return
        roles.check_transition(s.role, role)
        log.warning("role %s -> %s: %s", s.role.value, role.value, reason)
        was_taking = s.role == Role.ACTIVE or (s.role == Role.TRANSITIONING and self._assuming_active())
        s.role = role
        if was_taking and role in (Role.STANDBY, Role.STANDALONE) and self.witness is not None:
            # the partner assuming the role gets the vote now, not after the lease
            s.spawn(self.witness.release())
        if role != Role.STANDBY:
            s.synchronized = False
        if role == Role.ACTIVE:
            s.became_active_total += 1
            s.active_since = s.clock.now()
            s.persist("active_since", s.active_since)
            if s.awaiting_repair:
                s.set_awaiting_repair(False)
        s.events.publish({"type": "role", "role": role.value, "reason": reason, "active": s.active_address()})
        self.synchronous.update()
        s.ship_wakeup.set()
        s.files_wakeup.set()
        s.kicked.set()

    def begin_transition(self, target: Role, duration_range: tuple[float, float], reason: str) -> None:
        s = self.state
        duration = s.rng.uniform(*duration_range)
        if s.transition and s.transition.task:
            s.transition.task.cancel()
        self.set_role(Role.TRANSITIONING, reason)
        transition = Transition(target, s.clock.monotonic() + duration, reason)
        s.transition = transition
        log.warning("transitioning to %s for %.0f emulated seconds", target.value, duration)

        async def finish():
            await s.clock.sleep(duration)
            await self.tick()

        transition.task = asyncio.get_running_loop().create_task(finish())

    def cancel_transition(self) -> None:
        s = self.state
        if s.transition and s.transition.task:
            s.transition.task.cancel()
        s.transition = None

    async def _finish_transition(self) -> None:
        s = self.state
        t, s.transition = s.transition, None
        if t is None:
            return
        if t.target == Role.STANDALONE:
            await s.set_standalone(True)
        elif t.target == Role.ACTIVE:
            s.reset_acked()
        self.set_role(t.target, f"transition finished: {t.reason}")

    def refuse_unless_active(self) -> None:
        s = self.state
        if s.configuring:
            raise ApiError(503, "configuring", "HA configuration is merging both servers' data; try again shortly")
        if s.accepts_writes:
            if s.txlog_state == LogState.DDRBLOCK:
                raise ApiError(503, "ddrblock", TXLOG_MESSAGES[LogState.DDRBLOCK].format(p=100))
            if not self.has_quorum():
                raise ApiError(
                    503,
                    "no_quorum",
                    "witness mode: this server hears neither its partner nor the witness just now, so it "
                    "takes no request that changes data; it steps down if that lasts",
                )
            return
        active = s.active_address()
        if s.role == Role.TRANSITIONING:
            raise ApiError(
                503,
                "transitioning",
                "this server is transitioning; try again shortly",
                role=s.role.value,
                active=active,
            )
        where = f"; the active server is {active}" if active else "; no active server is known"
        raise ApiError(
            409, "not_active", f"this server is the {s.role.value} server{where}", role=s.role.value, active=active
        )

    # ------------------------------------------------------------------------ tick
    async def tick(self) -> Decision:
        s = self.state
        if s.suspended:
            s.last_decision = Decision(Action.NONE, "no action: IPICS services are stopped")
            return s.last_decision
        async with self._tick_lock:
            t = s.transition
            obs = Observations(
                server=s.designation(),
                role=s.role,
                ha=s.ha,
                missed_now=s.missed_now,
                missed_count=s.settings.missed_count,
                partner_role=Role(s.partner_view["role"]) if s.partner_view and s.missed_now == 0 else None,
                synchronized=s.synchronized,
                transition_due=bool(t and s.clock.monotonic() >= t.ends_at - 1e-6),
                failed_critical_service=s.services.failed_critical,
                partner_ready=s.partner_ready,
                awaiting_repair=s.awaiting_repair,
                handed_over=self._still_handing_over(),
                witness=self.witness is not None,
                witness_vote=self.witness is not None and self.witness.holds_vote,
                witness_refusal=self.witness.refusal() if self.witness else None,
                assuming_active=self._assuming_active(),
                witness_holder_other=self.witness is not None and self.witness.holder_is_partner(),
            )
            decision = roles.decide(obs)
            if decision.reason != s.last_decision.reason:
                log.info("%s", decision.reason)
            s.last_decision = decision
            if decision.action == Action.FINISH_TRANSITION:
                await self._finish_transition()
            elif decision.action == Action.BEGIN_TAKEOVER:
                self.begin_transition(Role.ACTIVE, roles.TAKEOVER_AFTER_MISSED_HEARTBEATS_S, decision.reason)
            elif decision.action == Action.HAND_OVER and (self._handing_over is None or self._handing_over.done()):
                self._handing_over = s.spawn(self._hand_over(decision.reason, "critical-process"))
            elif decision.action == Action.REQUEST_VOTE and self.witness is not None:
                self.witness.ask_soon("the missed heartbeats would make this server assume the active role")
            elif decision.action == Action.STEP_DOWN:
                self.cancel_transition()
                self.set_role(Role.STANDBY, decision.reason)
                s.message("error", decision.reason)
            self.synchronous.update()
        if decision.action == Action.REQUEST_SYNC:
            asyncio.get_running_loop().create_task(self._synchronize())
        return decision

    async def _hand_over(self, reason: str, kind: str) -> None:
        """Tell the standby to assume the active role, and step down to standby."""
        try:
            reply = await self.peer.call(
                "POST", "/peer/control", {"command": "takeover", "kind": kind, "reason": reason}
            )
            why = None if reply.ok else f"it refused: {partner_message(reply.body)}"
        except Unreachable as exc:
            why = f"it cannot be reached: {exc}"
        if why is not None:
            # The tick runs on: this server stays active and ipics_nm restarts the
            # failed service; the administrator is told once, not every tick.
            if why != self._hand_over_failed:
                self._hand_over_failed = why
                self.state.message(
                    "error",
                    f"could not hand over to the standby server ({why}): "
                    "staying active until ipics_nm restarts the failed service",
                )
            return
        self._hand_over_failed = None
        if self.state.role == Role.ACTIVE:  # nothing else moved it meanwhile
            self.set_role(Role.STANDBY, reason)
            self.handed_over()

    def has_quorum(self) -> bool:
        """Witness mode: two of three votes, this server's and the witness's or its
        partner's, heard lately (a process resumed after a pause has heard neither,
        whatever its memory says, until its next heartbeat).  Always true without one."""
        s = self.state
        if self.witness is None or s.ha != HAState.CONFIGURED or s.role != Role.ACTIVE:
            return True
        if self.witness.holds_vote:
            return True
        lately = 2 * s.settings.interval_s
        return (
            s.partner_role_heard() == Role.STANDBY.value
            and s.last_heard is not None
            and s.clock.monotonic() - s.last_heard <= lately
        )

    def _assuming_active(self) -> bool:
        t = self.state.transition
        return self.state.role == Role.TRANSITIONING and t is not None and t.target == Role.ACTIVE

    def handed_over(self) -> None:
        """The partner was told to assume the active role, just now."""
        self.handed_over_at = self.state.clock.monotonic()

    def _still_handing_over(self) -> bool:
        """Handed over, and the partner not yet seen taking the role: a heartbeat from
        before the takeover still shows it standby (and not Ready), which must not read
        as "both servers are standby" and take the role straight back."""
        s = self.state
        if self.handed_over_at is None:
            return False
        seen = s.partner_role_heard()
        if (
            s.role != Role.STANDBY
            or seen not in (None, Role.STANDBY.value)
            or s.clock.monotonic() - self.handed_over_at > roles.HANDED_OVER_HOLD_S
        ):
            self.handed_over_at = None
            return False
        return True
