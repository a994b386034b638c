"""Running an exercise on a started ``TrainerLab``: the setup, then the trainee's turn,
watched until the goal is met, the time limit passes or the trainee says done; then
the grade, from what the servers saw.

The setup runs as a scenario (``ScenarioRunner``: faults, waits, consoles), recorded
like everything else.  A dispatcher's or a phone user's exercise first waits for the
trainee to log in (the fault strikes while they work).  Meanwhile the ``Recorder`` reads
both audit trails (the trainee's actions) and puts what a person did in the console
or the shell on the timeline; the runner converts each action's time, a server's
emulated UTC, to seconds since the setup on the lab's clock (a server's clock may be
set days off), looks at both servers' status, and counts the trainee's floor requests
at the media router while his console is offline: from the setup's end until the
servers see his session again (his console reconnecting by itself, or his login).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipics_lab.exercise.grading import Grade, Observation, SeenAction, goal_unmet, grade, result
from ipics_lab.exercise.model import Exercise, Hint
from ipics_lab.pair_procedures import SetupError
from ipics_lab.recorder import Recorder
from ipics_lab.recording import Header
from ipics_lab.scenario.model import Scenario
from ipics_lab.scenario.report import ACKNOWLEDGED, ScenarioReport
from ipics_lab.scenario.runner import ScenarioRunner
from ipics_server.adapters.httpclient import Unreachable
from ipics_server.audit import SESSION_ACTIONS, reconnected_console

log = logging.getLogger("ipics.trainer.exercise")

#: real seconds between two looks at the servers
WATCH_PERIOD_S = 0.25
STATUS_TIMEOUT_S = 2.0


class SetupFailed(Exception):
    """The exercise's starting situation could not be made; ``str()`` says which step and why."""


