"""What the fault campaign measures per mode of the pair, beside the checker's verdicts.

From the roles the two watchers saw (``History.role_history``): the split brains
entered (both servers report the active role at once; a server that does not answer is
not counted as active) and how long the pair had no active server (no server active or
standalone: after HA was unconfigured automatically, a standalone server serves alone).  From the clients'
history (``History.ops``): the writes the servers did not acknowledge, by answer.  Pure
functions of the data passed in, as the checker's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ipics_lab.checker import FAIL, OK, Op

#: the start of a ``why`` in the history when no answer came (``Client.write``)
NO_ANSWER = "no answer"
#: roles in which a server serves the clients
SERVING = ("active", "standalone")


def role_timeline(
    role_history: Sequence[tuple[float, str, str]], until_s: float, time_scale: float
) -> dict[str, float | int]:
    """Split brains entered and time without an active, from when both servers were
    first seen to ``until_s`` (real seconds since the campaign started).

    ``role_history``: (real seconds, server, role) at each change, as the watchers poll
    (every 20 ms: a split brain shorter than that may go unseen; a SIGSTOPped server
    keeps its last answer until its poll times out)."""
    roles: dict[str, str] = {}
    entered = 0
    both_s = none_s = longest_none = 0.0
    none_since: float | None = None
    both_since: float | None = None
    start: float | None = None
    for t, name, role in sorted((e for e in role_history if e[0] <= until_s), key=lambda e: e[0]):
        roles[name] = role
        if len(roles) < 2:
            continue
        start = t if start is None else start
        actives = sum(1 for r in roles.values() if r == "active")
        serving = sum(1 for r in roles.values() if r in SERVING)
        if actives == 2 and both_since is None:
            entered, both_since = entered + 1, t
        elif actives < 2 and both_since is not None:
            both_s, both_since = both_s + t - both_since, None
        if serving == 0 and none_since is None:
            none_since = t
        elif serving > 0 and none_since is not None:
            none_s, longest_none = none_s + t - none_since, max(longest_none, t - none_since)
            none_since = None
    if both_since is not None:
        both_s += until_s - both_since
    if none_since is not None:
        none_s, longest_none = none_s + until_s - none_since, max(longest_none, until_s - none_since)
    observed = 0.0 if start is None else until_s - start
    return {
        "split_brains_entered": entered,
        "split_brain_real_s": round(both_s, 3),
        "without_active_real_s": round(none_s, 3),
        "without_active_emulated_s": round(none_s / time_scale, 1),
        "longest_without_active_real_s": round(longest_none, 3),
        "observed_real_s": round(observed, 3),
    }


def writes_not_acknowledged(history: Iterable[Op]) -> dict[str, dict[str, int]]:
    """The writes a server answered without acknowledging them, by status and code
    (``503 no_synchronous_standby``, ``503 not_acknowledged``, ``409 not_active``,
    ``503 transitioning`` ...), and those that got no answer.  ``refused``: the server
    said it did not write it; ``outcome_unknown``: it may have (``503 not_acknowledged``
    is committed on the active, not promised to survive a failover)."""
    refused: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for op in history:
        if op.outcome == OK:
            continue
        answer = NO_ANSWER if op.why.startswith(NO_ANSWER) or not op.why else op.why
        into = refused if op.outcome == FAIL else unknown
        into[answer] = into.get(answer, 0) + 1
    return {"refused": dict(sorted(refused.items())), "outcome_unknown": dict(sorted(unknown.items()))}
