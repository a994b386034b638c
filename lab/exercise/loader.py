"""Reading an exercise file (TOML) and checking it strictly before anything runs.

The setup's steps are checked as a scenario's are (``ScenarioChecker``), the rest
here: every mistake is an ``ExerciseError`` naming the file, the section (``setup 2``,
``procedure 3``, ``mistake 1``, ``hint 2``, ``goal``) and the key, and why.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ipics_lab.exercise.model import (
    AUDIT_ACTIONS,
    GOAL_SERVER_CHECKS,
    TRAINEES,
    VIAS,
    WHERE,
    ActionDone,
    Exercise,
    Goal,
    Hint,
    LoginGoal,
    Mistake,
    ProcedureStep,
)
from ipics_lab.scenario.loader import ScenarioChecker, _type, find_source
from ipics_lab.scenario.loader import builtin_names as scenario_builtins
from ipics_lab.scenario.model import ACTIONS, USERS, Expectation, ScenarioError, Step

TOP_KEYS = (
    "title",
    "description",
    "trainee",
    "user",
    "time_limit",
    "pass_mark",
    "setup",
    "goal",
    "hint",
    "procedure",
    "mistake",
)
GOAL_KEYS = ("say", "expect", "done", "logins", "ptt_while_offline", "least_loss", "loss_chapter")
HINT_KEYS = ("text", "after")
PROCEDURE_KEYS = ("action", "server", "via", "order", "chapter", "user", "points")
MISTAKE_KEYS = ("action", "what", "chapter", "points", "server", "via", "before")


class ExerciseError(ScenarioError):
    """An exercise file that cannot be used; ``str()`` says where (file, section, key) and why."""


PACKAGE = __package__ or "ipics_lab.exercise"


def builtin_names() -> list[str]:
    return scenario_builtins(PACKAGE)


def load_exercise(name_or_path: str | Path) -> Exercise:
    """A built-in exercise by name, or an exercise file by path."""
    src = find_source(name_or_path, PACKAGE, "exercise", ExerciseError)
    return parse_exercise(src.text, name=src.name, where=src.where, path=src.path)


def parse_exercise(text: str, *, name: str, where: str, path: Path | None = None) -> Exercise:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseError(f"{where}: not valid TOML: {exc}") from None
    return _ExerciseChecker(where).exercise(doc, name, path)


class _ExerciseChecker(ScenarioChecker):
    """The scenario checker's helpers, with an exercise's places in its errors."""

    def __init__(self, where: str):
        super().__init__(where)
        self.section: str | None = None  # "procedure 2", "goal" ...

    def error(self, key: str | None, why: str) -> ExerciseError:
        place = [self.where, *([self.section] if self.section else []), *([f"key '{key}'"] if key else [])]
        return ExerciseError(f"{', '.join(place)}: {why}")

    def text(self, table: dict, key: str, *, required: bool) -> str:
        if key not in table:
            if required:
                raise self.error(key, "missing")
            return ""
        value = table[key]
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.error(key, f"must be a non-empty string, not {_type(value)}")
        return " ".join(value.split())

    def number(self, table: dict, key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def choice(self, table: dict, key: str, choices: tuple[str, ...], default: str | None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.error(key, "missing")
        if not isinstance(value, str) or value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def tables(self, doc: dict, key: str) -> list[dict]:
        raw = doc.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            raise self.error(key, f"must be an array of tables: write each under [[{key}]]")
        return raw

    # --------------------------------------------------------------- the file
    def exercise(self, doc: dict, name: str, path: Path | None) -> Exercise:
        self.unknown_keys(doc, TOP_KEYS, "an exercise")
        title = self.text(doc, "title", required=True)
        description = self.text(doc, "description", required=True)
        trainee = self.choice(doc, "trainee", TRAINEES, "administrator")
        user = None
        if trainee != "administrator":
            user = self.choice(doc, "user", USERS, None)
        elif "user" in doc:
            raise self.error("user", "only a dispatcher's or a phone user's exercise names the trainee's user")
        if "time_limit" not in doc:
            raise self.error("time_limit", 'missing: how long (emulated) the trainee has, e.g. "30min"')
        time_limit_s = self.duration(doc, "time_limit")
        if time_limit_s <= 0:
            raise self.error("time_limit", "must be longer than nothing")
        pass_mark = self.number(doc, "pass_mark", 70, 0, 100)
        setup = self.setup(doc.get("setup"))
        goal = self.goal(doc.get("goal"), trainee)
        hints = [self.hint(i, t) for i, t in enumerate(self.tables(doc, "hint"), start=1)]
        procedure = [self.procedure_step(i, t) for i, t in enumerate(self.tables(doc, "procedure"), start=1)]
        mistakes = [self.mistake(i, t) for i, t in enumerate(self.tables(doc, "mistake"), start=1)]
        self.section = None
        if trainee == "administrator" and not procedure:
            raise self.error("procedure", "an administrator's exercise grades against the chapter: add [[procedure]]")
        return Exercise(
            name=name,
            title=title,
            description=description,
            trainee=trainee,
            setup=setup,
            goal=goal,
            time_limit_s=time_limit_s,
            procedure=procedure,
            mistakes=mistakes,
            hints=hints,
            user=user,
            pass_mark=pass_mark,
            path=path,
        )

    def setup(self, raw: Any) -> list[Step]:
        checker = ScenarioChecker(self.where, step_word="setup")
        try:
            steps = checker.steps(raw, "an exercise")
        except ScenarioError as exc:
            raise ExerciseError(str(exc)) from None
        for step in steps:
            if step.do is not None and ACTIONS[step.do][0] == "admin":
                self.section = f"setup {step.index}"
                raise self.error(
                    "do", f"{step.do!r} is the administrator's action: the trainee's to do; a setup is made by faults"
                )
        return steps

    def goal(self, raw: Any, trainee: str) -> Goal:
        self.section = "goal"
        if not isinstance(raw, dict):
            raise self.error(None, "missing: [goal] with say and what must hold at the end")
        self.unknown_keys(raw, GOAL_KEYS, "the goal")
        say = self.text(raw, "say", required=True)
        expect: tuple[Expectation, ...] = ()
        if "expect" in raw:
            checker = ScenarioChecker(f"{self.where}, goal")
            try:
                expect = checker.expectations(raw["expect"])
            except ScenarioError as exc:
                raise ExerciseError(str(exc)) from None
            for e in expect:
                bad = [k for k in e.checks if k not in GOAL_SERVER_CHECKS]
                if e.subject != "server" or bad or e.within_s:
                    raise self.error(
                        "expect",
                        f"a goal checks the servers' final status only ({', '.join(GOAL_SERVER_CHECKS)}), "
                        f"not {e.describe()}",
                    )
        done = []
        for t in self.tables(raw, "done"):
            self.unknown_keys(t, ("action", "server"), "an action the goal needs done")
            done.append(ActionDone(self.action(t, "action"), self.choice(t, "server", WHERE, "any")))
        logins = []
        for t in self.tables(raw, "logins"):
            self.unknown_keys(t, ("user", "via"), "a login of the goal")
            logins.append(
                LoginGoal(self.choice(t, "user", USERS, None), self.choice(t, "via", ("api", "phone"), "api"))
            )
        ptt = self.number(raw, "ptt_while_offline", 0, 0, 1000)
        if not (expect or done or logins or ptt):
            raise self.error(None, "nothing to check: give expect, done, logins or ptt_while_offline")
        if trainee == "administrator" and (logins or ptt):
            raise self.error("logins", "logins and ptt_while_offline are a dispatcher's or a phone user's goal")
        return Goal(
            say=say,
            expect=expect,
            done=tuple(done),
            logins=tuple(logins),
            ptt_while_offline=ptt,
            least_loss=self.number(raw, "least_loss", 0, 0, 100_000),
            loss_chapter=self.text(raw, "loss_chapter", required=False),
        )

    def action(self, table: dict, key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or value not in AUDIT_ACTIONS:
            raise self.error(key, f"unknown action {value!r} (the audit trail's actions: {', '.join(AUDIT_ACTIONS)})")
        return value

    def hint(self, index: int, t: dict) -> Hint:
        self.section = f"hint {index}"
        self.unknown_keys(t, HINT_KEYS, "a hint")
        return Hint(index, self.text(t, "text", required=True), self.duration(t, "after") if "after" in t else 0.0)

    def procedure_step(self, index: int, t: dict) -> ProcedureStep:
        self.section = f"procedure {index}"
        self.unknown_keys(t, PROCEDURE_KEYS, "a procedure step")
        user = t.get("user")
        if user is not None and user not in ("ipicsadmin", "informix"):
            raise self.error("user", f"the shell's users are ipicsadmin and informix, not {user!r}")
        return ProcedureStep(
            index=index,
            action=self.action(t, "action"),
            server=self.choice(t, "server", WHERE, "any"),
            via=self.choice(t, "via", VIAS, "any"),
            order=self.number(t, "order", index, 1, 1000),
            chapter=self.text(t, "chapter", required=True),
            user=user,
            points=self.number(t, "points", 15, 0, 100),
        )

    def mistake(self, index: int, t: dict) -> Mistake:
        self.section = f"mistake {index}"
        self.unknown_keys(t, MISTAKE_KEYS, "a mistake")
        raw = t.get("action")
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names:
            raise self.error("action", "must be an action or a list of actions")
        actions = tuple(self.action({"action": n}, "action") for n in names)
        before = self.action(t, "before") if "before" in t else None
        return Mistake(
            index=index,
            actions=actions,
            what=self.text(t, "what", required=True),
            chapter=self.text(t, "chapter", required=True),
            points=self.number(t, "points", 20, 0, 100),
            server=self.choice(t, "server", WHERE, "any"),
            via=self.choice(t, "via", VIAS, "any"),
            before=before,
        )
