"""Grading an exercise run from what the servers saw: pure, no I/O, no clock.

In: the trainee's actions from both servers' audit trails (each with the emulated
seconds since the setup ended), the servers' final status, the records each server
discarded during the run, when the goal was first met, how long the run lasted.
Out: the grade as a run's result carries it (``Grade.to_json``): the score out of 100,
passed or failed, every deduction with the chapter's words, and each step the trainee
took with its verdict.

The rules, in the order a trainer would go through them:

- each procedure step not done (by the servers' say: done, not refused) costs its
  points; a step done before one of a lower order is out of order;
- each mistake the exercise names, tried (done or refused), costs its points once, with
  the chapter's reason;
- the goal not met costs ``GOAL_POINTS`` and fails the run; met after the time limit,
  ``OVERTIME_POINTS`` and fails it too;
- each record lost beyond the least possible loss costs ``LOSS_POINTS`` (at most
  ``LOSS_POINTS_MAX``).

A run passes when the goal is met within the time limit and the score reaches the
exercise's pass mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ipics_lab.exercise.model import (
    GOAL_POINTS,
    LOSS_POINTS,
    LOSS_POINTS_MAX,
    ORDER_POINTS,
    OVERTIME_POINTS,
    VIA_WORDS,
    Exercise,
    Goal,
    LoginGoal,
    Mistake,
    ProcedureStep,
)
from ipics_lab.scenario.checks import word
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.scenario.model import Expectation
from ipics_server.audit import SESSION_ACTIONS, reconnected_console

#: tables of who is logged in, not data anyone made: Go Standby logs every session out
#: (the chapter, Method 1 step 2), so their records going is no loss
SESSION_TABLES = ("sessions", "phone_sessions")


def records_lost(discarded: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each server's discarded records that were data (not sessions)."""
    return {server: [d for d in v if d.get("table") not in SESSION_TABLES] for server, v in discarded.items()}


@dataclass(frozen=True)
class SeenAction:
    """One entry of a server's audit trail (server/audit.py) and when it happened, in
    emulated seconds since the setup ended (on the lab's clock, whatever the server's)."""

    server: str
    at_s: float
    entry: dict[str, Any]

    @property
    def action(self) -> str:
        return str(self.entry.get("action", ""))

    @property
    def ok(self) -> bool:
        return bool(self.entry.get("ok"))

    @property
    def via(self) -> str:
        return str(self.entry.get("via", ""))


@dataclass
class Observation:
    actions: list[SeenAction]
    #: each server's status at the end (None: not answering)
    final: dict[str, dict[str, Any] | None]
    #: emulated seconds the run lasted after the setup
    elapsed_s: float
    #: when the goal first held (emulated seconds after the setup), None: never
    goal_met_at_s: float | None = None
    #: each server's discarded-log entries written during the run
    discarded: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: floor requests the media router saw while no server was active (None: not measured)
    ptt_while_offline: int | None = None
    hints_released: list[str] = field(default_factory=list)


@dataclass
class Deduction:
    points: int
    what: str
    chapter: str

    def to_json(self) -> dict[str, Any]:
        return {"points": self.points, "what": self.what, "chapter": self.chapter}


@dataclass
class StepVerdict:
    action: str
    server: str
    via: str
    at: float
    ok: bool
    verdict: str
    chapter: str
    user: str = ""
    command: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "server": self.server,
            "via": self.via,
            "at": self.at,
            "ok": self.ok,
            "verdict": self.verdict,
            "chapter": self.chapter,
            "user": self.user,
            "command": self.command,
        }


@dataclass
class Grade:
    score: int
    passed: bool
    deductions: list[Deduction]
    steps: list[StepVerdict]
    goal_met: bool
    time_to_recover_s: float | None
    time_limit_s: float
    records_lost: int
    least_loss: int
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "passed": self.passed,
            "deductions": [d.to_json() for d in self.deductions],
            "steps": [s.to_json() for s in self.steps],
            "goal_met": self.goal_met,
            "time_to_recover_s": self.time_to_recover_s,
            "time_limit_s": self.time_limit_s,
            "records_lost": self.records_lost,
            "least_loss": self.least_loss,
        }

    def lines(self) -> list[str]:
        """The grade for a reader: the verdict, each deduction with the chapter's words."""
        out = [f"Grade: {self.score}/100, {'PASSED' if self.passed else 'FAILED'}. {self.outcome}"]
        for d in self.deductions:
            out.append(f"  -{d.points}: {d.what}")
            if d.chapter:
                out.append(f'        the chapter: "{d.chapter}"')
        if self.steps:
            out.append("Steps taken:")
            for s in self.steps:
                how = VIA_WORDS.get(s.via, s.via)
                what = s.command or s.action
                state = "done" if s.ok else "refused"
                out.append(f"  {describe_duration(round(s.at))} {s.server}, {how}: {what} ({state}) - {s.verdict}")
        return out


