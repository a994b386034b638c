"""A scenario side by side: the same steps on one pair per mode (IPICS's, and a mode
beyond it), at the same time, and what each run cost.

Each mode gets a ``TrainerLab`` of its own (``root/<mode>``, its own servers, media
router and, with a witness, the witness process), a ``Monitor`` that turns the pair's
status into timeline events and sees a split brain (both servers active at the same
moment, talking or not: the chapter's "both servers independently assume the active
server role"), and a ``ScenarioRunner`` that counts a write the servers refuse instead of
failing the step.  At the end every acknowledged write is looked for in the data of the
server that is active: one that is not there is lost.  Then each mode's ``[outcome]``
is checked: split brain or not, writes acknowledged, refused, lost.

The labs start and run concurrently: the same emulated schedule for both, and half the
wall time of one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ipics_lab.modes import LabModes
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.scenario.model import Count, Scenario
from ipics_lab.scenario.report import ACKNOWLEDGED, REFUSED, ScenarioReport, StepReport
from ipics_lab.scenario.runner import ScenarioRunner
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.monitor import Monitor, ServerView
from ipics_lab.trainer.timeline import Event

log = logging.getLogger("ipics.trainer.scenario")

#: real seconds between two looks at a pair's status (a split brain lasts far longer)
WATCH_PERIOD_S = 0.1
#: real seconds to read the active server's data at the end
FINAL_LOOK_S = 20.0
#: the timeline's narration that opens a run (``ScenarioRunner``): the runs' time zero
_START = "scenario "


@dataclass
class ModeRun:
    """One mode's run: its report, its timeline from the scenario's start, and its outcome."""

    mode: str  # ipics_lab.modes name: "ipics", "witness+synchronous-strict"
    label: str  # as the servers' status says it
    report: ScenarioReport
    events: list[dict[str, Any]] = field(default_factory=list)  # timeline events, times from the start
    split_brain: bool = False
    #: emulated seconds from the start: when both servers were first seen active, and last
    split_brain_from_s: float | None = None
    split_brain_until_s: float | None = None
    final_active: list[str] = field(default_factory=list)  # the server(s) active at the end
    explanation: str = ""  # the scenario's narration of this mode (``[outcome.MODE] say``)
    outcome: list[tuple[bool, str]] = field(default_factory=list)  # each outcome check, in words

    @property
    def acknowledged(self) -> int:
        return sum(1 for w in self.report.writes if w.outcome == ACKNOWLEDGED)

    @property
    def refused(self) -> int:
        return sum(1 for w in self.report.writes if w.outcome == REFUSED)

    @property
    def lost(self) -> int:
        return sum(1 for w in self.report.writes if w.lost)

    @property
    def passed(self) -> bool:
        return self.report.passed and all(ok for ok, _ in self.outcome)

    def role_changes(self) -> list[Event]:
        return [e for e in self.timeline() if e.kind == "role"]

    def timeline(self) -> list[Event]:
        return [Event(**e) for e in self.events]

    def split_brain_words(self) -> str:
        if not self.split_brain:
            return "no, never two active servers"
        start = describe_duration(round(self.split_brain_from_s or 0.0))
        end = describe_duration(round(self.split_brain_until_s or 0.0))
        return f"yes, both servers active from {start} to {end}"

    def facts(self) -> str:
        """The run in one sentence of numbers."""
        lost = [f"{w.user}'s {w.what} on the {w.server}" for w in self.report.writes if w.lost]
        return (
            f"Split brain {self.split_brain_words()}. Writes acknowledged {self.acknowledged}, "
            f"refused {self.refused}, lost {self.lost}" + (f" ({'; '.join(lost)})" if lost else "") + "."
        )

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["report"] = self.report.to_json()
        doc.update(acknowledged=self.acknowledged, refused=self.refused, lost=self.lost, passed=self.passed)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ModeRun:
        fields = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__ and k not in ("report", "outcome")}
        return cls(
            **fields,
            report=ScenarioReport.from_json(doc["report"]),
            outcome=[(bool(ok), str(line)) for ok, line in doc.get("outcome", [])],
        )


@dataclass
class CompareReport:
    name: str
    title: str
    description: str
    runs: list[ModeRun]

    @property
    def passed(self) -> bool:
        return bool(self.runs) and all(r.passed for r in self.runs)

    @property
    def cancelled(self) -> bool:
        return any(r.report.cancelled for r in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "passed": self.passed,
            "runs": [r.to_json() for r in self.runs],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CompareReport:
        return cls(doc["name"], doc["title"], doc["description"], [ModeRun.from_json(r) for r in doc["runs"]])

    def lines(self, width: int = 44) -> list[str]:
        """The side-by-side report: each step's result per mode, the counts, the role
        changes, then each mode's explanation and its outcome checks."""
        heads = [r.mode for r in self.runs]
        out = [f"Scenario {self.name}: {self.title}", ""]
        out.append(_row("", heads, width))
        out.append(_row("", ["-" * min(width - 2, max(len(h), 10)) for h in heads], width))
        for i, first in enumerate(self.runs[0].report.steps if self.runs else []):
            out.append(_row(f"step {first.index:>2}", [_step_word(r.report.steps[i]) for r in self.runs], width))
        out.append(_row("split brain", ["yes" if r.split_brain else "no" for r in self.runs], width))
        for what in ("acknowledged", "refused", "lost"):
            out.append(_row(f"writes {what}", [str(getattr(r, what)) for r in self.runs], width))
        out.append(_row("active at the end", [", ".join(r.final_active) or "none" for r in self.runs], width))
        for r in self.runs:
            out += ["", f"{r.mode} ({r.label}): role changes"]
            out += [f"  {describe_duration(round(e.emulated)):>12}  {e.text}" for e in r.role_changes()]
            failed = [f"  step {s.index}: {d}" for s in r.report.steps for d in s.details if "FAILED" in d]
            if r.report.error or failed:
                out.append(f"  stopped: {r.report.error or 'an expectation failed'}")
                out += failed
        for r in self.runs:
            out += ["", f"{r.mode}:"]
            if r.explanation:
                out += textwrap.wrap(r.explanation, 88, initial_indent="  ", subsequent_indent="  ")
            out += textwrap.wrap(r.facts(), 88, initial_indent="  ", subsequent_indent="  ")
            out += [f"  outcome {line}" for _ok, line in r.outcome]
        out.append("")
        verdicts = [
            f"{r.mode} {'cancelled' if r.report.cancelled else 'passed' if r.passed else 'FAILED'}" for r in self.runs
        ]
        word = "PASSED" if self.passed else "CANCELLED" if self.cancelled else "FAILED"
        out.append(f"{word}: {', '.join(verdicts)}")
        return out


