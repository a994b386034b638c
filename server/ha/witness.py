"""This server's side of the witness: asking for its vote, keeping the lease, handing it back.

The witness (``server/witness/``) gives its one vote to one server at a time for a lease
of one failover window (Heartbeat Interval x Missed Heartbeat Count).  The active, and
a server assuming the active role, ask again every Heartbeat Interval, so the lease
never runs out while they reach the witness.  A standby asks only when the missed
heartbeats would make it take over (``core.roles.decide``: ``REQUEST_VOTE``).

The lease is counted here from the moment the vote was *asked*, the witness counts it
from the moment it *gave* it: this server's lease always ends first, so an active cut
off from partner and witness has stepped down (``STEP_DOWN``) before the witness can
give the vote to its partner.  Both count real seconds (``time.monotonic``); the
emulated window is converted with the time scale when asked.

Not in the chapter: corosync-qdevice's ``ffsplit`` idea applied to a pair (see
``core/modes.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..adapters.httpclient import ApiClient, Unreachable
from ..adapters.secret_files import KeyFileError, load_key
from ..core.roles import HAState, Role
from .node import NodeState, partner_message

log = logging.getLogger("ipics.ha")

KEY_BYTES = 32
VOTES_KEPT = 20


class WitnessVote:
    """The vote of the witness at ``address`` as this server holds it (or not)."""

    def __init__(self, state: NodeState, address: str, key_file: Path):
        self.state = state
        self.address = address
        self._key_file = key_file
        self._client: ApiClient | None = None
        #: real monotonic second this server's lease ends (0: none held)
        self.vote_until = 0.0
        #: the witness's grant this server holds (``core.modes.Ballot.term``; None: none):
        #: named when renewing it and when handing it back
        self.term: int | None = None
        self.reachable: bool | None = None  # None: not asked yet
        #: the witness's last answer in words (granted, refused and why, or unreachable)
        self.last_answer: str | None = None
        #: who holds the vote as the witness last said
        self.holder: str | None = None
        self.granted_total = 0
        self.refused_total = 0
        self.unreachable_total = 0
        #: what changed, for the trainer: [{at, server, granted, reason}], newest last
        self.votes: deque[dict[str, Any]] = deque(maxlen=VOTES_KEPT)
        self._asking: asyncio.Task | None = None
        self._last_granted: bool | None = None

    def check_key(self) -> None:
        """The key file is readable and only by its owner; ``KeyFileError`` otherwise."""
        load_key(self._key_file, "the witness key", KEY_BYTES)

    def _open(self) -> ApiClient:
        if self._client is None:
            token = load_key(self._key_file, "the witness key", KEY_BYTES).hex()
            self._client = ApiClient(self.address, token=token)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # ------------------------------------------------------------------- views
    @property
    def holds_vote(self) -> bool:
        return time.monotonic() < self.vote_until

    def lease_s(self) -> float:
        """How long this server counts the lease, in real seconds: one failover window."""
        s = self.state
        return s.clock.real_seconds(s.settings.failover_window_s)

    def witness_lease_s(self) -> float:
        """How long the witness keeps it: two Heartbeat Intervals longer, for the tick
        that sees the partner lost to come after this server's own lease ended (the
        missed heartbeats are counted on the heartbeats' own beat), as Patroni keeps its
        ttl above loop_wait plus twice retry_timeout."""
        s = self.state
        return self.lease_s() + s.clock.real_seconds(2 * s.settings.interval_s)

    def holder_is_partner(self) -> bool:
        """The witness's last answer said the partner holds the vote."""
        mine = self.state.designation()
        return self.holder is not None and mine is not None and self.holder != mine.value

    def refusal(self) -> str | None:
        """Why this server does not hold the vote, if it asked and was not given it."""
        if self.holds_vote or self.last_answer is None:
            return None
        return self.last_answer

    def status(self) -> dict[str, Any]:
        remaining = self.vote_until - time.monotonic()
        return {
            "address": self.address,
            "reachable": self.reachable,
            "holds_vote": remaining > 0,
            # emulated seconds, as every duration the status shows
            "lease_remaining_s": round(remaining / self.state.clock.time_scale, 1) if remaining > 0 else None,
            "holder": self.holder,
            "last_answer": self.last_answer,
            "votes_granted": self.granted_total,
            "votes_refused": self.refused_total,
            "unreachable": self.unreachable_total,
            "votes": list(self.votes),
        }

    # ------------------------------------------------------------------ asking
    def ask_soon(self, why: str) -> None:
        """Ask for the vote without waiting for the answer (the tick never waits on the
        network); the answer kicks a heartbeat and the tick that follows it."""
        if self._asking is None or self._asking.done():
            self._asking = self.state.spawn(self._ask_and_kick(why))

    async def _ask_and_kick(self, why: str) -> None:
        if await self.ask(why):
            self.state.kick()

    async def ask(self, why: str) -> bool:
        """Ask the witness for its vote; True if this server holds it now."""
        s = self.state
        designation = s.designation()
        if designation is None:
            return False
        lease = self.lease_s()
        asked_at = time.monotonic()
        try:
            client = self._open()
            # answered within a heartbeat interval, or it is as good as not answered
            reply = await client.post(
                "/witness/vote",
                {
                    "server": designation.value,
                    "lease_s": self.witness_lease_s(),
                    "role": s.role.value,
                    "term": self.term,
                },
                timeout_s=max(0.2, s.clock.real_seconds(s.settings.interval_s)),
            )
        except (Unreachable, KeyFileError) as exc:
            self.unreachable_total += 1
            self.reachable = False
            self._answer(False, f"the witness does not answer ({exc})", None, why)
            return self.holds_vote
        self.reachable = True
        if not reply.ok or not isinstance(reply.body, dict):
            self.refused_total += 1
            self._answer(False, f"the witness refused the request: {partner_message(reply.body)}", None, why)
            return self.holds_vote
        granted = reply.body.get("granted") is True
        holder = reply.body.get("holder")
        term = reply.body.get("term")
        if granted and isinstance(term, int) and not isinstance(term, bool):
            self.granted_total += 1
            self.vote_until, self.term = asked_at + lease, term
        else:
            granted = False  # a grant without its term could not be handed back safely
            self.refused_total += 1
            self.vote_until, self.term = 0.0, None
        self._answer(granted, str(reply.body.get("reason", "")), holder if isinstance(holder, str) else None, why)
        return granted

    def _answer(self, granted: bool, reason: str, holder: str | None, why: str) -> None:
        before = (self._last_granted, self.holder, self.reachable)
        self.last_answer = reason
        self._last_granted = granted
        if granted or holder is not None:  # unanswered: the holder last heard stays
            self.holder = holder
        # what is news: given or not, and to whom (not a refusal's countdown)
        if (granted, self.holder, self.reachable) != before:
            # renewals are the steady state: only a change is news for the log and the timeline
            self.votes.append(
                {
                    "at": self.state.clock.now(),
                    "granted": granted,
                    "holder": self.holder,
                    "reason": reason,
                    "asked_because": why,
                }
            )
            (log.info if granted else log.warning)("witness: %s (asked because %s)", reason, why)
            self.state.events.publish({"type": "witness", "granted": granted, "holder": self.holder, "reason": reason})

    async def release(self) -> None:
        """Hand the vote back (this server stopped being active): the partner assuming the
        role gets it at once instead of after the lease.  Best effort: unanswered, the
        lease runs out by itself."""
        (held, self.vote_until), (term, self.term) = (self.vote_until, 0.0), (self.term, None)
        designation = self.state.designation()
        if held == 0.0 or term is None or designation is None:
            return
        try:
            # the grant named: a hand-back that arrives late ends nothing granted since
            await self._open().post("/witness/release", {"server": designation.value, "term": term}, timeout_s=2)
            self._answer(
                False, f"this server handed the witness's vote back (now {self.state.role.value})", None, "role change"
            )
        except (Unreachable, KeyFileError):
            pass

    async def loop(self) -> None:
        """Every Heartbeat Interval: the active (or a server assuming the role) renews its
        lease; others hold none."""
        s = self.state
        while True:
            await s.clock.sleep(s.settings.interval_s)
            if s.suspended or s.ha != HAState.CONFIGURED:
                continue
            assuming = s.role == Role.TRANSITIONING and s.transition is not None and s.transition.target == Role.ACTIVE
            if s.role == Role.ACTIVE or assuming:
                await self.ask(
                    "renewing the lease of the active server" if not assuming else "assuming the active role"
                )
