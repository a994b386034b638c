"""The pair's modes beyond IPICS in words, read from the HA status JSON.

One wording for everything that shows the status to a person: the shell's
``service ipics ha-status``, the Administration Console's HA tabs and the trainer
panel (which reads the same JSON over the API).  Each function takes a part of the
status (``modes``, ``synchronous``, ``witness`` or one of ``witness.votes``) as the
server gives it (``server/api/responses.py``).
"""

from __future__ import annotations

from typing import Any

#: what a synchronous active does with a write, per state (server/core/modes.py)
SYNCHRONOUS_STATE_WORDS = {
    "synchronous": "synchronous: writes wait for the standby",
    "waiting": "waiting: the standby is not Ready, writes wait for it",
    "suspended": "suspended: writes are acknowledged without the standby",
    "refusing": "refusing writes: no standby is Ready",
    "idle": "idle: not the active server of a configured pair",
}
#: how each state looks: good, warn (something waits) or bad (writes refused or not safe)
SYNCHRONOUS_STATE_KIND = {
    "synchronous": "good",
    "waiting": "warn",
    "suspended": "bad",
    "refusing": "bad",
    "idle": "",
}
VOTE_OUTCOMES = ("granted", "refused", "handed back", "unanswered")


def synchronous_words(sync: dict[str, Any]) -> str:
    """``synchronous: writes wait for the standby``, the policy and what was refused."""
    state = str(sync.get("state"))
    words = SYNCHRONOUS_STATE_WORDS.get(state, state)
    if state == "waiting" and sync.get("fallback_after_s") is not None:
        words += f" up to {sync['fallback_after_s']:.0f} s"
    return words


def synchronous_policy_words(sync: dict[str, Any]) -> str:
    """``strict (no standby, no writes)`` or ``fallback after 25 s (then as IPICS)``."""
    if sync.get("policy") == "strict":
        return "strict (no standby Ready, no writes)"
    after = sync.get("fallback_after_s")
    return "fallback" + (f" after {after:.0f} s" if after is not None else "") + " (then acknowledged without it)"


def witness_reach_words(witness: dict[str, Any]) -> str:
    reachable = witness.get("reachable")
    return "not asked yet" if reachable is None else "reachable" if reachable else "NOT reachable"


def witness_holder_words(witness: dict[str, Any], server: str | None = None) -> str:
    """Who holds the vote as this server (``server``) knows it: ``this server (the
    primary)``, ``the secondary, as the witness last said`` ...  A standby asks only when
    it would take over, so it may not know."""
    holder = witness.get("holder")
    if witness.get("holds_vote"):
        return f"this server (the {server})" if server else "this server"
    if holder and holder != server:
        return f"the {holder}, as the witness last said"
    if holder:
        return "not this server any more (its lease ran out or it handed the vote back)"
    return "not known here: this server has not asked for it"


def witness_lease_words(witness: dict[str, Any]) -> str:
    remaining = witness.get("lease_remaining_s")
    return f"{remaining:.0f} s left" if witness.get("holds_vote") and remaining is not None else "none held"


def vote_outcome(vote: dict[str, Any]) -> str:
    """``granted``, ``refused``, ``handed back`` (this server gave it back on a role
    change) or ``unanswered`` (the witness did not answer)."""
    if vote.get("granted"):
        return "granted"
    if vote.get("asked_because") == "role change":
        return "handed back"
    if str(vote.get("reason", "")).startswith("the witness does not answer"):
        return "unanswered"
    return "refused"


def vote_words(vote: dict[str, Any], server: str | None = None) -> str:
    """One vote, who asked and for whom: ``primary asked (renewing the lease of the
    active server): granted, the witness votes for the primary``."""
    who = f"{server} " if server else ""
    outcome = vote_outcome(vote)
    if outcome == "handed back":
        return f"{who}handed the vote back: {vote.get('reason')}"
    return f"{who}asked ({vote.get('asked_because')}): {outcome}, {vote.get('reason')}"
