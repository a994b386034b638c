"""Running a game day on a started ``TrainerLab``: each fault at its time, recorded.

Each fault of the schedule is made at its emulated time by the trainer's ``Actions``
and narrated on the timeline as a fault event; one that heals by itself is healed
after its time; nothing else is done for the team, whose actions at the real
interfaces (the Administration Console, the server shell, ``ipics-lab power``) reach
the timeline and the recording live (``Recorder``).  The day ends at its duration or
when ``stop`` is set; the result says which faults were made, what the team did,
whether the pair ended healthy and which records the servers discarded meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from ipics_lab.campaign_recovery import pair_state
from ipics_lab.gameday.schedule import GameDayFault
from ipics_lab.pair_procedures import SetupError
from ipics_lab.scenario.durations import describe_duration
from ipics_lab.scenario.runner import Stopwatch
from ipics_lab.trainer.actions import ActionRefused, Actions
from ipics_lab.trainer.monitor import Monitor
from ipics_lab.trainer.timeline import Event
from ipics_server.adapters.httpclient import Unreachable

log = logging.getLogger("ipics.gameday")

#: how each heal reads on the timeline
HEAL_WORDS = {
    "power-on": "the power came back",
    "heal-link": "the link was repaired",
    "heal-network": "the network was repaired",
}
#: real seconds to read a server's discarded log before saying it could not be read
DISCARDED_READ_S = 3.0


class GameDay:
    """One game day on ``lab`` (started); ``run`` returns the recording's path, ``result`` what it ended with."""

    def __init__(
        self,
        lab: Any,
        schedule: list[GameDayFault],
        *,
        seed: int,
        duration_s: float,
        recording: Path,
    ):
        self.lab, self.schedule, self.seed, self.duration_s = lab, schedule, seed, duration_s
        self.recording = recording
        self.actions = Actions(lab.pair)  # no timeline: the game day narrates its faults itself
        #: the lab's monitor of the servers' views, once the day's recording started it
        self.monitor: Monitor | None = None
        self.faults: list[dict[str, Any]] = [
            {**f.to_json(), "injected_at_s": None, "ok": None, "text": None, "healed_at_s": None, "heal_text": None}
            for f in schedule
        ]
        #: fault events the game day did not make: ``ipics-lab power`` by the team, the trainer's buttons
        self.lab_actions: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}
        self._narrating = False

    # ------------------------------------------------------------------ the day
    async def run(self, stop: asyncio.Event | None = None) -> Path:
        stop = stop or asyncio.Event()
        timeline = self.lab.timeline
        discarded_before = await self._discarded()
        # the day's clock starts now: its faults' times count from here, as the header says
        self._watch = Stopwatch(lambda: self.lab.clock)
        began_at, began_emulated = timeline.now()
        recorder = await self.lab.start_recording(
            self.recording,
            kind="gameday",
            name=f"game day, seed {self.seed}",
            # not the schedule: the file is written as the day goes, and the team must not read what comes
            details={
                "seed": self.seed,
                "duration_s": self.duration_s,
                "faults": len(self.schedule),
                "began": {"at": began_at, "emulated": began_emulated},
            },
        )
        self.monitor = self.lab.monitor  # started with the recording: one poller for the lab
        unsubscribe = timeline.subscribe(self._on_event)
        self._narrate(
            "narration",
            f"game day (seed {self.seed}) begins: {len(self.schedule)} fault{'s' * (len(self.schedule) != 1)} "
            f"in {describe_duration(self.duration_s)}",
        )
        tasks = [
            asyncio.ensure_future(self._fault(f, entry)) for f, entry in zip(self.schedule, self.faults, strict=True)
        ]
        ended = "time up"
        try:
            clock_task = asyncio.ensure_future(self._wait_until(self.duration_s))
            stop_task = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({clock_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if clock_task not in done:
                ended = "ended early"
            for t in (clock_task, stop_task):
                t.cancel()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._narrate(
                "narration", f"game day (seed {self.seed}) {ended} after {describe_duration(round(self._watch.now()))}"
            )
            unsubscribe()
            try:
                await recorder.poll_actions()
                self.result = await self._result(ended, recorder.actions, discarded_before)
            finally:
                await self.lab.stop_recording(self.result or None)
        return self.recording

    async def _fault(self, fault: GameDayFault, entry: dict[str, Any]) -> None:
        await self._wait_until(fault.at_s)
        entry["injected_at_s"] = round(self._watch.now(), 1)
        where = f"game day fault {fault.index} of {len(self.schedule)}"
        try:
            entry["text"] = await self._inject(fault)
            entry["ok"] = True
            self._narrate("fault", f"{where}: {entry['text']}", _server(fault))
        except ActionRefused as exc:
            entry["ok"], entry["text"] = False, str(exc)
            self._narrate("fault", f"{where} ({fault.fault}) not made: {exc}", _server(fault), ok=False)
            return
        if fault.heal is None or fault.heals_after_s is None:
            return
        await self._wait_until(fault.at_s + fault.heals_after_s)
        entry["healed_at_s"] = round(self._watch.now(), 1)
        try:
            text = await self._heal(fault)
        except ActionRefused as exc:  # the team did it already (powered it on), or it cannot be done now
            entry["heal_text"] = f"not healed: {exc}"
            self._narrate("message", f"{where} would heal now: {exc}", _server(fault))
            return
        entry["heal_text"] = f"{HEAL_WORDS[fault.heal]}: {text}"
        self._narrate("fault", f"{where}: {entry['heal_text']}", _server(fault))

    async def _inject(self, fault: GameDayFault) -> str:
        if fault.fault == "fill-txlog":  # prolonged downtime: the standby off, the active's log filling
            active = await self._the_active()
            standby = "secondary" if active == "primary" else "primary"
            texts = []
            with contextlib.suppress(ActionRefused):  # already powered off: down for long already
                texts.append(await self.actions.power_off(standby))
            texts.append(await self.actions.fill_txlog(active, fault.params["percent"]))
            return "; ".join(texts)
        return await getattr(self.actions, fault.fault.replace("-", "_"))(**fault.params)

    async def _the_active(self) -> str:
        for server in self.lab.pair.servers:
            with contextlib.suppress(Unreachable):
                if (await self.lab.pair.status(server)).get("role") == "active":
                    return server.name
        raise ActionRefused("no server is active: the transaction log fills on the active only")

    async def _heal(self, fault: GameDayFault) -> str:
        if fault.heal == "heal-network":
            return await self.actions.heal_network()
        return await getattr(self.actions, str(fault.heal).replace("-", "_"))(fault.params["server"])

    async def _wait_until(self, emulated_s: float) -> None:
        while (left := emulated_s - self._watch.now()) > 0:
            # short sleeps: a change of time scale meanwhile takes effect at once
            await asyncio.sleep(min(left * self.lab.clock.time_scale, 0.25))

    # ------------------------------------------------------------ the timeline
    def _narrate(self, kind: str, text: str, server: str | None = None, ok: bool | None = None) -> Event:
        self._narrating = True
        try:
            return self.lab.timeline.add(kind, text, server, ok)
        finally:
            self._narrating = False

    def _on_event(self, event: Event) -> None:
        if event.kind == "fault" and not self._narrating:
            self.lab_actions.append({"at_s": round(self._watch.now(), 1), "text": event.text, "server": event.server})

    # ---------------------------------------------------------------- the result
    async def _result(self, ended: str, actions: list[tuple[str, dict]], discarded_before: dict) -> dict[str, Any]:
        assert self.monitor is not None  # the day's recording started it
        views = await self.monitor.poll_once()
        statuses = {name: (v.status or None) if v.reachable else None for name, v in views.items()}
        healthy, health = pair_health(statuses.get("primary"), statuses.get("secondary"))
        after = await self._discarded()
        discarded = {
            name: _new_entries(discarded_before.get(name), after.get(name)) for name in ("primary", "secondary")
        }
        team = [
            {k: entry.get(k) for k in ("at", "action", "via", "user", "ok", "result", "command")} | {"server": server}
            for server, entry in actions
        ]
        made = [f for f in self.faults if f["ok"]]
        lost = sum(len(d or []) for d in discarded.values())
        outcome = (
            f"{len(made)} of {len(self.schedule)} faults made; the team took {len(team)} action"
            f"{'s' * (len(team) != 1)} at the servers; {health}; {lost} record{'s' * (lost != 1)} discarded"
        )
        return {
            "outcome": outcome,
            "gameday": {
                "seed": self.seed,
                "duration_s": self.duration_s,
                "ended": ended,
                "lasted_s": round(self._watch.now(), 1),
                "faults": self.faults,
                "team_actions": team,
                "lab_actions": self.lab_actions,
                "healthy": healthy,
                "health": health,
                "servers": {
                    name: {k: st.get(k) for k in ("role", "ha", "standby_server_status", "split_brain")} if st else None
                    for name, st in statuses.items()
                },
                "discarded": discarded,
            },
        }

    async def _discarded(self) -> dict[str, list[dict] | None]:
        """Each server's discarded log, None where it cannot be read (powered off, cut off)."""
        out: dict[str, list[dict] | None] = {}
        for server in self.lab.pair.servers:
            out[server.name] = None
            if server.proc is not None and server.proc.poll() is not None:
                continue  # powered off
            deadline = time.monotonic() + DISCARDED_READ_S
            while time.monotonic() < deadline:
                with contextlib.suppress(Unreachable, SetupError, TimeoutError):  # cut off, no session yet: again
                    reply = await self.lab.pair.admin_attempt(server, "GET", "/api/v1/ha/discarded", timeout_s=2)
                    if reply is not None and reply.ok and isinstance(reply.body, dict):
                        out[server.name] = list(reply.body.get("discarded") or [])
                        break
                await asyncio.sleep(0.1)  # polling period, real seconds
        return out


def pair_health(primary: dict | None, secondary: dict | None) -> tuple[bool, str]:
    """Whether the pair is healthy (both configured, one active, the standby Ready, no
    split brain), and a sentence saying so or what is not."""
    for name, st in (("primary", primary), ("secondary", secondary)):
        if st is None:
            return False, f"the pair did not end healthy: the {name} does not answer"
    state, why = pair_state(primary, secondary)
    if state == "ready":
        return True, f"the pair ended healthy: {why}"
    return False, f"the pair did not end healthy: {why}"


def _new_entries(before: list[dict] | None, after: list[dict] | None) -> list[dict] | None:
    """The discarded log's entries added during the day (None: not readable at its end)."""
    if after is None:
        return None
    return [e for e in after if e not in (before or [])]


def _server(fault: GameDayFault) -> str | None:
    server = fault.params.get("server")
    return server if server in ("primary", "secondary") else None
