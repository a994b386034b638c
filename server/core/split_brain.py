"""Split brain: how long it has lasted and which reconciliation method the chapter recommends.

Chapter, Overview of Reconciliation Methods: Method 1 (force the secondary into standby,
REPAIR, ipicsrsync) for a split brain shorter than 5 days; Method 2 (reconfigure HA)
for 5 days or more; Method 3 (workaround) only when neither works.
"""

from __future__ import annotations

from dataclasses import dataclass

METHOD_1_LIMIT_S = 5 * 24 * 3600.0

METHODS = {
    1: "Method 1: Force the Secondary Server into Standby State (Go Standby on the secondary, "
    "then ipicsedr_control_repl REPAIR and ipicsrsync run ipicsadmin)",
    2: "Method 2: Reconfigure High Availability (stop the secondary, unconfigure HA and delete the "
    "trust on the primary, reconcile the files, configure HA again)",
    3: "Method 3: Workaround (shutdown -h now on the secondary, service ipics stop-all and start-all "
    "on the primary, power the secondary up)",
}


@dataclass(frozen=True)
class SplitBrain:
    since: float  # emulated UTC when both servers were last both active
    duration_s: float

    @property
    def recommended_method(self) -> int:
        return 1 if self.duration_s < METHOD_1_LIMIT_S else 2

    def as_dict(self) -> dict:
        return {
            "since": self.since,
            "duration_s": round(self.duration_s, 1),
            "duration": format_duration(self.duration_s),
            "recommended_method": self.recommended_method,
            "recommendation": METHODS[self.recommended_method],
        }


def split_brain(now: float, my_active_since: float | None, partner_active_since: float | None) -> SplitBrain:
    """Both servers are active: the split began when the later of the two became active."""
    starts = [t for t in (my_active_since, partner_active_since) if t is not None]
    since = max(starts) if starts else now
    return SplitBrain(since=since, duration_s=max(0.0, now - since))


def format_duration(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"