class ExerciseRun:
    """One run of one exercise on a started lab.

    ``on_event(text)`` hears what the runner says to the trainee and the trainer
    (the setup's progress, the goal met, hints released)."""

    def __init__(
        self,
        lab: Any,
        exercise: Exercise,
        *,
        recording: Path,
        time_limit_s: float | None = None,
        monitor: Any = None,
        on_event: Callable[[str], None] | None = None,
    ):
        self.lab = lab
        self.exercise = exercise
        self.time_limit_s = time_limit_s or exercise.time_limit_s
        self.on_event = on_event or (lambda text: None)
        header = Header(
            "exercise",
            exercise.name,
            time.time(),
            lab.time_scale,
            topology=getattr(lab, "topology", "loopback"),
            modes=lab.modes.name if getattr(lab, "modes", None) else "ipics",
            details={
                "title": exercise.title,
                "trainee": exercise.trainee,
                "user": exercise.user,
                "goal": exercise.goal.say,
                "time_limit_s": self.time_limit_s,
            },
        )
        # The panel's lab records its whole session and puts a person's actions on the
        # timeline already: this run's recorder records, and leaves the timeline to it.
        self.lab_recorder = getattr(lab, "recorder", None)
        self.recorder = Recorder(
            recording,
            header,
            pair=lab.pair,
            timeline=lab.timeline,
            clock=lab.clock,
            monitor=monitor,
            narrate=self.lab_recorder is None,
        )
        self.setup_report: ScenarioReport | None = None
        self.hints_released: list[Hint] = []
        self.grade: Grade | None = None
        self._stop = asyncio.Event()
        self._began: float | None = None  # the lab clock's monotonic time when the setup ended
        self._began_utc = 0.0
        self._since_login = 0  # the recorder's actions after the trainee's login
        self._next_action = 0  # the first of the recorder's actions not looked at yet
        self._offsets: dict[str, float] = {}  # server -> its clock minus the lab's (emulated s)
        self._seen: list[SeenAction] = []
        self._discarded_before: dict[str, int] = {}
        self._floors: int | None = None
        self._ptt_offline = 0
        self._final: dict[str, dict | None] = {}
        self._lost: dict[str, list[dict]] = {}
        self.goal_met_at_s: float | None = None

    # ------------------------------------------------------------------ public
    @property
    def elapsed_s(self) -> float:
        """Emulated seconds since the setup ended (0 before)."""
        return 0.0 if self._began is None else self.lab.clock.monotonic() - self._began

    @property
    def started(self) -> bool:
        return self._began is not None

    def stop(self) -> None:
        """The trainee says done (or the trainer stops the run): grade what was done."""
        self._stop.set()

    def release_hint(self, index: int) -> Hint:
        """The trainer releases hint ``index`` (1-based); ``ValueError`` says why not yet."""
        hint = next((h for h in self.exercise.hints if h.index == index), None)
        if hint is None:
            raise ValueError(f"no hint {index}: this exercise has {len(self.exercise.hints)}")
        if not self.started:
            raise ValueError("the trainee's turn has not begun")
        if self.elapsed_s < hint.after_s:
            raise ValueError(f"hint {index} may be released {hint.after_s - self.elapsed_s:.0f} emulated s from now")
        if hint not in self.hints_released:
            self.hints_released.append(hint)
            self.lab.timeline.add("narration", f"hint {index}: {hint.text}")
            self.on_event(f"hint {index}: {hint.text}")
        return hint

    async def run(self) -> Grade:
        """The whole exercise; the grade (also in the recording, closed on the way out)."""
        await self.recorder.start()
        recorded = False
        try:
            if self.exercise.user:
                await self._wait_for_trainee_login()
            await self._setup()
            await self._begin()
            await self._watch()
            await self._end()
            g = self.grade = grade(self.exercise, self._observation())
            self.lab.timeline.add("narration", f"exercise graded: {g.score}/100, {'passed' if g.passed else 'failed'}")
            recorded = True
            outcome = result(self.exercise, self._observation(), g, self._acknowledged())
            await self.recorder.stop(outcome)
            if self.lab_recorder is not None:  # the session's recording carries the grade too (Export report)
                self.lab_recorder.writer.result(outcome, *self.lab.timeline.now())
            return g
        finally:
            if not recorded:  # a setup that failed, a cancelled run: the file is closed all the same
                with contextlib.suppress(Exception):
                    await self.recorder.stop({"outcome": "the exercise did not run to its end"})

    # ----------------------------------------------------------------- phases
    async def _wait_for_trainee_login(self) -> None:
        via = "phone" if self.exercise.trainee == "phone-user" else "api"
        how = "the IP phone (Services, IPICS, Dial Login)" if via == "phone" else "the IPICS Dispatch Console"
        self.on_event(f"waiting for {self.exercise.user} to log in with {how}")
        while not self._stop.is_set():
            await self.recorder.poll_actions()
            if any(
                e.get("action") == "login"
                and e.get("via") == via
                and e.get("user") == self.exercise.user
                and e.get("ok")
                for _s, e in self.recorder.actions
            ):
                self._since_login = len(self.recorder.actions)
                self.on_event(f"{self.exercise.user} is logged in: the exercise begins")
                return
            await asyncio.sleep(WATCH_PERIOD_S)
        raise SetupFailed(f"stopped before {self.exercise.user} logged in")

    async def _setup(self) -> None:
        scenario = Scenario(
            name=f"{self.exercise.name} (setup)",
            title="the starting situation",
            description=self.exercise.description,
            steps=self.exercise.setup,
        )
        self.on_event("making the starting situation ...")
        report = self.setup_report = await ScenarioRunner(self.lab, scenario).run()
        if not report.passed:
            raise SetupFailed(report.error or "a setup step's expectation did not hold")

    async def _begin(self) -> None:
        await self.recorder.poll_actions()
        self._next_action = len(self.recorder.actions)
        # The trainee's session arriving somewhere during the setup (a console back by
        # itself, a phone pushed over while the setup waited for the takeover) is his,
        # at the start of his turn; the setup's other actions are the lab's own.
        self._seen.extend(
            SeenAction(server, 0.0, entry)
            for server, entry in self.recorder.actions[self._since_login : self._next_action]
            if entry.get("action") in SESSION_ACTIONS and entry.get("user") == self.exercise.user
        )
        for server in self.lab.pair.servers:
            entries = await self._discarded(server)
            self._discarded_before[server.name] = len(entries or [])
        self._floors = await self._floor_requests()
        self._began = self.lab.clock.monotonic()
        self._began_utc = self.lab.clock.now()
        self.lab.timeline.add(
            "narration", f"exercise {self.exercise.name}: the trainee's turn. {self.exercise.goal.say}"
        )
        self.on_event("the trainee's turn")

    async def _watch(self) -> None:
        goal = self.exercise.goal
        while not self._stop.is_set():
            await self._look()
            unmet = goal_unmet(goal, self._final, self._seen)
            if not unmet and self._ptt_offline >= goal.ptt_while_offline:
                self.goal_met_at_s = self.elapsed_s
                self.lab.timeline.add("narration", f"goal met: {goal.say}")
                self.on_event("the goal is met")
                return
            if self.elapsed_s >= self.time_limit_s:
                self.lab.timeline.add("narration", "time is up")
                self.on_event("time is up")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_PERIOD_S)
        self.on_event("stopped: grading what was done")

    async def _end(self) -> None:
        await self.recorder.poll_actions()
        await self._look()
        for server in self.lab.pair.servers:
            entries = await self._discarded(server)
            if entries is not None:
                self._lost[server.name] = entries[self._discarded_before.get(server.name, 0) :]

    # --------------------------------------------------------------- looking
    async def _look(self) -> None:
        # Offline until this look finds his session back: floors asked for since the
        # last look count (a press in the same quarter second as the reconnect, too).
        offline = not self._session_back()
        now_utc = self.lab.clock.now()
        for server in self.lab.pair.servers:
            st = await self._status(server)
            self._final[server.name] = st
            if st is not None and isinstance(st.get("time"), int | float):
                self._offsets[server.name] = st["time"] - now_utc
        new, self._next_action = self.recorder.actions[self._next_action :], len(self.recorder.actions)
        for server, entry in new:
            at_lab = entry["at"] - self._offsets.get(server, 0.0)
            self._seen.append(SeenAction(server, max(0.0, round(at_lab - self._began_utc, 1)), entry))
        floors = await self._floor_requests()
        if floors is not None and self._floors is not None:
            if offline:
                self._ptt_offline += max(0, floors - self._floors)
            self._floors = floors

    def _session_back(self) -> bool:
        """Has the trainee's console taken his session to a server since the setup?
        (Until then it is offline: the setup's fault took its server.)"""
        return any(
            a.ok
            and a.via == "api"
            and a.entry.get("user") == self.exercise.user
            and (a.action == "login" or reconnected_console(a.entry))  # his IDC, not a mobile client
            for a in self._seen
        )

    async def _status(self, server: Any) -> dict | None:
        try:
            async with server.client() as c:
                reply = await c.get("/api/v1/ha/status", timeout_s=STATUS_TIMEOUT_S)
        except (Unreachable, TimeoutError):
            return None
        return reply.body if reply.ok and isinstance(reply.body, dict) else None

    async def _discarded(self, server: Any) -> list[dict] | None:
        try:
            reply = await self.lab.pair.admin_attempt(server, "GET", "/api/v1/ha/discarded", timeout_s=STATUS_TIMEOUT_S)
        except (Unreachable, SetupError, TimeoutError):
            return None
        if reply is None or not reply.ok or not isinstance(reply.body, dict):
            return None
        return list(reply.body.get("discarded", []))

    async def _floor_requests(self) -> int | None:
        """The trainee's floor requests so far, as the media router counts them (None:
        no router, or it does not answer)."""
        router = getattr(self.lab, "router", None)
        if router is None or not self.exercise.user:
            return None
        try:
            stats = await router.stats()
        except (Unreachable, TimeoutError):
            return None
        if not isinstance(stats, dict) or not isinstance(stats.get("floor_requests"), dict):
            return None
        return int(stats["floor_requests"].get(self.exercise.user, 0))

    # ---------------------------------------------------------------- results
    def _observation(self) -> Observation:
        return Observation(
            actions=list(self._seen),
            final=dict(self._final),
            elapsed_s=round(self.elapsed_s, 1),
            goal_met_at_s=None if self.goal_met_at_s is None else round(self.goal_met_at_s, 1),
            discarded=dict(self._lost),
            ptt_while_offline=self._ptt_offline if self._floors is not None else None,
            hints_released=[h.text for h in self.hints_released],
        )

    def _acknowledged(self) -> int:
        writes = self.setup_report.writes if self.setup_report else []
        return sum(1 for w in writes if w.outcome == ACKNOWLEDGED)
