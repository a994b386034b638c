"""Roles of an HA server, the allowed transitions, and the reconcile decision.

Pure: no I/O, no clock reads.  ``decide`` is called on every HA tick with what the
server observed and returns what to do and a sentence saying why (the sentence is
logged and shown to trainers), in the manner of Patroni's ``ha.py``.

Chapter words: *active server*, *standby server*, *Standby Server Status*
(Ready / Not Ready), *heartbeat*, *missed heartbeat count*, *split brain*.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    ACTIVE = "active"
    STANDBY = "standby"
    STANDALONE = "standalone"
    TRANSITIONING = "transitioning"


class HAState(str, Enum):
    UNCONFIGURED = "unconfigured"  # Server Status: Not Trusted
    TRUSTED = "trusted"  # Server Status: Trusted, HA not configured
    CONFIGURED = "configured"


class ServerDesignation(str, Enum):
    """Decided by the installed licenses (chapter: Defining the Active and Standby Servers)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


class StandbyServerStatus(str, Enum):
    READY = "Ready"
    NOT_READY = "Not Ready"


# Which role may follow which.  Takeovers, unconfigure and manual failover pass
# through TRANSITIONING; a server handing over (manual failover, critical process
# failure, Go Standby) drops straight to STANDBY so it stops taking writes at once.
ALLOWED_TRANSITIONS: dict[Role, frozenset[Role]] = {
    # ACTIVE -> STANDALONE: HA unconfigured automatically at 90 % of the transaction log;
    # the active keeps serving.
    Role.ACTIVE: frozenset({Role.STANDBY, Role.TRANSITIONING, Role.STANDALONE}),
    Role.STANDBY: frozenset({Role.TRANSITIONING, Role.ACTIVE}),
    Role.STANDALONE: frozenset({Role.ACTIVE, Role.STANDBY, Role.TRANSITIONING}),
    Role.TRANSITIONING: frozenset({Role.ACTIVE, Role.STANDBY, Role.STANDALONE}),
}


class TransitionError(ValueError):
    pass


def check_transition(current: Role, to: Role) -> None:
    if to == current:
        return
    if to not in ALLOWED_TRANSITIONS[current]:
        raise TransitionError(f"a server cannot go from {current.value} to {to.value}")


def role_by_license(server: ServerDesignation | None) -> Role:
    """Chapter, Defining the Active and Standby Servers: the primary (IPICS Base server
    and Policy Engine Base licenses) assumes the active role, the secondary (only the High
    Availability license) the standby role; without either, a server is standalone."""
    if server == ServerDesignation.PRIMARY:
        return Role.ACTIVE
    if server == ServerDesignation.SECONDARY:
        return Role.STANDBY
    return Role.STANDALONE


def boot_role(ha: HAState, standalone: bool, server: ServerDesignation | None) -> Role:
    """The role a server starts in."""
    if ha == HAState.CONFIGURED:
        # A server that comes back never takes the active role straight away: it joins
        # as a standby, adopts the active's data, or takes over only after the
        # missed-heartbeat window (no failback).
        return Role.STANDBY
    if standalone:
        return Role.STANDALONE
    return role_by_license(server)


# Emulated durations from the chapter.
TAKEOVER_AFTER_MISSED_HEARTBEATS_S = (150.0, 180.0)  # "approximately 150 to 180 seconds"
TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S = (180.0, 300.0)  # "can take several minutes"
TAKEOVER_MANUAL_FAILOVER_S = (150.0, 180.0)
#: how long a server that handed the active role over waits for its partner to be seen
#: taking it before the "both servers are standby" rules apply again: the longest takeover
HANDED_OVER_HOLD_S = TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S[1]
RECONFIGURATION_PERIOD_S = (120.0, 120.0)  # Unconfigure: "wait a few minutes"
CRITICAL_SERVICES = ("tomcat", "database")
SERVICES = ("tomcat", "ipics_nm", "database")