def _row(head: str, cells: list[str], width: int) -> str:
    return f"{head:<20}" + "".join(f"{c:<{width}}" for c in cells).rstrip()


def _step_word(s: StepReport) -> str:
    word = "stopped" if s.started and s.passed is None else s.status_word()
    refused = [d for d in s.details if d.startswith("refused:")]
    return f"{word} (write refused)" if refused and word == "ok" else word


def check_outcome(run: ModeRun, checks: dict[str, Any]) -> list[tuple[bool, str]]:
    """Each ``[outcome.MODE]`` check against what the run showed."""
    results = []
    for key, wanted in checks.items():
        if key == "split_brain":
            ok = run.split_brain == wanted
            results.append(
                (
                    ok,
                    f"split brain {'yes' if wanted else 'no'}: {'ok' if ok else 'FAILED'}, seen: "
                    f"{'yes' if run.split_brain else 'no'}",
                )
            )
            continue
        assert isinstance(wanted, Count)
        seen = getattr(run, key.removeprefix("writes_"))
        ok = wanted.holds(seen)
        words = key.replace("_", " ")
        results.append((ok, f"{words} {wanted.describe()}: {'ok' if ok else 'FAILED'}, seen: {seen}"))
    return results


class SplitBrainWatch:
    """Both servers' status, as the trainer panel sees it (timeline events), whether
    both were ever active at the same moment, and (witness mode) who holds the
    witness's vote."""

    def __init__(self, lab):
        self.lab = lab
        # the lab's own monitor when it records (one poller: no event twice on the timeline)
        self.monitor = getattr(lab, "monitor", None) or Monitor(lab.pair, lab.timeline, lab.clock)
        self.monitor.period_s = WATCH_PERIOD_S
        self.monitor.subscribe(self._look)
        self.both_active = False
        self.ever = False  # both seen active at some look
        self.vote_holder: str | None = None

    def _look(self, views: dict[str, ServerView]) -> None:
        for view in views.values():
            if view.name == self.vote_holder or not view.reachable:
                continue
            if (view.status.get("witness") or {}).get("holds_vote"):
                self.vote_holder = view.name
                self.lab.timeline.add("role", f"the witness's vote: {view.name}", view.name)
        both = all(v.reachable and v.role == "active" for v in views.values())
        self.ever |= both
        if both != self.both_active:
            self.both_active = both
            text = "split brain: both servers are active" if both else "split brain over: one active server"
            self.lab.timeline.add("role", text)

    def start(self) -> None:
        self.monitor.start()

    async def stop(self) -> None:
        await self.monitor.stop()


