"""What a scenario is made of: steps with narration, an action and expectations.

The tables here are the format's vocabulary: every action a step can ``do`` with its
parameters, and every check an ``expect`` can make.  ``loader`` validates a file
against them; ``runner`` carries them out.  docs/scenarios.md describes the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ipics_clients.session import State
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.seed import DEMO_CHANNELS, DEMO_USERS
from ipics_lab.sites import SITE_OCTETS
from ipics_server.core.roles import HAState, Role, StandbyServerStatus

SERVERS = ("primary", "secondary")
USERS = tuple(u for u, _role, _name in DEMO_USERS)
OPERATORS = tuple(u for u, role, _name in DEMO_USERS if role == "operator")
CHANNELS = tuple(DEMO_CHANNELS)
DIRECTIONS = ("both", "outbound", "inbound")
SITES = tuple(SITE_OCTETS)  # the sites topology's sites


class ScenarioError(Exception):
    """A scenario file that cannot be used; ``str()`` says where (file, step, key) and why."""


@dataclass(frozen=True)
class Param:
    """One parameter of an action: what kind of value, and whether it must be given."""

    #: server | login-server | user | operator | channel | new-channel | direction | site |
    #: number | percent | duration
    kind: str
    required: bool = True
    default: Any = None


#: action -> (group, parameters); the group decides who carries it out and the timeline kind
ACTIONS: dict[str, tuple[str, dict[str, Param]]] = {
    # faults (the trainer's fault buttons)
    "power-off": ("fault", {"server": Param("server")}),
    "power-on": ("fault", {"server": Param("server")}),
    "crash-tomcat": ("fault", {"server": Param("server")}),
    "cut-link": ("fault", {"server": Param("server"), "direction": Param("direction", False, "both")}),
    "heal-link": ("fault", {"server": Param("server")}),
    # the sites topology's kernel faults (refused with the reason on loopback)
    "packet-loss": ("fault", {"a": Param("site"), "b": Param("site"), "percent": Param("percent")}),
    "isolate-clients": ("fault", {"server": Param("server")}),
    "heal-network": ("fault", {}),
    "skew-clock": ("fault", {"server": Param("server"), "seconds": Param("number")}),
    "fill-txlog": ("fault", {"server": Param("server", False, "primary"), "percent": Param("percent", False, 80)}),
    # the administrator's actions of the chapter
    "failover-now": ("admin", {}),
    "go-standby": ("admin", {"server": Param("server", False, "secondary")}),
    "repair": ("admin", {}),
    "rsync": ("admin", {}),
    "unconfigure": ("admin", {"server": Param("server", False, "primary")}),
    "configure": ("admin", {}),
    # what people do at their consoles
    "login": ("client", {"user": Param("user"), "server": Param("login-server")}),
    "logout": ("client", {"user": Param("user")}),
    "assign-channel": ("client", {"channel": Param("channel"), "user": Param("user"), "as": Param("operator")}),
    "create-channel": ("client", {"name": Param("new-channel"), "as": Param("operator")}),
    "ptt-press": ("client", {"user": Param("user"), "channel": Param("channel")}),
    "ptt-release": ("client", {"user": Param("user"), "channel": Param("channel")}),
    "wait": ("wait", {"duration": Param("duration")}),
}

#: expectation subject -> {check key: value kind}; a check of kind ``choice:...`` takes one of the listed words
SERVER_CHECKS: dict[str, str | tuple[str, ...]] = {
    "role": tuple(r.value for r in Role),
    "standby_server_status": tuple(s.value for s in StandbyServerStatus),
    "ha": tuple(h.value for h in HAState),
    "split_brain": "bool",
    "reachable": "bool",
    "message": "text",
    "txlog_percent": "percent",
}
CLIENT_CHECKS: dict[str, str | tuple[str, ...]] = {
    "state": tuple(s.value for s in State),
    "on": SERVERS,
    "channels_contain": "channels",
    "channels_lack": "channels",
    "notice": "text",
}
LISTENER_CHECKS: dict[str, str | tuple[str, ...]] = {"hears": "user", "channel": "channel"}
SUBJECTS = {"server": SERVER_CHECKS, "client": CLIENT_CHECKS, "listener": LISTENER_CHECKS}


@dataclass(frozen=True)
class Expectation:
    subject: str  # server | client | listener
    who: str  # the server's name, or the user
    checks: dict[str, Any]
    within_s: float = 0.0

    def describe(self) -> str:
        words = []
        for key, wanted in self.checks.items():
            if key == "txlog_percent":
                words.append(f"transaction log at least {wanted:g} %")
            elif key == "message":
                words.append(f"a message containing {wanted!r}")
            elif key == "notice":
                words.append(f"a notice containing {wanted!r}")
            elif key in ("channels_contain", "channels_lack"):
                verb = "has" if key == "channels_contain" else "lacks"
                words.append(f"{verb} channel{'s' * (len(wanted) > 1)} {', '.join(wanted)}")
            elif key == "on":
                words.append(f"on the {wanted}")
            elif key == "hears":
                words.append(f"hears {wanted} on {self.checks['channel']}")
            elif key == "channel" and self.subject == "listener":
                continue
            elif isinstance(wanted, bool):
                words.append(f"{key} {'true' if wanted else 'false'}")
            else:
                words.append(f"{key} {wanted}")
        when = f" (within {describe_duration(self.within_s)})" if self.within_s else ""
        return f"{self.who}: {', '.join(words)}{when}"


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, as in the report
    say: str = ""
    do: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    at_s: float | None = None  # emulated seconds since the scenario started
    after_s: float | None = None  # emulated seconds after the previous step ended
    expect: tuple[Expectation, ...] = ()
    #: a side-by-side scenario's expectations in one mode only (mode name -> expectations)
    expect_by_mode: dict[str, tuple[Expectation, ...]] = field(default_factory=dict)

    def action_text(self) -> str:
        """The action in a few words, e.g. "cut-link primary outbound", "" if none."""
        if self.do is None:
            return ""
        p = self.params
        if self.do == "assign-channel":
            return f"assign-channel {p['channel']} to {p['user']} as {p['as']}"
        if self.do == "create-channel":
            return f"create-channel {p['name']!r} as {p['as']}"
        if self.do == "login":
            where = "the server selected in the selector" if p["server"] == "selected" else f"the {p['server']}"
            return f"login {p['user']} to {where}"
        if self.do == "wait":
            return f"wait {describe_duration(p['duration'])}"
        if self.do == "skew-clock":
            return f"skew-clock {p['server']} {p['seconds']:+g} s"
        if self.do == "fill-txlog":
            return f"fill-txlog {p['server']} to {p['percent']:g} %"
        return " ".join([self.do, *(str(v) for v in p.values())])


#: a side-by-side scenario's checks of a whole run in one mode (``[outcome.MODE]``)
OUTCOME_CHECKS = {
    "split_brain": "bool",  # both servers active at the same time, at some moment of the run
    "writes_acknowledged": "count",
    "writes_refused": "count",
    "writes_lost": "count",  # acknowledged, and not in the active server's data at the end
}
#: how a count is compared: 2 (exactly), ">= 1", "<= 3"
COUNT_OPERATORS = ("==", ">=", "<=")


@dataclass(frozen=True)
class Count:
    op: str  # one of COUNT_OPERATORS
    n: int

    def holds(self, value: int) -> bool:
        return {"==": value == self.n, ">=": value >= self.n, "<=": value <= self.n}[self.op]

    def describe(self) -> str:
        return f"{self.n}" if self.op == "==" else f"{'at least' if self.op == '>=' else 'at most'} {self.n}"


@dataclass(frozen=True)
class Outcome:
    """What one mode's whole run must show, and the narration that explains it."""

    mode: str
    say: str = ""
    checks: dict[str, Any] = field(default_factory=dict)  # OUTCOME_CHECKS key -> bool | Count


@dataclass
class Scenario:
    name: str
    title: str
    description: str
    steps: list[Step]
    path: Path | None = None
    #: side by side: the same steps run on one pair per mode (``ipics_lab.modes`` names)
    compare: tuple[str, ...] = ()
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def for_mode(self, mode: str) -> Scenario:
        """The steps as they run in ``mode``: every step's common expectations, then
        the mode's own."""
        if mode not in self.compare:
            raise ValueError(f"{self.name} is not compared in mode {mode!r} (its modes: {', '.join(self.compare)})")
        steps = [replace(s, expect=s.expect + s.expect_by_mode.get(mode, ()), expect_by_mode={}) for s in self.steps]
        return replace(self, steps=steps, compare=(), outcomes={})
