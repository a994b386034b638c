"""Running a scenario on a started ``TrainerLab``: each step at its time, its narration
on the timeline, its action, then its expectations checked until their deadlines.

Faults and the administrator's actions go through the trainer's ``Actions`` (the
same buttons as the panel); what people do goes through headless IDC client cores
(``clients``).  Every wait has a deadline from the scenario's emulated durations at
the lab's current time scale, plus a little real time for the machine's own work
(starting a process or a round trip does not get faster with the time scale).  The
run stops at the first step that fails; whatever happens, every console is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipics_lab.scenario.checks import Context, check
from ipics_lab.scenario.clients import ClientActionFailed, ScenarioClient, WriteRefused, close_all
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.scenario.model import ACTIONS, Expectation, Scenario
from ipics_lab.scenario.report import ACKNOWLEDGED, REFUSED, ScenarioReport, StepReport, Write
from ipics_lab.trainer.actions import ActionRefused, Actions
from ipics_server.clock import Clock

log = logging.getLogger("ipics.trainer.scenario")

PROFILES = "scenario-profiles"
#: real seconds added to every expectation's deadline and step wait (see the module doc)
REAL_SLACK_S = 3.0
#: real seconds between two looks at an expectation
POLL_S = 0.05
#: emulated seconds a client action may take (a login with the chapter's 5 s pauses);
#: the trainer's actions bound themselves
CLIENT_ACTION_MAX_S = 120.0
ACTION_SLACK_S = 60.0


class Stopwatch:
    """Emulated seconds since the run began, on the lab's clock: its monotonic time
    follows every change of time scale without a jump."""

    def __init__(self, clock: Callable[[], Clock]):
        self._clock = clock  # the lab's clock as it is now (the lab sets it when it starts)
        self._start = clock().monotonic()

    def now(self) -> float:
        return self._clock().monotonic() - self._start


class StepFailed(Exception):
    pass


#: the client actions that change the servers' data (each is a ``Write`` of the report)
WRITES = ("create-channel", "assign-channel")


class ScenarioRunner:
    def __init__(
        self,
        lab,
        scenario: Scenario,
        *,
        on_step: Callable[[StepReport], None] | None = None,
        writes_may_be_refused: bool = False,
    ):
        """``writes_may_be_refused``: a write the servers refuse is counted (the report's
        ``writes``), not a failed step: comparing modes, refusing is what strict
        synchronous replication does instead of losing the write."""
        self.lab = lab
        self.writes_may_be_refused = writes_may_be_refused
        self.scenario = scenario
        self.on_step = on_step
        self.actions = Actions(lab.pair, lab.timeline)
        self.clients: dict[str, ScenarioClient] = {}
        self.report = ScenarioReport(
            scenario.name,
            False,
            [StepReport(s.index, s.say, s.action_text()) for s in scenario.steps],
            title=scenario.title,
        )
        self._steps_task: asyncio.Task | None = None
        self._cancel_asked = False

    # ------------------------------------------------------------------ public
    async def run(self) -> ScenarioReport:
        if self._steps_task is not None:
            raise RuntimeError("a ScenarioRunner runs once; make a new one to run again")
        if self.lab.pair is None:
            raise RuntimeError("start the lab before running a scenario on it")
        self._steps_task = asyncio.get_running_loop().create_task(self._run_steps())
        if self._cancel_asked:  # cancelled before it began
            self._steps_task.cancel()
        try:
            await self._steps_task
        except asyncio.CancelledError:
            this = asyncio.current_task()
            assert this is not None  # run() is a coroutine: it runs in a task
            if this.cancelling():
                raise  # run() itself was cancelled: the clients are closed on the way out
            self._stopped("cancelled by the trainer", "cancelled while it ran")
            self.report.cancelled = True
            self._note("narration", f"scenario {self.scenario.name} cancelled")
        except Exception as exc:  # a bug here must still end in a report, with the consoles closed
            log.exception("scenario %s", self.scenario.name)
            self._stopped(f"internal error: {type(exc).__name__}: {exc}", "stopped by an internal error")
        finally:
            await close_all(self.clients)
        return self.report

    def _stopped(self, why: str, detail: str) -> None:
        self.report.passed, self.report.error = False, why
        for sr in self.report.steps:
            if sr.started and sr.passed is None:
                sr.details.append(detail)

    def cancel(self) -> None:
        """Stop the run where it is; ``run`` returns a report saying so (the clients closed)."""
        self._cancel_asked = True
        if self._steps_task is not None:
            self._steps_task.cancel()

    # ----------------------------------------------------------------- the run
    async def _run_steps(self) -> None:
        profiles = Path(self.lab.root) / PROFILES
        shutil.rmtree(profiles, ignore_errors=True)  # every run starts with fresh consoles
        self._watch = Stopwatch(lambda: self.lab.clock)
        self.ctx = Context(self.lab.pair, self.clients, dict(self.lab.seeded.get("channels", {})))
        await self.ctx.remember_messages()
        self._note("narration", f"scenario {self.scenario.name}: {self.scenario.title}")
        previous_end = 0.0
        for step, sr in zip(self.scenario.steps, self.report.steps, strict=True):
            start = step.at_s if step.at_s is not None else previous_end + (step.after_s or 0.0)
            await self._wait_until(start)
            sr.started = True
            self._emit(sr)
            if step.say:
                self._note("narration", step.say)
            self.ctx.remember_heard()
            try:
                if step.do is not None:
                    sr.details.append(await self._act(step.do, step.params))
            except StepFailed as exc:
                sr.details.append(f"action FAILED: {exc}")
                sr.passed = False
                self.report.error = f"step {step.index}: {step.action_text()} failed: {exc}"
                self._note("expectation", f"step {step.index}: {step.action_text()} failed: {exc}", ok=False)
                self._emit(sr)
                return
            results = await asyncio.gather(*(self._expect(e) for e in step.expect))
            sr.details.extend(line for _ok, line in results)
            sr.passed = all(ok for ok, _line in results)
            self._emit(sr)
            if not sr.passed:
                return
            previous_end = self._watch.now()
        self.report.passed = True
        self._note("narration", f"scenario {self.scenario.name} passed")

    async def _wait_until(self, emulated_s: float) -> None:
        while (left := emulated_s - self._watch.now()) > 0:
            # Short sleeps, so a change of time scale meanwhile takes effect at once.
            await asyncio.sleep(min(left * self.lab.clock.time_scale, 0.25))

    # ---------------------------------------------------------------- actions
    async def _act(self, do: str, params: dict[str, Any]) -> str:
        group = ACTIONS[do][0]
        try:
            if group in ("fault", "admin"):
                # The trainer's actions keep their own deadlines, in emulated time: a
                # change of time scale during a takeover does not cut it short.
                return await getattr(self.actions, do.replace("-", "_"))(**params)
            if group == "wait":  # as long as the scenario says: no deadline of its own
                await self._wait_until(self._watch.now() + params["duration"])
                return f"waited {describe_duration(params['duration'])}"
        except ActionRefused as exc:
            raise StepFailed(str(exc)) from None
        budget = self.lab.clock.real_seconds(CLIENT_ACTION_MAX_S) + ACTION_SLACK_S
        try:
            async with asyncio.timeout(budget):
                text = await self._client_action(do, params)
                self._note("client", text)
                return text
        except WriteRefused as exc:
            if not self.writes_may_be_refused:
                raise StepFailed(str(exc)) from None
            self._note("client", f"{params['as']}: {exc}")
            return f"refused: {exc}"
        except ClientActionFailed as exc:
            raise StepFailed(str(exc)) from None
        except TimeoutError:
            raise StepFailed(f"gave up after {budget:.0f} real seconds") from None

    async def _client_action(self, do: str, p: dict) -> str:
        if do == "login":
            client = self.clients.get(p["user"]) or self._new_client(p["user"])
            return await client.login(
                p["server"], self.lab.users_password, dict(zip(("primary", "secondary"), self.lab.urls, strict=True))
            )
        if do == "logout":
            return await self.clients[p["user"]].logout()
        if do == "ptt-press":
            return self.clients[p["user"]].ptt_press(p["channel"])
        if do == "ptt-release":
            return self.clients[p["user"]].ptt_release(p["channel"])
        operator = self.clients[p["as"]]
        if do == "create-channel":
            body = await self._write(operator, "POST", "/api/v1/channels", {"name": p["name"]}, table="channels")
            self.ctx.channel_ids[p["name"]] = body["id"]
            return f"{p['as']} created the channel {p['name']} on the {operator.server_name}"
        # assign-channel
        channel_id = operator.channel_id(p["channel"]) or self.ctx.channel_ids.get(p["channel"])
        if channel_id is None:
            raise ClientActionFailed(f"{p['as']}'s console shows no channel {p['channel']}")
        await self._write(
            operator,
            "POST",
            f"/api/v1/channels/{channel_id}/assignments",
            {"username": p["user"]},
            table="assignments",
            key=f"{channel_id}:{p['user']}",  # the server's key of an assignment (data_records.record_key)
        )
        return f"{p['as']} assigned {p['channel']} to {p['user']} on the {operator.server_name}"

    async def _write(
        self, operator: ScenarioClient, method: str, path: str, body: dict, *, table: str, key: str = ""
    ) -> dict:
        """One change asked of the server the console is on, kept in the report's writes."""
        step = next(s for s in self.report.steps if s.started and s.passed is None)
        write = Write(step.index, operator.user, step.action, operator.server_name, ACKNOWLEDGED, table=table, key=key)
        try:
            answer = await operator.api(method, path, body)
        except WriteRefused as exc:
            write.outcome, write.reason = REFUSED, str(exc)
            self.report.writes.append(write)
            raise
        write.key = key or str(answer.get("id", ""))
        self.report.writes.append(write)
        return answer

    def _new_client(self, user: str) -> ScenarioClient:
        urls = self.lab.urls
        client = ScenarioClient(
            user,
            Path(self.lab.root) / PROFILES / user,
            urls=urls,
            names=dict(zip(urls, ("primary", "secondary"), strict=True)),
            clock=self.lab.clock,
            media_url=self.lab.router.url if self.lab.router is not None else None,
            on_event=lambda text: self._note("client", text),
        )
        self.clients[user] = client
        return client

    # ----------------------------------------------------------- expectations
    async def _expect(self, exp: Expectation) -> tuple[bool, str]:
        """Look until it holds or its deadline passes: ``within`` emulated seconds, then
        ``REAL_SLACK_S`` real ones.  Without ``within``, one look."""
        began = self._watch.now()
        emulated_over_at: float | None = None
        while True:
            try:
                ok, seen = await check(exp, self.ctx)
            except Exception as exc:  # a check that breaks is a failed check, saying why
                log.exception("checking %s", exp.describe())
                ok, seen = False, f"the check failed: {type(exc).__name__}: {exc}"
            if ok:
                waited = self._watch.now() - began
                after = f" after {describe_duration(round(waited, 1))}" if exp.within_s and waited >= 0.05 else ""
                line = f"expect {exp.describe()}: ok{after}"
                break
            if exp.within_s <= 0:
                line = f"expect {exp.describe()}: FAILED, seen: {seen}"
                break
            if self._watch.now() - began >= exp.within_s:
                emulated_over_at = emulated_over_at or time.monotonic()
                if time.monotonic() - emulated_over_at >= REAL_SLACK_S:
                    line = f"expect {exp.describe()}: FAILED, seen: {seen}"
                    break
            await asyncio.sleep(POLL_S)
        server = exp.who if exp.subject == "server" else None
        self._note("expectation", line.removeprefix("expect "), server=server, ok=ok)
        return ok, line

    # ----------------------------------------------------------------- helpers
    def _note(self, kind: str, text: str, server: str | None = None, ok: bool | None = None) -> None:
        with contextlib.suppress(Exception):  # the timeline is for viewers; it must not stop the run
            self.lab.timeline.add(kind, text, server=server, ok=ok)

    def _emit(self, sr: StepReport) -> None:
        if self.on_step is None:
            return
        try:
            self.on_step(sr)
        except Exception:  # a broken view must not stop the scenario
            log.exception("on_step failed")