class Action(str, Enum):
    NONE = "none"
    BEGIN_TAKEOVER = "begin_takeover"
    FINISH_TRANSITION = "finish_transition"
    HAND_OVER = "hand_over"
    REQUEST_SYNC = "request_sync"
    #: witness mode: ask the witness for its vote before assuming the active role
    REQUEST_VOTE = "request_vote"
    #: witness mode: an active (or a server assuming the role) that hears neither its
    #: partner nor the witness, its lease run out, steps down (fencing by self-demotion)
    STEP_DOWN = "step_down"


@dataclass(frozen=True)
class Observations:
    """What one HA tick saw.  ``partner_role`` is None when the partner did not answer."""

    server: ServerDesignation | None
    role: Role
    ha: HAState
    missed_now: int
    missed_count: int
    partner_role: Role | None
    synchronized: bool  # this server, as a standby, holds the active's data
    transition_due: bool  # a transition is under way and its time is up
    failed_critical_service: str | None = None
    partner_ready: bool = False  # the partner is a standby and reports itself Ready
    awaiting_repair: bool = False  # Go Standby done: keep own data until REPAIR reconciles it
    #: this server handed the active role over (Failover Now, a critical process) and has
    #: not yet seen the partner take it: a view of the partner as standby is from before
    handed_over: bool = False
    #: witness mode (``core/modes.py``): the role is taken and kept with its vote only
    witness: bool = False
    #: this server holds the witness's vote now (its lease has not run out)
    witness_vote: bool = False
    #: why the witness did not give its vote when last asked (refused, or no answer)
    witness_refusal: str | None = None
    #: transitioning, and to the active role
    assuming_active: bool = False
    #: the witness said another server holds its vote
    witness_holder_other: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str


def decide(o: Observations) -> Decision:
    """What to do now, and why.  IPICS's rules (``_decide_ipics``); in witness mode the
    active role is taken only with the witness's vote and kept only while the partner or
    the witness is heard."""
    decision = _decide_ipics(o)
    if not o.witness or o.ha != HAState.CONFIGURED:
        return decision
    keeping = o.role == Role.ACTIVE or o.assuming_active
    if keeping and not o.witness_vote:
        # Without the vote the role is kept only while the partner is heard as a standby:
        # the partner may hold the vote (the witness said so, or it is seen taking or
        # holding the role: a process resumed after a pause hears it so), or may get it
        # soon (the partner lost as the chapter counts it, Missed Heartbeat Count: the
        # witness keeps a lease two Heartbeat Intervals longer than this server counts
        # it, so this server has stepped down before the vote can go to the partner).
        why = None
        if o.witness_holder_other:
            why = f"the witness gave its vote to the partner ({o.witness_refusal})"
        elif o.partner_role in (Role.ACTIVE, Role.TRANSITIONING):
            why = f"the partner is {o.partner_role.value} and this server does not hold the witness's vote"
        elif o.partner_role is None and o.missed_now >= o.missed_count:
            lost = o.witness_refusal or "its lease ran out"
            why = f"neither the partner ({o.missed_now} heartbeats missed) nor the witness's vote ({lost})"
        elif decision.action == Action.FINISH_TRANSITION:
            why = f"the takeover is due but the witness's vote is not held ({o.witness_refusal or 'lease ran out'})"
        if why is not None:
            return Decision(
                Action.STEP_DOWN,
                f"{why}: stepping down to standby so that two servers are never active (fencing by self-demotion)",
            )
    if decision.action == Action.BEGIN_TAKEOVER:
        if o.witness_vote:
            return Decision(Action.BEGIN_TAKEOVER, f"{decision.reason}, with the witness's vote")
        refused = f"; last time: {o.witness_refusal}" if o.witness_refusal else ""
        return Decision(
            Action.REQUEST_VOTE, f"{decision.reason.split(':')[0]}: asking the witness for its vote{refused}"
        )
    return decision


