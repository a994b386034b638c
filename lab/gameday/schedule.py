"""A game day's schedule: which faults come when, a pure function of the seed.

A game day is for people (a team at the Administration Console, the server shell, the
IDC and the phones), so faults come at a human pace: minutes apart, never in the first
minutes (the team settles in) nor in the last ones (it has time to respond).  Faults
are the trainer's (``trainer.actions``, named with the scenario format's words); some
heal by themselves after a while (the power comes back, the WAN link is repaired), the
rest wait for the team (a skewed clock waits for ``ntpsetup``, the split brain a healed
link leaves behind waits for Method 1).  Nothing is recovered for the team.

The same seed, duration, topology, modes and number of faults give the same schedule
(``random.Random(seed)``: its draws are the same on every platform and version).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from ipics_lab.modes import LabModes
from ipics_lab.scenario.durations import describe_duration
from ipics_server.core.modes import ReplicationMode, SynchronousPolicy

SERVERS = ("primary", "secondary")
#: the faults on loopback, in the scenario format's words (``scenario.model.ACTIONS``)
FAULTS = ("power-off", "crash-tomcat", "cut-link", "skew-clock", "fill-txlog")
#: the sites topology's too: the kernel drops packets there (``netfaults``)
SITES_FAULTS = (*FAULTS, "packet-loss", "isolate-clients")
#: what heals a fault that heals by itself (``heals_after_s`` after it came)
HEALS = {
    "power-off": "power-on",
    "cut-link": "heal-link",
    "packet-loss": "heal-network",
    "isolate-clients": "heal-network",
}

#: emulated seconds: a day shorter than this leaves no time to handle a fault
MIN_DURATION_S = 300.0
#: the pace: between one fault per 15 minutes and one per 5 (2 to 6 in 30 minutes)
SLOWEST_S, FASTEST_S = 900.0, 300.0
#: no fault in the first 2 minutes nor in the last 5 (at most a tenth and a fifth of the day)
LEAD_S, TAIL_S = 120.0, 300.0
#: two faults at least this far apart (less when many are asked for in a short day)
MIN_GAP_S = 120.0
#: a fault that heals by itself lasts 2 to 10 minutes
HEAL_AFTER_S = (120.0, 600.0)
MAX_FAULTS = 50


@dataclass(frozen=True)
class GameDayFault:
    """One fault: ``at_s`` emulated seconds after the game day began, ``params`` as the
    trainer's action takes them; ``heals_after_s`` later the lab heals it, or None: it
    waits for the team (a crashed tomcat is restarted by ipics_nm, the server's own)."""

    index: int  # 1-based
    at_s: float
    fault: str
    params: dict[str, Any] = field(default_factory=dict)
    heals_after_s: float | None = None

    @property
    def heal(self) -> str | None:
        """The trainer's action that heals it, when it heals by itself."""
        return HEALS[self.fault] if self.heals_after_s is not None else None

    def describe(self) -> str:
        """``cut-link primary both at 7 min 30 s, heals after 4 min``."""
        params = " ".join(
            f"{v:+g} s" if k == "seconds" else f"{v:g} %" if k == "percent" else str(v) for k, v in self.params.items()
        )
        heals = (
            f"heals after {describe_duration(self.heals_after_s)}"
            if self.heals_after_s is not None
            else "waits for the team"
        )
        return f"{self.fault} {params} at {describe_duration(self.at_s)}, {heals}".replace("  ", " ")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def catalogue(topology: str = "loopback", modes: LabModes | None = None) -> tuple[str, ...]:
    """The faults a game day draws from in this topology and these modes."""
    faults: tuple[str, ...] = SITES_FAULTS if topology == "sites" else FAULTS
    modes = modes or LabModes()
    if modes.replication == ReplicationMode.SYNCHRONOUS and modes.synchronous_policy == SynchronousPolicy.STRICT:
        # strict synchronous replication refuses writes without a standby: no log builds up
        faults = tuple(f for f in faults if f != "fill-txlog")
    return faults


def make_gameday(
    seed: int,
    duration_s: float,
    topology: str = "loopback",
    modes: LabModes | None = None,
    faults: int | None = None,
) -> list[GameDayFault]:
    """The game day's faults in time order; ``faults``: how many (default: drawn, one per
    5 to 15 minutes).  ``ValueError`` says what is wrong with the arguments."""
    if not (math.isfinite(duration_s) and duration_s >= MIN_DURATION_S):
        shown = describe_duration(duration_s) if math.isfinite(duration_s) else repr(duration_s)
        raise ValueError(f"a game day lasts at least {describe_duration(MIN_DURATION_S)}, not {shown}")
    lead, tail = min(LEAD_S, duration_s / 10), min(TAIL_S, duration_s / 5)
    window = duration_s - lead - tail
    rng = random.Random(seed)
    fewest = max(1, round(duration_s / SLOWEST_S))
    count = rng.randint(fewest, max(fewest, round(duration_s / FASTEST_S))) if faults is None else faults
    if not 1 <= count <= MAX_FAULTS:
        raise ValueError(f"a game day has 1 to {MAX_FAULTS} faults, not {count}")
    if window / count < 10:
        raise ValueError(f"{count} faults do not fit in {describe_duration(duration_s)}: give a longer day or fewer")
    gap = min(MIN_GAP_S, window / count)
    # n points in what the gaps leave free, then each pushed by the gaps before it
    free = window - (count - 1) * gap
    starts = sorted(rng.uniform(0, free) for _ in range(count))
    kinds = catalogue(topology, modes)
    return [_draw(rng, i + 1, round(lead + t + i * gap, 1), kinds) for i, t in enumerate(starts)]


def _draw(rng: random.Random, index: int, at_s: float, kinds: tuple[str, ...]) -> GameDayFault:
    fault = rng.choice(kinds)
    server = rng.choice(SERVERS)
    heals: float | None = round(rng.uniform(*HEAL_AFTER_S))
    params: dict[str, Any] = {"server": server}
    if fault == "power-off":  # a power cut that ends, or a server that stays down until someone powers it on
        heals = heals if rng.random() < 0.5 else None
    elif fault == "crash-tomcat":
        heals = None  # ipics_nm restarts it after 60 emulated seconds
    elif fault == "cut-link":  # the WAN between the sites; the team cannot mend it, so it mends itself
        params["direction"] = rng.choice(["both", "both", "outbound", "inbound"])
    elif fault == "skew-clock":  # a wrong NTP server: ntpsetup (or date) in the shell sets it right
        params["seconds"] = round(rng.choice([-1, 1]) * rng.uniform(31, 120))
        heals = None
    elif fault == "fill-txlog":  # the standby down for long: the active's log fills
        params = {"server": "active", "percent": rng.choice([80, 95])}
        heals = None
    elif fault == "packet-loss":  # between the servers' sites, each way
        params = {"a": "primary", "b": "secondary", "percent": rng.choice([5, 30])}
    # isolate-clients: the clients' site no longer reaches the server; heals by itself
    return GameDayFault(index, at_s, fault, params, heals)
