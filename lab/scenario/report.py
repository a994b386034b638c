"""What a scenario run reports: each step, whether it passed, and what was seen."""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

#: what became of a write a console made (``Write.outcome``)
ACKNOWLEDGED, REFUSED = "acknowledged", "refused"


@dataclass
class StepReport:
    index: int
    say: str
    action: str  # e.g. "cut-link primary outbound"; "" for none
    passed: bool | None = None  # None: running, or not run
    details: list[str] = field(default_factory=list)  # the action's outcome, then each expectation
    started: bool = False

    def status_word(self) -> str:
        if self.passed is None:
            return "running" if self.started else "not run"
        return "ok" if self.passed else "FAILED"


@dataclass
class Write:
    """A change a console asked a server for (a channel created, a channel assigned),
    and what became of it: acknowledged (a 2xx) or refused (the server said why)."""

    step: int
    user: str
    what: str  # "create-channel 'Shelter Liaison'"
    server: str | None  # the server the console was on
    outcome: str  # ACKNOWLEDGED | REFUSED
    reason: str = ""  # the refusal in the server's words
    table: str = ""  # the record it made, to find in the final data
    key: str = ""
    #: an acknowledged write found in the active server's data at the end (None: not looked)
    kept: bool | None = None

    @property
    def lost(self) -> bool:
        return self.outcome == ACKNOWLEDGED and self.kept is False


@dataclass
class ScenarioReport:
    name: str
    passed: bool
    steps: list[StepReport]
    title: str = ""
    error: str | None = None  # why the run stopped early (a failed action, a cancel, the lab)
    cancelled: bool = False
    writes: list[Write] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ScenarioReport:
        fields = {k: v for k, v in doc.items() if k not in ("steps", "writes")}
        return cls(
            **fields,
            steps=[StepReport(**s) for s in doc.get("steps", [])],
            writes=[Write(**w) for w in doc.get("writes", [])],
        )

    def recording_result(self) -> dict[str, Any]:
        """The run's result record for its recording (``ipics_lab.recording``): the outcome
        in words, the writes the consoles made; the steps are on the timeline already."""
        acknowledged = [w for w in self.writes if w.outcome == ACKNOWLEDGED]
        writes: dict[str, Any] = {
            "acknowledged": len(acknowledged),
            "refused": sum(1 for w in self.writes if w.outcome == REFUSED),
        }
        if any(w.kept is not None for w in acknowledged):  # looked for in the final data
            lost = [w for w in acknowledged if w.lost]
            writes["lost"] = len(lost)
            writes["lost_why"] = [
                f"{w.user}'s {w.what} (step {w.step}) was acknowledged by the {w.server} "
                "and is not in the active server's data at the end"
                for w in lost
            ]
        return {"passed": self.passed, "outcome": self.lines()[-1], "writes": writes}

    def failed_step(self) -> StepReport | None:
        return next((s for s in self.steps if s.passed is False), None)

    def lines(self) -> list[str]:
        """The pass/fail report, human-readable."""
        out = [f"Scenario {self.name}: {self.title}".rstrip(": ")]
        for s in self.steps:
            word = "stopped" if s.started and s.passed is None else s.status_word()  # a run that ended
            head = f"  step {s.index:>2} {word:<7}"
            say = textwrap.shorten(s.say, 90, placeholder="...") if s.say else ""
            out.append(f"{head} {say}".rstrip())
            if s.action:
                out.append(f"             do: {s.action}")
            out.extend(f"             {d}" for d in s.details)
        done = sum(1 for s in self.steps if s.passed)
        if self.passed:
            out.append(f"PASSED: all {len(self.steps)} steps")
        else:
            failed = self.failed_step()
            where = f" at step {failed.index}" if failed else ""
            why = self.error or (next((d for d in failed.details if "FAILED" in d), "") if failed else "")
            out.append(
                f"{'CANCELLED' if self.cancelled else 'FAILED'}{where} ({done} of {len(self.steps)} "
                f"steps passed){': ' + why if why else ''}"
            )
        return out
