"""Recording a lab's run as it happens (``recording`` is the file's format).

The timeline's events as they come; each server's view when it changes (the trainer's
``Monitor``, subscribed); the administrators' actions from both servers' audit trails
(``GET /api/v1/ha/audit``, polled with the lab's administrator token), each one also put
on the timeline when a person did it in the Administration Console or the server shell,
so the trainer watching the panel sees what the trainee does, live.  The lab's own
actions (the panel's buttons, a scenario's steps) go through the API and are on the
timeline already.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipics_lab.pair_procedures import SetupError
from ipics_lab.recording import Header, RecordingWriter
from ipics_lab.trainer.timeline import Timeline
from ipics_server.adapters.httpclient import Unreachable
from ipics_server.audit import SESSION_ACTIONS, VIA_WORDS
from ipics_server.clock import Clock
from ipics_server.core.commands import AUDIT_LOG

log = logging.getLogger("ipics.recording")

#: how often the servers' audit trails are read (real seconds)
AUDIT_PERIOD_S = 0.5


def action_text(server: str, entry: dict[str, Any]) -> str:
    """``secondary, Administration Console: go-standby by ipicsadmin: done`` (or refused, why)."""
    how = VIA_WORDS.get(entry.get("via", ""), entry.get("via", "?"))
    what = entry.get("command") or entry.get("action", "?")
    outcome = "done" if entry.get("ok") else f"refused: {entry.get('result', '')}"
    return f"{server}, {how}: {what} by {entry.get('user', '?')}: {outcome}"


class Recorder:
    """Writes one run to ``path``; ``monitor`` (optional) is the trainer's ``Monitor``."""

    def __init__(
        self,
        path: Path,
        header: Header,
        *,
        pair: Any,
        timeline: Timeline,
        clock: Clock,
        monitor: Any = None,
        narrate: bool = True,
    ):
        """``narrate``: put what a person did on the timeline (False: another recorder of
        the same lab does already)."""
        self.path = path
        self.narrate = narrate
        self.writer = RecordingWriter(path, header)
        self.pair, self.timeline, self.clock, self.monitor = pair, timeline, clock, monitor
        self._unsubscribe: list[Callable[[], None]] = []
        self._seen: dict[str, float] = {}  # server -> the newest audit entry's time read
        # One read at a time: the poller's and a caller's (an exercise's end) would both
        # ask since the same time and record the same actions twice.
        self._reading = asyncio.Lock()
        self._poller: asyncio.Task | None = None
        #: every administrator's action read so far: (server, entry), in the servers' order
        self.actions: list[tuple[str, dict[str, Any]]] = []

    async def start(self) -> None:
        self.writer.start()
        # what happened before the recorder started is on the timeline already: keep it
        for event in self.timeline.events:
            self.writer.event(event)
        self._unsubscribe.append(self.timeline.subscribe(self.writer.event))
        if self.monitor is not None:
            self._unsubscribe.append(self.monitor.subscribe(self._on_views))
        for server in self.pair.servers:  # the lab's own set-up is not the trainee's doing
            self._seen[server.name] = await self._newest(server)
        self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    def _on_views(self, views: dict[str, Any]) -> None:
        at, emulated = self.timeline.now()
        for name, view in views.items():
            self.writer.status(name, view, at, emulated)

    async def _newest(self, server: Any) -> float:
        entries = await self._audit(server, None)
        return max((e["at"] for e in entries), default=0.0) if entries is not None else 0.0

    async def _audit(self, server: Any, since: float | None) -> list[dict] | None:
        entries = await self._audit_by_api(server, since)
        if entries is None:
            entries = await self._audit_by_shell(server, since)
        return entries

    async def _audit_by_shell(self, server: Any, since: float | None) -> list[dict] | None:
        """The trail of a server that takes no session of the lab's: one that went standby
        logged every session out (Go Standby) and learns none until REPAIR.  Its shell
        still lets ipicsadmin in: the same entries, from the audit log."""
        import asyncssh

        from ipics_server.shell.client import ShellLoginError

        try:
            out, status = await self.pair.shell(server, f"cat {AUDIT_LOG}")
        except (ShellLoginError, asyncssh.Error, OSError, TimeoutError) as exc:
            log.debug("audit log of %s not read: %s", server.name, exc)
            return None
        if status != 0:
            return None
        entries = []
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and isinstance(entry.get("at"), int | float):
                    entries.append(entry)
        return [e for e in entries if since is None or e["at"] > since]

    async def _audit_by_api(self, server: Any, since: float | None) -> list[dict] | None:
        path = "/api/v1/ha/audit" + (f"?since={since!r}" if since is not None else "")
        try:
            reply = await self.pair.admin_attempt(server, "GET", path, timeout_s=2)
        except (Unreachable, SetupError) as exc:  # powered off, cut off, no session yet: next time
            log.debug("audit of %s not read: %s", server.name, exc)
            return None
        if reply is None or not reply.ok or not isinstance(reply.body, dict):
            return None
        return [e for e in reply.body.get("actions", []) if isinstance(e, dict) and "at" in e]

    async def poll_actions(self) -> None:
        """Read both audit trails once: new actions into the file (and a person's onto the timeline)."""
        async with self._reading:
            await self._read_actions()

    async def _read_actions(self) -> None:
        for server in self.pair.servers:
            if getattr(server, "proc", None) is not None and server.proc.poll() is not None:
                continue  # powered off: its trail is read once it is back
            entries = await self._audit(server, self._seen.get(server.name))
            for entry in entries or []:
                self._seen[server.name] = max(self._seen.get(server.name, 0.0), entry["at"])
                self.actions.append((server.name, entry))
                self.writer.action(server.name, entry, *self.timeline.now())
                if not self.narrate:
                    continue
                # a person's doing: the console's and the shell's actions (the API's HA
                # operations are the lab's own) as administrators' actions; a person's
                # session arriving (a login, a console back by itself) on the clients' lane
                if entry.get("action") in SESSION_ACTIONS:
                    kind = "client"
                elif entry.get("via") in ("console", "shell"):
                    kind = "action"
                else:
                    continue
                self.timeline.add(kind, action_text(server.name, entry), server=server.name, ok=entry.get("ok"))

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_PERIOD_S)
            try:
                await self.poll_actions()
            except Exception:  # the recording goes on without this read
                log.exception("reading the servers' audit trails failed")

    def stop_now(self, result: dict[str, Any] | None = None) -> Path:
        """``stop`` from synchronous code (a lab stopped as its process ends): the
        actions not yet read are left out, everything else is kept."""
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        self._unsubscribe_all()
        if result is not None:
            self.writer.result(result, *self.timeline.now())
        self.writer.close_now()
        return self.path

    def _unsubscribe_all(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    async def stop(self, result: dict[str, Any] | None = None) -> Path:
        """The last actions, the run's result, and the file closed; returns its path."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
            await self.poll_actions()
        self._unsubscribe_all()
        if result is not None:
            self.writer.result(result, *self.timeline.now())
        await self.writer.close()
        return self.path