class CompareRun:
    """Run ``scenario`` (one with ``compare``) on one lab per mode; ``run`` returns the
    ``CompareReport``.  ``on_step(mode, step)`` as each step starts and ends."""

    def __init__(
        self,
        scenario: Scenario,
        root: Path,
        *,
        time_scale: float,
        topology: str = "loopback",
        on_step: Callable[[str, StepReport], None] | None = None,
        on_started: Callable[[str], None] | None = None,
        lab_factory: Callable[..., Any] | None = None,
        start_timeout_s: float = 180.0,
    ):
        if not scenario.compare:
            raise ValueError(f"{scenario.name} compares no modes: give it compare = [...]")
        if topology != "loopback" and len(scenario.compare) > 1:
            # the sites topology has one set of namespaces: one lab at a time on a host
            raise ValueError("modes are compared side by side on loopback only")
        self.scenario, self.root, self.time_scale = scenario, root, time_scale
        self.start_timeout_s = start_timeout_s  # real seconds for every lab to be up
        self.on_step, self.on_started = on_step, on_started
        if lab_factory is None:
            from ipics_lab.trainer.lab import TrainerLab

            lab_factory = TrainerLab
        self.labs = {
            mode: lab_factory(root / mode, time_scale=time_scale, topology=topology, modes=LabModes.parse(mode))
            for mode in scenario.compare
        }
        self.runners: dict[str, ScenarioRunner] = {}
        self._cancelled = False

    async def run(self) -> CompareReport:
        """Start every lab (an exception if one does not start: all are stopped), run the
        steps on each at once, look at the final data, stop the labs."""
        try:
            async with asyncio.timeout(self.start_timeout_s):
                await asyncio.gather(*(self._start(mode, lab) for mode, lab in self.labs.items()))
            runs = await asyncio.gather(*(self._run_mode(mode, lab) for mode, lab in self.labs.items()))
        finally:
            self.stop()
        return CompareReport(self.scenario.name, self.scenario.title, self.scenario.description, list(runs))

    async def _start(self, mode: str, lab) -> None:
        await lab.start()
        if self.on_started is not None:
            self.on_started(mode)

    def cancel(self) -> None:
        """Stop every run where it is; ``run`` returns the reports saying so."""
        self._cancelled = True
        for runner in self.runners.values():
            runner.cancel()

    def stop(self) -> None:
        for mode, lab in self.labs.items():
            try:
                lab.stop()
            except Exception:  # one lab that does not stop cleanly must not keep the others running
                log.exception("stopping the %s lab", mode)

    async def _run_mode(self, mode: str, lab) -> ModeRun:
        scenario = self.scenario.for_mode(mode)
        on_step = self.on_step
        runner = ScenarioRunner(
            lab,
            scenario,
            on_step=(lambda sr: on_step(mode, sr)) if on_step is not None else None,
            writes_may_be_refused=True,
        )
        self.runners[mode] = runner
        if self._cancelled:
            runner.cancel()
        watch = SplitBrainWatch(lab)
        await watch.monitor.poll_once()  # the baseline: what is there before the first step
        watch.start()
        try:
            report = await runner.run()
        finally:
            await watch.stop()
        run = ModeRun(mode, lab.modes.label, report, explanation=self._explanation(mode))
        if not report.cancelled:
            run.final_active = await self._look_at_final_data(lab, report)
        self._timeline(run, lab, watch)
        outcome = self.scenario.outcomes.get(mode)
        if outcome is not None and not report.cancelled:
            run.outcome = check_outcome(run, outcome.checks)
        return run

    def _explanation(self, mode: str) -> str:
        outcome = self.scenario.outcomes.get(mode)
        return outcome.say if outcome else ""

    def _timeline(self, run: ModeRun, lab, watch: SplitBrainWatch) -> None:
        """The lab's events from the scenario's first narration on, its time zero."""
        events = lab.timeline.events
        start = next((e for e in events if e.kind == "narration" and e.text.startswith(_START)), None)
        zero_emulated, zero_real = (start.emulated, start.at) if start else (0.0, 0.0)
        kept = [e for e in events if start is None or e.at >= zero_real]
        run.events = [
            {**asdict(e), "at": round(e.at - zero_real, 3), "emulated": round(e.emulated - zero_emulated, 3)}
            for e in kept
        ]
        if watch.ever:
            run.split_brain = True
            began = [e for e in kept if e.text == "split brain: both servers are active"]
            ended = [e for e in kept if e.text == "split brain over: one active server"]
            first = began[0].emulated if began else zero_emulated
            end = ended[-1].emulated if ended and ended[-1].emulated >= first else kept[-1].emulated
            run.split_brain_from_s = round(first - zero_emulated, 1)
            run.split_brain_until_s = round(end - zero_emulated, 1)

    async def _look_at_final_data(self, lab, report: ScenarioReport) -> list[str]:
        """Which server is active now, and is each acknowledged write in its data (in
        both servers' with two actives)?  A write is kept where every active has it."""
        pair = lab.pair
        active = []
        for server in pair.servers:
            with contextlib.suppress(Exception):
                if (await pair.status(server)).get("role") == "active":
                    active.append(server)
        acked = [w for w in report.writes if w.outcome == ACKNOWLEDGED]
        if not active:
            report.error = report.error or "no server was active at the end: lost writes cannot be counted"
            return []
        holdings: list[set[tuple[str, str]]] = []
        for server in active:
            records: set[tuple[str, str]] = set()

            async def read(server=server, records=records) -> bool:
                channels = await pair.admin_attempt(server, "GET", "/api/v1/channels")
                assignments = await pair.admin_attempt(server, "GET", "/api/v1/assignments")
                if channels is None or assignments is None or not (channels.ok and assignments.ok):
                    return False
                records.update(("channels", c["id"]) for c in channels.body["channels"])
                records.update(
                    ("assignments", f"{a['channel_id']}:{a['username']}") for a in assignments.body["assignments"]
                )
                return True

            await wait_until(read, FINAL_LOOK_S, f"the {server.name}'s data to be read")
            holdings.append(records)
        for w in acked:
            w.kept = all((w.table, w.key) in held for held in holdings)
        return [s.name for s in active]
