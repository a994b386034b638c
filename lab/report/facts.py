"""What an after-action report says, read from a run's recording (no HTML here).

Everything comes from the recording: the header (what ran, when, how), the timeline's
events, the servers' views, the administrators' actions as the servers' audit trails
recorded them, and the run's last result (a grade, the writes, the durations, the
outcome).  A duration the result does not give is derived from the servers' views and
the timeline where it can be, and the report says which: a trainer must know whether a
figure was measured by the run or read off the recording afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ipics_lab.recording import Recording

#: the durations a report shows, in its order, with their names
DURATIONS = {
    "detection_s": "Detection (first missed heartbeat to the standby's transition)",
    "takeover_s": "Takeover (transitioning to active)",
    "client_reconnect_s": "Client reconnect (offline to reconnected, the last client back)",
}
FROM_RESULT = "measured by the run"
FROM_RECORDING = "derived from the recording"


@dataclass
class Duration:
    key: str
    title: str
    seconds: float | None  #: emulated seconds; None: not measured, ``why`` says why
    source: str = ""
    why: str = ""


@dataclass
class ReportFacts:
    recording: Recording
    result: dict[str, Any]
    events: list[dict[str, Any]]
    actions: list[dict[str, Any]]  #: {at, emulated, server, entry}
    grade: dict[str, Any] | None
    writes: dict[str, Any] | None
    durations: list[Duration]
    outcome: str
    hints: list[str] = field(default_factory=list)


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def facts_of(recording: Recording) -> ReportFacts:
    result = recording.result if isinstance(recording.result, dict) else {}
    outcome = result.get("outcome")
    return ReportFacts(
        recording=recording,
        result=result,
        events=recording.of_type("event"),
        actions=[r for r in recording.of_type("action") if isinstance(r.get("entry"), dict)],
        grade=_dict(result.get("grade")),
        writes=_dict(result.get("writes")),
        durations=durations_of(recording, _dict(result.get("durations")) or {}),
        outcome=str(outcome) if outcome else default_outcome(recording, result),
        hints=[str(h) for h in _list(result.get("hints_released"))],
    )


def default_outcome(recording: Recording, result: dict[str, Any]) -> str:
    """What the run ended with when its result says no sentence of its own."""
    if not recording.of_type("result"):
        return "The run recorded no result: it was stopped, or it is still going."
    if "passed" in result:
        return "Passed." if result["passed"] else "Failed."
    return "The run ended; its result gives no outcome in words."


# ------------------------------------------------------------------ durations
def durations_of(recording: Recording, given: dict[str, Any]) -> list[Duration]:
    derived = derive_durations(recording)
    out = []
    for key, title in DURATIONS.items():
        seconds = _number(given.get(key))
        if seconds is not None:
            out.append(Duration(key, title, seconds, FROM_RESULT))
            continue
        value, why = derived[key]
        out.append(Duration(key, title, value, FROM_RECORDING if value is not None else "", why))
    return out


def _roles(recording: Recording) -> list[tuple[float, str, str | None]]:
    return [
        (float(r["emulated"]), str(r.get("server")), (r.get("view") or {}).get("role"))
        for r in recording.of_type("status")
        if isinstance(r.get("view"), dict)
    ]


def derive_durations(recording: Recording) -> dict[str, tuple[float | None, str]]:
    """Each duration (emulated seconds) or None, and why not, from the servers' views
    and the timeline: the first standby to leave standby, the missed heartbeats before it."""
    roles = _roles(recording)
    events = recording.of_type("event")
    found: dict[str, tuple[float | None, str]] = {}
    last: dict[str, str | None] = {}
    change: tuple[float, str, str | None] | None = None  # (when, server, the role it went to)
    for t, server, role in roles:
        if last.get(server) == "standby" and role in ("transitioning", "active"):
            change = (t, server, role)
            break
        last[server] = role
    if not roles:
        why = "the recording holds no server status (no monitor watched the servers)"
        found["detection_s"] = found["takeover_s"] = (None, why)
    elif change is None:
        found["detection_s"] = found["takeover_s"] = (None, "no standby took over during the run")
    else:
        t_change, server, role = change
        # the missed heartbeats of this run of misses: after the server last said it missed none
        calm = max((t for t, s, _ in _views(recording, server, "missed_now", 0) if t < t_change), default=-1.0)
        missed = [
            float(e["emulated"])
            for e in events
            if e.get("kind") == "missed" and e.get("server") in (server, None) and calm <= e["emulated"] <= t_change
        ]
        found["detection_s"] = (
            (round(t_change - missed[0], 3), "")
            if missed
            else (None, f"the {server} took over without missing a heartbeat (a handover, nothing to detect)")
        )
        if role == "active":
            found["takeover_s"] = (None, f"the {server} was seen active at once: shorter than the monitor's poll")
        else:
            active = next((t for t, s, r in roles if s == server and r == "active" and t >= t_change), None)
            found["takeover_s"] = (
                (round(active - t_change, 3), "")
                if active is not None
                else (None, f"the {server} did not become active before the recording ended")
            )
    found["client_reconnect_s"] = client_reconnect(events)
    return found


def _views(recording: Recording, server: str, key: str, value: Any) -> list[tuple[float, str, Any]]:
    return [
        (float(r["emulated"]), server, value)
        for r in recording.of_type("status")
        if r.get("server") == server and isinstance(r.get("view"), dict) and r["view"].get(key) == value
    ]


_WHO = re.compile(r"^(?P<who>[^:]{1,80}):\s*(?P<words>.*)$", re.S)


def client_reconnect(events: list[dict[str, Any]]) -> tuple[float | None, str]:
    """The longest time a client was offline before it reconnected (emulated seconds)."""
    offline: dict[str, float] = {}
    longest: float | None = None
    for e in events:
        if e.get("kind") != "client" or not isinstance(e.get("text"), str):
            continue
        m = _WHO.match(e["text"])
        if not m:
            continue
        who, words = m["who"], m["words"].lower()
        if words.startswith("offline") and who not in offline:
            offline[who] = float(e["emulated"])
        elif (words.startswith("reconnected") or words.startswith("online")) and who in offline:
            took = float(e["emulated"]) - offline.pop(who)
            longest = took if longest is None else max(longest, took)
    if longest is not None:
        return round(longest, 3), ""
    if offline:
        return None, "a client went offline and had not reconnected when the recording ended"
    return None, "no client went offline during the run"