def _decide_ipics(o: Observations) -> Decision:
    if o.role == Role.TRANSITIONING:
        if o.transition_due:
            return Decision(Action.FINISH_TRANSITION, "transition time is up: finishing it")
        return Decision(Action.NONE, "no action: transition under way")
    if o.ha != HAState.CONFIGURED:
        return Decision(Action.NONE, f"no action: HA is {o.ha.value}")

    if o.role == Role.ACTIVE:
        if o.failed_critical_service:
            if o.partner_role == Role.STANDBY and o.partner_ready:
                return Decision(
                    Action.HAND_OVER,
                    f"critical process {o.failed_critical_service} failed: "
                    "telling the standby server to assume the active role",
                )
            return Decision(
                Action.NONE,
                f"critical process {o.failed_critical_service} failed but the standby "
                "is not ready and reachable: staying active, waiting for ipics_nm",
            )
        if o.partner_role is None:
            return Decision(
                Action.NONE,
                f"no action: I am the active server; partner missed {o.missed_now} heartbeat(s), "
                "updates queue in the transaction log",
            )
        if o.partner_role == Role.ACTIVE:
            return Decision(
                Action.NONE,
                "split brain: both servers are active and can see each other again; "
                "Go Standby on the secondary server (Method 1) or reconfigure HA (Method 2)",
            )
        if o.partner_role == Role.STANDBY and not o.partner_ready:
            return Decision(
                Action.NONE,
                "no action: I am the active server; the standby is Not Ready "
                "(synchronizing, or waiting for REPAIR after Go Standby)",
            )
        return Decision(Action.NONE, "no action: I am the active server, partner healthy")

    if o.role == Role.STANDBY:
        if o.partner_role is None:
            if o.missed_now >= o.missed_count:
                return Decision(
                    Action.BEGIN_TAKEOVER,
                    f"{o.missed_now} heartbeats missed (limit {o.missed_count}): assuming the active role",
                )
            return Decision(
                Action.NONE,
                f"no action: I am the standby server, {o.missed_now} of {o.missed_count} heartbeats missed",
            )
        if o.partner_role == Role.ACTIVE:
            if o.awaiting_repair:
                # Adopting the active's data now would throw away what this server took
                # during the split; REPAIR copies it across first.
                return Decision(
                    Action.NONE,
                    "no action: standby after Go Standby, waiting for "
                    "ipicsedr_control_repl REPAIR to reconcile the databases",
                )
            if not o.synchronized:
                return Decision(Action.REQUEST_SYNC, "partner is active: synchronizing from it")
            return Decision(Action.NONE, "no action: I am the standby server, partner healthy")
        if o.partner_role == Role.STANDBY and o.handed_over:
            return Decision(Action.NONE, "no action: I handed the active role over; waiting for the partner to take it")
        if o.partner_role == Role.STANDBY and o.synchronized and not o.partner_ready:
            # The active came back as a standby before the missed-heartbeat window ran
            # out (a quick reboot, service ipics stop/start): nobody is active.  This
            # standby holds the active's data: it takes over, as after a failure.
            return Decision(
                Action.BEGIN_TAKEOVER,
                "both servers are standby and this one holds the active's data: assuming the active role",
            )
        if (
            o.partner_role == Role.STANDBY
            and o.server == ServerDesignation.PRIMARY
            and not o.synchronized
            and not o.partner_ready
        ):
            # Both came up as standby (both restarted), neither holding an active's data:
            # the primary takes the active role.  A standby that just handed over, or
            # whose partner is Ready, must not take it back.
            return Decision(Action.BEGIN_TAKEOVER, "both servers are standby: the primary assumes the active role")
        return Decision(Action.NONE, f"no action: I am the standby server, partner is {o.partner_role.value}")

    return Decision(Action.NONE, f"no action: I am {o.role.value}")
