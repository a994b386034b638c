"""The witness as the trainer panel shows it, from both servers' views (Qt-free).

Each server's status says what that server knows of the witness (``witness`` in the HA
status): whether it answers, whether this server holds the vote and for how long, and
the votes it asked for.  The panel puts the two together: who holds the vote now (the
server whose lease runs), and the last votes of both, oldest first, who asked and for
whom.  None for a pair without a witness.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipics_server.modes_text import vote_outcome, vote_words, witness_reach_words

from .monitor import ServerView

VOTES_SHOWN = 4


@dataclass(frozen=True)
class VoteLine:
    at: float
    server: str
    outcome: str  #: granted, refused, handed back, unanswered
    text: str


@dataclass(frozen=True)
class WitnessView:
    address: str
    #: server -> reachable, NOT reachable, not asked yet (or: does not answer)
    reach: dict[str, str]
    holder: str | None  #: the server whose lease runs now, as the servers say
    lease_remaining_s: float | None
    votes: list[VoteLine]

    def holder_words(self) -> str:
        if self.holder is None:
            return "nobody holds the vote"
        lease = f" (lease {self.lease_remaining_s:.0f} s left)" if self.lease_remaining_s is not None else ""
        return f"the {self.holder} holds the vote{lease}"

    def reach_words(self) -> str:
        return ", ".join(f"{server}: {words}" for server, words in self.reach.items())


def witness_view(views: dict[str, ServerView]) -> WitnessView | None:
    witnessed = {name: (v.status.get("witness") or {}) for name, v in views.items() if v.reachable}
    address = next((w["address"] for w in witnessed.values() if w.get("address")), None)
    if address is None:
        return None
    holders = [(name, w) for name, w in witnessed.items() if w.get("holds_vote")]
    # Two leases at once cannot be (the witness gives one vote): the longer is the newer.
    holder, lease = max(
        ((name, w.get("lease_remaining_s")) for name, w in holders),
        key=lambda h: h[1] or 0.0,
        default=(None, None),
    )
    votes = sorted(
        (
            VoteLine(float(v.get("at") or 0.0), name, vote_outcome(v), vote_words(v, name))
            for name, w in witnessed.items()
            for v in w.get("votes") or []
        ),
        key=lambda line: line.at,
    )
    reach = {name: witness_reach_words(witnessed[name]) if name in witnessed else "does not answer" for name in views}
    return WitnessView(address, reach, holder, lease, votes[-VOTES_SHOWN:])
