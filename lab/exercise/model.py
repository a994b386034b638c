"""What an exercise is made of: a starting situation, a goal, a time limit, hints, and
the chapter's procedure with the mistakes it warns against.

The setup's steps are a scenario's (``ipics_lab.scenario``: faults, waits, what people
do at their consoles, expectations); everything after the setup is the trainee's, done
through the real interfaces and graded from what the servers saw (``grading``).
docs/exercises.md describes the file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ipics_lab.scenario.model import Expectation, Step
from ipics_server.audit import ACTION_BY_PATH, SESSION_ACTIONS
from ipics_server.audit import VIA_WORDS as AUDIT_VIA_WORDS

#: who the trainee is: which interfaces the run prints for them
TRAINEES = ("administrator", "dispatcher", "phone-user")
#: where an action was done, as the audit trail says (``any``: wherever)
VIAS = ("console", "shell", "api", "phone", "any")
#: the server an action is done on (``any``: either)
WHERE = ("primary", "secondary", "any")
#: the actions the servers' audit trails name (server/audit.py): the console's and the
#: API's forms, the shell's commands, a person's login or reconnect
SERVICE_ACTIONS = tuple(
    f"service-{name}-{verb}"
    for name, verbs in (
        ("ipics", ("start", "stop", "stop-all", "start-all")),
        ("ipics_nm", ("start", "stop", "restart")),
    )
    for verb in verbs
)
AUDIT_ACTIONS = tuple(
    dict.fromkeys(
        (
            *ACTION_BY_PATH.values(),
            "repair",
            "rsync",
            "ntpsetup",
            "set-date",
            "shutdown",
            *SESSION_ACTIONS,
            *SERVICE_ACTIONS,
        )
    )
)
#: server checks a goal may make (a scenario's server expectation, without messages)
GOAL_SERVER_CHECKS = ("role", "standby_server_status", "ha", "split_brain", "reachable", "txlog_percent")

DEFAULT_PASS_MARK = 70
DEFAULT_STEP_POINTS = 15
ORDER_POINTS = 10
GOAL_POINTS = 40
OVERTIME_POINTS = 20
#: per record lost beyond the least possible loss, and at most
LOSS_POINTS, LOSS_POINTS_MAX = 5, 30


@dataclass(frozen=True)
class ActionDone:
    """An action the goal needs done (the servers' audit trail: done, not refused)."""

    action: str
    server: str = "any"


@dataclass(frozen=True)
class LoginGoal:
    """A login by ``user`` (``via`` api: an IDC's login, or its console taking the
    session there by itself after a failover; phone: the Dial Login) on the server
    active at the end, after the setup: where a dispatcher or a phone user went."""

    user: str
    via: str = "api"


@dataclass(frozen=True)
class Goal:
    say: str
    expect: tuple[Expectation, ...] = ()  # server expectations on the final status
    done: tuple[ActionDone, ...] = ()
    logins: tuple[LoginGoal, ...] = ()
    #: floor requests the media router must see from the exercise's user while his
    #: console is offline: after the setup, before his session is on the active server again
    ptt_while_offline: int = 0
    #: records that must be lost at the least (nothing, for a split brain by Method 1)
    least_loss: int = 0
    #: the chapter's words on what loses records (a loss deduction quotes them)
    loss_chapter: str = ""


@dataclass(frozen=True)
class Hint:
    index: int
    text: str
    after_s: float = 0.0  # emulated seconds after the setup: from then on the trainer may release it


@dataclass(frozen=True)
class ProcedureStep:
    """One step of the chapter's procedure: what, on which server, by which interface,
    in which order (steps of the same order in any order among them)."""

    index: int
    action: str
    server: str
    via: str
    order: int
    chapter: str
    user: str | None = None  # as whom (REPAIR as informix)
    points: int = DEFAULT_STEP_POINTS

    def describe(self) -> str:
        where = "either server" if self.server == "any" else f"the {self.server}"
        as_who = f" as {self.user}" if self.user else ""
        how = "" if self.via == "any" else f" ({VIA_WORDS[self.via]})"
        return f"{self.action} on {where}{as_who}{how}"


@dataclass(frozen=True)
class Mistake:
    """A wrong or risky step: any of ``actions`` (on ``server``, by ``via``); with
    ``before``, only while that action has not been done yet."""

    index: int
    actions: tuple[str, ...]
    what: str
    chapter: str
    points: int
    server: str = "any"
    via: str = "any"
    before: str | None = None


VIA_WORDS = {**AUDIT_VIA_WORDS, "any": "any way"}


@dataclass
class Exercise:
    name: str
    title: str
    description: str
    trainee: str
    setup: list[Step]
    goal: Goal
    time_limit_s: float
    procedure: list[ProcedureStep] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    #: the demo user a dispatcher or phone user works as (logged in before the setup)
    user: str | None = None
    pass_mark: int = DEFAULT_PASS_MARK
    path: Path | None = None
