"""The modes of a pair beyond IPICS: synchronous replication and a witness.

Pure: no I/O, no clock reads.  IPICS replicates asynchronously and has no witness; that
stays the default.  The other modes answer the questions a trainer hears after a split
brain, each the way a well-known system does:

- **Synchronous replication** (PostgreSQL's synchronous commit as Patroni drives it, DRBD
  protocol C): a write is acknowledged only once the standby has applied it.  With the
  standby gone, the *policy* decides: ``strict`` refuses writes until a standby is Ready
  again (Patroni's ``synchronous_mode_strict``); ``fallback`` waits up to a deadline for
  it and then acknowledges without it, saying so (Patroni's ``synchronous_mode``), until
  the standby is Ready and caught up again.
- **A witness** (corosync-qdevice's ``ffsplit`` applied to a pair): a third, small
  process both servers talk to, holding one vote it gives to one server at a time for a
  lease.  A standby assumes the active role after missed heartbeats only with that vote;
  an active that hears neither its partner nor the witness steps down once its lease has
  run out (fencing by self-demotion), before the witness can give the vote away.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ReplicationMode(str, Enum):
    ASYNC = "async"  # IPICS: acknowledged once committed on the active
    SYNCHRONOUS = "synchronous"  # acknowledged once the standby applied it


class SynchronousPolicy(str, Enum):
    STRICT = "strict"  # no standby, no writes
    FALLBACK = "fallback"  # no standby for the deadline: acknowledge without it


class SynchronousState(str, Enum):
    """What a synchronous active does with a write now."""

    #: the standby is Ready: a write is acknowledged once it has it
    SYNCHRONOUS = "synchronous"
    #: the standby is not Ready (fallback policy): writes wait for it, up to the deadline
    WAITING = "waiting"
    #: the deadline passed (fallback policy): writes are acknowledged without the standby
    SUSPENDED = "suspended"
    #: the standby is not Ready (strict policy): writes are refused
    REFUSING = "refusing"
    #: HA is not configured, or this server is not the active one: nothing to wait for
    IDLE = "idle"


@dataclass(frozen=True)
class PairModes:
    """The modes a server was started with (both servers of a pair the same)."""

    replication: ReplicationMode = ReplicationMode.ASYNC
    synchronous_policy: SynchronousPolicy = SynchronousPolicy.FALLBACK
    #: fallback policy: emulated seconds without a Ready standby before writes are
    #: acknowledged without it (None: the failover window, Heartbeat Interval x Missed
    #: Heartbeat Count, so the active gives up on its standby when the standby would
    #: give up on it)
    synchronous_fallback_after_s: float | None = None
    #: the witness's address (None: no witness, as IPICS)
    witness: str | None = None

    @property
    def synchronous(self) -> bool:
        return self.replication == ReplicationMode.SYNCHRONOUS

    @property
    def label(self) -> str:
        """A short name for the modes: ``IPICS`` or, say, ``synchronous (strict) + witness``."""
        parts = []
        if self.synchronous:
            parts.append(f"synchronous ({self.synchronous_policy.value})")
        if self.witness:
            parts.append("witness")
        return " + ".join(parts) if parts else "IPICS"

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "replication": self.replication.value,
            "synchronous_policy": self.synchronous_policy.value if self.synchronous else None,
            "synchronous_fallback_after_s": self.synchronous_fallback_after_s if self.synchronous else None,
            "witness": self.witness,
        }


def synchronous_state(
    modes: PairModes,
    *,
    active_in_pair: bool,
    standby_ready: bool,
    caught_up: bool,
    current: SynchronousState,
    not_ready_for_s: float,
    fallback_after_s: float,
) -> SynchronousState:
    """The synchronous state of an active after what it sees now.

    ``active_in_pair``: this server is the active one of a configured pair;
    ``standby_ready``: its standby is Ready and answering; ``caught_up``: the standby
    acknowledged everything in the transaction log; ``not_ready_for_s``: how long the
    standby has not been Ready (emulated).  A suspended active resumes only once the
    standby is Ready *and* caught up: a write acknowledged while suspended is not
    durable on the standby until then."""
    if not modes.synchronous or not active_in_pair:
        return SynchronousState.IDLE
    if modes.synchronous_policy == SynchronousPolicy.STRICT:
        return SynchronousState.SYNCHRONOUS if standby_ready else SynchronousState.REFUSING
    if current == SynchronousState.SUSPENDED:
        return SynchronousState.SYNCHRONOUS if standby_ready and caught_up else SynchronousState.SUSPENDED
    if standby_ready:
        return SynchronousState.SYNCHRONOUS
    if not_ready_for_s >= fallback_after_s:
        return SynchronousState.SUSPENDED
    return SynchronousState.WAITING


@dataclass(frozen=True)
class Ballot:
    """The witness's one vote: who holds it and until when (the witness's monotonic
    seconds, real time: the witness keeps no emulated clock), and the grant's ``term``:
    a number that grows with every new grant (not with a renewal), so a hand-back
    names the grant it ends and a late one cannot end a later grant of the same server."""

    holder: str | None = None
    until: float = 0.0
    term: int = 0

    def held_by_other(self, server: str, now: float) -> bool:
        return self.holder is not None and self.holder != server and now < self.until


@dataclass(frozen=True)
class VoteAnswer:
    granted: bool
    ballot: Ballot
    reason: str


def cast_vote(ballot: Ballot, server: str, now: float, lease_s: float, term: int | None = None) -> VoteAnswer:
    """The witness asked for its vote by ``server`` (to stay active, or to assume the
    role) for ``lease_s`` real seconds; ``term``: the grant the server holds, as far as it
    knows (None: none).  One holder at a time: the vote goes to another server only once
    the holder's lease has run out.  The holder renewing the grant it names keeps its
    term; any other grant is a new term (a server that handed its vote back and asks
    again gets a grant its late hand-back cannot end)."""
    if ballot.held_by_other(server, now):
        return VoteAnswer(
            False, ballot, f"the witness's vote is with the {ballot.holder} for another {ballot.until - now:.1f} s"
        )
    renewal = ballot.holder == server and now < ballot.until and term == ballot.term
    given = Ballot(server, now + lease_s, ballot.term if renewal else ballot.term + 1)
    return VoteAnswer(True, given, f"the witness votes for the {server}")


def release_vote(ballot: Ballot, server: str, term: int | None = None) -> Ballot:
    """The holder hands its vote back (it stepped down, handed over, went standby):
    the grant ``term`` (None: whatever it holds).  The term is kept for the next grant."""
    if ballot.holder != server or (term is not None and term != ballot.term):
        return ballot
    return Ballot(term=ballot.term)