#: what of a person's session meets a goal's ``logins``, by way: an IDC reconnects to
#: the new active by itself (the chapter: "no action is required by the console user");
#: a phone user's exercise is the chapter's manual reconnect (Services, log in again):
#: a phone the new active brought over by a push did not need one.
GOAL_SESSION_ACTIONS = {"api": SESSION_ACTIONS, "phone": ("login",)}
PUSHED = "brought over by the new active's push (its Web access on): nothing was left to do by hand"


# ------------------------------------------------------------------ the goal
def goal_unmet(goal: Goal, final: dict[str, dict[str, Any] | None], actions: list[SeenAction]) -> list[str]:
    """What of the goal does not hold (empty: it is met), in words.  Floor requests
    while offline are counted by the runner, and checked in ``grade``."""
    unmet = [why for e in goal.expect if (why := _server_unmet(e, final.get(e.who)))]
    for want in goal.done:
        if not any(a.ok and a.action == want.action and want.server in ("any", a.server) for a in actions):
            where = "" if want.server == "any" else f" on the {want.server}"
            unmet.append(f"{want.action}{where} not done")
    active = active_server(final)
    for login in goal.logins:
        theirs = [a for a in actions if a.ok and a.via == login.via and a.entry.get("user") == login.user]
        if not any(_meets(login, a) and a.server == active for a in theirs):
            how = "Dial Login from the phone" if login.via == "phone" else "console login or reconnect"
            why = f"no {how} by {login.user} on the active server{f' ({active})' if active else ''}"
            if login.via == "phone" and any(a.action == "reconnect" for a in theirs):
                why += f" (the phone was {PUSHED})"
            unmet.append(why)
    return unmet


def _meets(login: LoginGoal, a: SeenAction) -> bool:
    if a.action not in GOAL_SESSION_ACTIONS[login.via]:
        return False
    # a dispatcher's console: a mobile client of his taking its session back is not it
    return a.action != "reconnect" or login.via != "api" or reconnected_console(a.entry)


def session_words(a: SeenAction) -> str:
    """A person's session arriving (a login, a reconnect) in the grade's words."""
    if a.action == "login":
        return "a login"
    if a.via == "phone":
        return PUSHED
    return (
        "the console reconnected by itself" if reconnected_console(a.entry) else "a mobile client reconnected by itself"
    )


def active_server(final: dict[str, dict[str, Any] | None]) -> str | None:
    actives = [name for name, st in final.items() if st and st.get("role") == "active"]
    return actives[0] if len(actives) == 1 else None


def _server_unmet(exp: Expectation, st: dict[str, Any] | None) -> str:
    if st is None:
        return "" if exp.checks.get("reachable") is False else f"{exp.who}: not answering"
    wrong = []
    for key, wanted in exp.checks.items():
        if key == "reachable":
            seen: Any = True
            holds = wanted is True
        elif key == "txlog_percent":
            seen = float((st.get("replication") or {}).get("transaction_log_used_percent", 0.0))
            holds = seen >= wanted
        else:
            seen = st.get(key)
            holds = seen == wanted
        if not holds:
            wrong.append(f"{key} {word(seen)} (wanted {word(wanted)})")
    return f"{exp.who}: {', '.join(wrong)}" if wrong else ""


# ----------------------------------------------------------------- the grade
def _matches_step(step: ProcedureStep, a: SeenAction) -> bool:
    return (
        a.action == step.action
        and step.server in ("any", a.server)
        and step.via in ("any", a.via)
        and (step.user is None or a.entry.get("user") == step.user)
    )


def _mistake_hits(m: Mistake, a: SeenAction, done_before: set[str]) -> bool:
    return (
        a.action in m.actions
        and m.server in ("any", a.server)
        and m.via in ("any", a.via)
        and (m.before is None or m.before not in done_before)
    )


