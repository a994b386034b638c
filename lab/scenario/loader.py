"""Reading a scenario file (TOML) and checking it strictly before anything runs.

Every mistake is a ``ScenarioError`` naming the file, the step number and the key:
an unknown key, a wrong type, an unknown action, user, server or channel, a bad
duration, an ``at`` earlier than the step before, a user acting before logging in.
A scenario that loads runs without surprises from its own text.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ipics_lab.modes import COMPARED, LabModes, ModesError
from ipics_lab.scenario.durations import parse_duration
from ipics_lab.scenario.model import (
    ACTIONS,
    CHANNELS,
    COUNT_OPERATORS,
    DIRECTIONS,
    OPERATORS,
    OUTCOME_CHECKS,
    SERVERS,
    SITES,
    SUBJECTS,
    USERS,
    Count,
    Expectation,
    Outcome,
    Param,
    Scenario,
    ScenarioError,
    Step,
)

TOP_KEYS = ("title", "description", "compare", "outcome", "step")
OUTCOME_KEYS = ("say", *OUTCOME_CHECKS)
STEP_KEYS = ("at", "after", "say", "do", "expect")
SUFFIX = ".toml"
#: a file larger than this is not a scenario someone wrote
MAX_FILE_BYTES = 1_000_000


#: earlier names of built-in scenarios, still accepted (the contract's names are the files')
ALIASES = {"split-brain-clock-skew": "clock-skew-split-brain", "maintenance-failover": "manual-failover"}


def builtin_names(package: str | None = None) -> list[str]:
    """The scenarios shipped with the lab, by name (``package``: another kind's, the
    exercises' say, in its own ``builtin`` folder)."""
    folder = resources.files(package or __package__) / "builtin"
    return sorted(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.name.endswith(SUFFIX))


@dataclass(frozen=True)
class Source:
    """A scenario's (an exercise's) text and where it came from, for the parser."""

    text: str
    name: str
    where: str
    path: Path | None


def find_source(name_or_path: str | Path, package: str, kind: str, error: type[ScenarioError]) -> Source:
    """A built-in of ``package`` by name, or a file by path; ``error`` saying why not."""
    text_name = str(name_or_path)
    builtins = builtin_names(package)
    if isinstance(name_or_path, str) and text_name in builtins:
        source = resources.files(package) / "builtin" / f"{text_name}{SUFFIX}"
        return Source(source.read_text(encoding="utf-8"), text_name, f"built-in {text_name}", None)
    path = Path(name_or_path)
    return Source(read_file(path, kind, builtins, error), path.stem, str(path), path)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (or an earlier name, ``ALIASES``), or a scenario file by path."""
    if isinstance(name_or_path, str) and name_or_path in ALIASES and not Path(name_or_path).is_file():
        name_or_path = ALIASES[name_or_path]
    src = find_source(name_or_path, __package__ or "ipics_lab.scenario", "scenario", ScenarioError)
    return parse_scenario(src.text, name=src.name, where=src.where, path=src.path)


def read_file(path: Path, kind: str, builtins: list[str], error: type[ScenarioError]) -> str:
    """A scenario's (an exercise's: ``kind``) file, or ``error`` saying why not."""
    if not path.is_file():
        raise error(f"{path}: no such {kind} file, and not a built-in {kind} ({', '.join(builtins)})")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise error(f"{path}: too large for a {kind} file (over {MAX_FILE_BYTES} bytes)")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read: {exc}") from None


def parse_scenario(text: str, *, name: str, where: str, path: Path | None = None) -> Scenario:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    return ScenarioChecker(where).scenario(doc, name, path)


class ScenarioChecker:
    """Walks one file's document, remembering what earlier steps set up (who is logged
    in, which channels exist) so later steps can be checked against it."""

    def __init__(self, where: str, step_word: str = "step"):
        self.where = where
        self.step_word = step_word  # what a step is called in errors: step (an exercise's: setup)
        self.step_no: int | None = None
        self.expect_no: int | None = None
        self.logged_in: set[str] = set()
        self.consoles: set[str] = set()  # users with a console (logged in at some point)
        self.channels: set[str] = set(CHANNELS)
        self.compare: tuple[str, ...] = ()  # a side-by-side scenario's modes, by their names

    # ---------------------------------------------------------------- errors
    def error(self, key: str | None, why: str) -> ScenarioError:
        place = [self.where]
        if self.step_no is not None:
            place.append(f"{self.step_word} {self.step_no}")
        if self.expect_no is not None:
            place.append(f"expect {self.expect_no}")
        if key is not None:
            place.append(f"key '{key}'")
        return ScenarioError(f"{', '.join(place)}: {why}")

    def unknown_keys(self, table: dict, allowed, what: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(key, f"unknown key for {what} (allowed: {', '.join(allowed)})")

    def text(self, table: dict, key: str, *, required: bool) -> str:
        if key not in table:
            if required:
                raise self.error(key, "missing")
            return ""
        value = table[key]
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_type(value)}")
        if required and not value.strip():
            raise self.error(key, "must not be empty")
        return value.strip()

    # --------------------------------------------------------------- the file
    def scenario(self, doc: dict, name: str, path: Path | None) -> Scenario:
        self.unknown_keys(doc, TOP_KEYS, "a scenario")
        title = self.text(doc, "title", required=True)
        description = self.text(doc, "description", required=True)
        if "compare" in doc:
            self.compare = self.modes(doc["compare"])
        outcomes = self.outcomes(doc["outcome"]) if "outcome" in doc else {}
        steps = self.steps(doc.get("step"), "a scenario")
        return Scenario(
            name=name,
            title=title,
            description=description,
            steps=steps,
            path=path,
            compare=self.compare,
            outcomes=outcomes,
        )

    def steps(self, raw_steps: Any, what: str) -> list[Step]:
        """The steps under ``[[step]]`` (an exercise's under ``[[setup]]``: ``step_word``)."""
        word = self.step_word
        if raw_steps is None:
            raise self.error(word, f"missing: {what} needs at least one [[{word}]]")
        if not isinstance(raw_steps, list) or not all(isinstance(s, dict) for s in raw_steps):
            raise self.error(word, f"must be an array of tables: write each step under [[{word}]]")
        if not raw_steps:
            raise self.error(word, f"{what} needs at least one [[{word}]]")
        steps, last_at = [], None
        for i, raw in enumerate(raw_steps, start=1):
            self.step_no = i
            step = self.step(raw, i)
            if step.at_s is not None:
                if last_at is not None and step.at_s < last_at[1]:
                    raise self.error("at", f"{raw['at']!r} is earlier than {word} {last_at[0]}'s at")
                last_at = (i, step.at_s)
            steps.append(step)
        self.step_no = None
        return steps

    # ------------------------------------------------------- side by side
    def modes(self, raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
            raise self.error("compare", 'must be an array of modes: compare = ["ipics", "witness+synchronous-strict"]')
        names = []
        for spec in raw:
            try:
                names.append(LabModes.parse(spec).name)
            except ModesError as exc:
                raise self.error("compare", str(exc)) from None
        if len(set(names)) != len(names) or not 2 <= len(names) <= len(COMPARED):
            raise self.error("compare", f"name 2 to {len(COMPARED)} different modes, not {', '.join(raw) or 'none'}")
        return tuple(names)

    def mode(self, spec: str, key: str) -> str:
        """A mode as a key of ``expect`` or ``outcome``: one of ``compare``'s, any spelling."""
        try:
            name = LabModes.parse(spec).name
        except ModesError:
            name = None
        if name not in self.compare:
            raise self.error(key, f"{spec!r} is not one of the modes compared ({', '.join(self.compare)})")
        return name

    def outcomes(self, raw: Any) -> dict[str, Outcome]:
        if not self.compare:
            raise self.error("outcome", "only a scenario that compares modes has outcomes: add compare = [...]")
        if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
            raise self.error("outcome", "must be a table per mode: [outcome.ipics] split_brain = true")
        out = {}
        for spec, table in raw.items():
            mode = self.mode(spec, "outcome")
            self.unknown_keys(table, OUTCOME_KEYS, f"the outcome of {mode}")
            checks: dict[str, Any] = {}
            for key, kind in OUTCOME_CHECKS.items():
                if key not in table:
                    continue
                value = table[key]
                if kind == "bool":
                    if not isinstance(value, bool):
                        raise self.error(key, f"must be true or false, not {_type(value)}")
                    checks[key] = value
                else:
                    checks[key] = self.count(key, value)
            out[mode] = Outcome(mode, self.text(table, "say", required=False), checks)
        return out

    def count(self, key: str, value: Any) -> Count:
        """``2`` (exactly), ``">= 1"``, ``"<= 3"``."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return Count("==", value)
        if isinstance(value, str):
            op, _, n = value.strip().partition(" ")
            if op in COUNT_OPERATORS and n.strip().isdigit():
                return Count(op, int(n))
        raise self.error(key, f'must be a count: a whole number (exactly), or ">= N" or "<= N", not {value!r}')

    # ---------------------------------------------------------------- a step
    def step(self, raw: dict, index: int) -> Step:
        do = raw.get("do")
        if do is not None and not isinstance(do, str):
            raise self.error("do", f"must be a string naming an action, not {_type(do)}")
        if do is not None and do not in ACTIONS:
            raise self.error("do", f"unknown action {do!r} (actions: {', '.join(ACTIONS)})")
        params_spec = ACTIONS[do][1] if do else {}
        self.unknown_keys(raw, (*STEP_KEYS, *params_spec), f"do = {do!r}" if do else "a step without 'do'")
        if "at" in raw and "after" in raw:
            raise self.error("after", "give 'at' (since the start) or 'after' (since the previous step), not both")
        at_s = self.duration(raw, "at") if "at" in raw else None
        after_s = self.duration(raw, "after") if "after" in raw else None
        say = self.text(raw, "say", required=False)
        params = {key: self.param(raw, key, spec) for key, spec in params_spec.items()}
        if do is None and not say and "expect" not in raw:
            raise self.error(None, "an empty step: give it 'say', 'do' or 'expect'")
        self.follow(do, params)
        expect, by_mode = self.step_expectations(raw["expect"]) if "expect" in raw else ((), {})
        return Step(
            index=index,
            say=say,
            do=do,
            params=params,
            at_s=at_s,
            after_s=after_s,
            expect=expect,
            expect_by_mode=by_mode,
        )

    def step_expectations(self, raw: Any) -> tuple[tuple[Expectation, ...], dict[str, tuple[Expectation, ...]]]:
        """Expectations for every mode, or (comparing modes) a table of them per mode:
        ``expect.ipics = {...}``."""
        if self.compare and isinstance(raw, dict) and raw and not any(s in raw for s in SUBJECTS):
            return (), {self.mode(spec, "expect"): self.expectations(items) for spec, items in raw.items()}
        return self.expectations(raw), {}

    def duration(self, table: dict, key: str) -> float:
        try:
            return parse_duration(table[key])
        except (ValueError, TypeError) as exc:
            raise self.error(key, str(exc)) from None

    def param(self, raw: dict, key: str, spec: Param) -> Any:
        if key not in raw:
            if spec.required:
                raise self.error(key, "missing")
            return spec.default
        value = raw[key]
        kind = spec.kind
        if kind == "duration":
            return self.duration(raw, key)
        if kind in ("number", "percent"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(key, f"must be a number, not {_type(value)}")
            if kind == "percent" and not 0 < value <= 100:
                raise self.error(key, f"must be a percentage between 0 and 100, not {value}")
            return value
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_type(value)}")
        choices = {
            "server": SERVERS,
            "login-server": (*SERVERS, "selected"),
            "user": USERS,
            "operator": OPERATORS,
            "direction": DIRECTIONS,
            "site": SITES,
        }.get(kind)
        if choices is not None and value not in choices:
            what = {"user": "user", "operator": "operator (only an operator assigns and creates channels)"}.get(
                kind, "value"
            )
            raise self.error(key, f"unknown {what} {value!r} (one of: {', '.join(choices)})")
        if kind == "channel" and value not in self.channels:
            raise self.error(
                key,
                f"unknown channel {value!r} (the demo channels {', '.join(CHANNELS)}, "
                "or one made by an earlier create-channel)",
            )
        if kind == "new-channel" and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def follow(self, do: str | None, params: dict) -> None:
        """Keep track of who is logged in and which channels exist, so a step that needs
        a console (logout, assign, PTT) is refused where it would fail at run time."""
        acting = (
            params.get("as")
            if do in ("assign-channel", "create-channel")
            else (params.get("user") if do in ("logout", "ptt-press", "ptt-release") else None)
        )
        if acting is not None and acting not in self.logged_in:
            key = "as" if do in ("assign-channel", "create-channel") else "user"
            raise self.error(key, f"{acting} is not logged in at this step (add a login step before)")
        if do == "login":
            self.logged_in.add(params["user"])
            self.consoles.add(params["user"])
        elif do == "logout":
            self.logged_in.discard(params["user"])
        elif do == "create-channel":
            self.channels.add(params["name"])

    # --------------------------------------------------------- expectations
    def expectations(self, raw: Any) -> tuple[Expectation, ...]:
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not items or not all(isinstance(e, dict) for e in items):
            raise self.error(
                "expect", 'must be a table, or an array of tables: expect = [{ server = "primary", role = "active" }]'
            )
        out = []
        for n, item in enumerate(items, start=1):
            self.expect_no = n if len(items) > 1 or not isinstance(raw, dict) else None
            out.append(self.expectation(item))
        self.expect_no = None
        return tuple(out)

    def expectation(self, item: dict) -> Expectation:
        subjects = [s for s in SUBJECTS if s in item]
        if len(subjects) != 1:
            raise self.error(
                "expect",
                "each expectation names exactly one of 'server', 'client' or 'listener' "
                f"(found {', '.join(subjects) or 'none'})",
            )
        subject = subjects[0]
        table = SUBJECTS[subject]
        self.unknown_keys(item, (subject, "within", *table), f"a {subject} expectation")
        who = item[subject]
        if not isinstance(who, str):
            raise self.error(subject, f"must be a string, not {_type(who)}")
        if subject == "server" and who not in SERVERS:
            raise self.error(subject, f"unknown server {who!r} (one of: {', '.join(SERVERS)})")
        if subject != "server":
            if who not in USERS:
                raise self.error(subject, f"unknown user {who!r} (one of: {', '.join(USERS)})")
            if who not in self.consoles:
                raise self.error(subject, f"{who} has no console yet (add a login step before)")
        within = self.duration(item, "within") if "within" in item else 0.0
        checks = {key: self.check(item, key, kind) for key, kind in table.items() if key in item}
        if not checks:
            raise self.error(subject, f"nothing to check: add one of {', '.join(table)}")
        if subject == "listener" and set(checks) != {"hears", "channel"}:
            raise self.error(
                "hears" if "hears" not in checks else "channel",
                "a listener expectation needs both 'hears' (the talker) and 'channel'",
            )
        return Expectation(subject=subject, who=who, checks=checks, within_s=within)

    def check(self, item: dict, key: str, kind) -> Any:
        value = item[key]
        if isinstance(kind, tuple):
            if not isinstance(value, str) or value not in kind:
                raise self.error(key, f"must be one of {', '.join(map(repr, kind))}, not {value!r}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.error(key, f"must be true or false, not {_type(value)}")
            return value
        if kind == "percent":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                raise self.error(key, f"must be a percentage between 0 and 100, not {value!r}")
            return value
        if kind == "channels":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                raise self.error(key, "must be a channel name or a list of channel names")
            for n in names:
                if n not in self.channels:
                    raise self.error(
                        key,
                        f"unknown channel {n!r} (the demo channels {', '.join(CHANNELS)}, "
                        "or one made by an earlier create-channel)",
                    )
            return tuple(names)
        if kind == "user":
            if value not in USERS:
                raise self.error(key, f"unknown user {value!r} (one of: {', '.join(USERS)})")
            if value not in self.consoles:
                raise self.error(key, f"{value} has no console yet (add a login step before)")
            return value
        if kind == "channel":
            if not isinstance(value, str) or value not in self.channels:
                raise self.error(key, f"unknown channel {value!r}")
            return value
        # text
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, not {value!r}")
        return value


def _type(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