def grade(exercise: Exercise, seen: Observation) -> Grade:
    actions = sorted(
        (a for a in seen.actions if a.action not in SESSION_ACTIONS or exercise.trainee != "administrator"),
        key=lambda a: a.at_s,
    )
    deductions: list[Deduction] = []
    verdicts: list[StepVerdict] = []

    # each action the trainee took, with what the chapter says of it
    done_steps: dict[int, SeenAction] = {}
    mistakes_hit: dict[int, tuple[Mistake, SeenAction]] = {}
    done_so_far: set[str] = set()
    for a in actions:
        verdict, chapter = "not in the chapter's procedure", ""
        mistake = next((m for m in exercise.mistakes if _mistake_hits(m, a, done_so_far)), None)
        step = next((s for s in exercise.procedure if s.index not in done_steps and _matches_step(s, a)), None)
        if mistake is not None:
            verdict, chapter = f"mistake: {mistake.what}", mistake.chapter
            mistakes_hit.setdefault(mistake.index, (mistake, a))
        elif step is not None and a.ok:
            done_steps[step.index] = a
            verdict, chapter = f"procedure step {step.index}", step.chapter
        elif step is not None:
            verdict, chapter = f"procedure step {step.index}, refused by the server", step.chapter
        elif a.action in SESSION_ACTIONS:
            verdict = session_words(a)
        if a.ok:
            done_so_far.add(a.action)
        verdicts.append(
            StepVerdict(
                a.action,
                a.server,
                a.via,
                round(a.at_s, 1),
                a.ok,
                verdict,
                chapter,
                str(a.entry.get("user", "")),
                a.entry.get("command"),
            )
        )

    for mistake, a in mistakes_hit.values():
        tried = "" if a.ok else " (tried: the server refused it)"
        deductions.append(Deduction(mistake.points, f"{mistake.what}{tried}", mistake.chapter))

    # the procedure: each step done, in its order
    for step in exercise.procedure:
        if step.index not in done_steps:
            deductions.append(Deduction(step.points, f"not done: {step.describe()}", step.chapter))
    for step in exercise.procedure:
        took = done_steps.get(step.index)
        if took is None:
            continue
        later = [
            (s, done_steps[s.index])
            for s in exercise.procedure
            if s.order > step.order and s.index in done_steps and done_steps[s.index].at_s < took.at_s
        ]
        if later:
            s, _ = later[0]
            deductions.append(
                Deduction(
                    ORDER_POINTS,
                    f"out of order: {step.describe()} after {s.describe()} (the chapter: step {step.order} first)",
                    step.chapter,
                )
            )

    # the goal, in time
    goal = exercise.goal
    unmet = goal_unmet(goal, seen.final, actions)
    if goal.ptt_while_offline and (seen.ptt_while_offline or 0) < goal.ptt_while_offline:
        unmet.append(
            f"{seen.ptt_while_offline or 0} push-to-talk floor requests while the console was offline "
            f"(wanted at least {goal.ptt_while_offline})"
        )
    met_at = seen.goal_met_at_s if not unmet else None
    if met_at is None and not unmet:  # met at the end, never seen met before
        met_at = seen.elapsed_s
    goal_met = met_at is not None
    in_time = goal_met and met_at is not None and met_at <= exercise.time_limit_s
    if not goal_met:
        deductions.append(Deduction(GOAL_POINTS, "goal not met: " + "; ".join(unmet), goal.say))
    elif not in_time:
        deductions.append(
            Deduction(
                OVERTIME_POINTS,
                f"recovered in {describe_duration(round(met_at or 0))}, over the time limit of "
                f"{describe_duration(exercise.time_limit_s)}",
                goal.say,
            )
        )

    # records lost beyond the least possible
    data_lost = records_lost(seen.discarded)
    lost = sum(len(v) for v in data_lost.values())
    extra = max(0, lost - goal.least_loss)
    if extra:
        why = sorted({str(d.get("reason", "")) for v in data_lost.values() for d in v} - {""})
        deductions.append(
            Deduction(
                min(LOSS_POINTS_MAX, LOSS_POINTS * extra),
                f"{lost} record{'s' * (lost != 1)} lost where {goal.least_loss} had to be"
                + (f" ({'; '.join(why)})" if why else ""),
                goal.loss_chapter,
            )
        )

    score = max(0, 100 - sum(d.points for d in deductions))
    passed = bool(in_time) and score >= exercise.pass_mark
    if passed:
        outcome = f"The goal was met in {describe_duration(round(met_at or 0))}."
    elif not goal_met:
        outcome = "The goal was not met."
    elif not in_time:
        outcome = "The goal was met, after the time limit."
    else:
        outcome = f"The goal was met, but the score is under the pass mark of {exercise.pass_mark}."
    return Grade(
        score=score,
        passed=passed,
        deductions=deductions,
        steps=verdicts,
        goal_met=goal_met,
        time_to_recover_s=round(met_at, 1) if met_at is not None else None,
        time_limit_s=exercise.time_limit_s,
        records_lost=lost,
        least_loss=goal.least_loss,
        outcome=outcome,
    )


def result(exercise: Exercise, seen: Observation, g: Grade, writes_acknowledged: int = 0) -> dict[str, Any]:
    """A run's result record (``Recorder.stop``), shaped as every run's result is."""
    lost_why = [
        f"{server}: {d.get('description', d.get('key', '?'))}: {d.get('reason', '')}"
        for server, entries in records_lost(seen.discarded).items()
        for d in entries
    ]
    return {
        "grade": g.to_json(),
        "writes": {"acknowledged": writes_acknowledged, "lost": g.records_lost, "lost_why": lost_why, "refused": 0},
        "durations": {"recover_s": g.time_to_recover_s},
        "outcome": g.outcome,
        "hints_released": list(seen.hints_released),
        "exercise": exercise.name,
        # the trainee's push-to-talk presses while his console was offline (None: not measured)
        "ptt_while_offline": seen.ptt_while_offline,
    }
