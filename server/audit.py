"""What administrators did on this server, as the server saw it: the audit trail.

Every HA action of the Administration Console (its forms), of the client API (``/api/v1/ha``
operations that change something) and every command typed into the server shell is
recorded with who, how, when (emulated UTC), and what came of it: done, or refused and
the server's sentence why.  So is a person's login (``login``: an IDC's or a mobile
client's by the API, an IP phone's Dial Login via ``phone``; not a system
administrator's, whose logins are the lab's own machinery), and a person's device back
with no user action after losing its server (``reconnect``: an IDC or a mobile client
taking its session back, saying so as it opens its events socket, ``?resumed=``; a
phone brought here by the new active's push): a
dispatcher's and a phone user's exercise are graded from them.  A trainer's grading
reads it (an exercise is graded from what the servers saw, not from what the trainee
says), so does the timeline.

An action is named with the words of the scenario format (``go-standby``, ``repair``,
``rsync``, ...) so a grade, a scenario and the timeline speak alike.  Nothing secret is
kept: the console's and the API's passwords are never in an action; a shell line keeps
its words (the shell's commands take no secrets).  Written through to the store within
50 ms (a burst of entries is one write), so a server powered off in the middle of an
exercise still has it.  Not pushed on the events sockets: other users' names and the
administrators' actions are the administrators' to read (``GET /api/v1/ha/audit``).
"""

from __future__ import annotations

import asyncio
import shlex
from collections import deque
from collections.abc import Callable
from typing import Any

from .clock import Clock

LIMIT = 500
#: real seconds within which a new entry is written to the store
FLUSH_AFTER_S = 0.05
#: the store's local key
KEY = "audit"

#: a person's session arriving on a server: the user's own login, or his console, mobile
#: client or phone back with no user action after a failover
SESSION_ACTIONS = ("login", "reconnect")
#: the clients that take their session back by themselves (``?resumed=`` on the events
#: socket), as a ``reconnect`` entry's result names them
RESUMING_CLIENTS = {"idc": "console", "mobile": "mobile client"}


def reconnect_result(client: str, role: str) -> str:
    """A ``reconnect`` entry's result: ``console reconnected by itself (active)``."""
    return f"{RESUMING_CLIENTS[client]} reconnected by itself ({role})"


def reconnected_console(entry: dict[str, Any]) -> bool:
    """Is this entry an IDC (not a mobile client) taking its session back?"""
    return entry.get("action") == "reconnect" and str(entry.get("result", "")).startswith(RESUMING_CLIENTS["idc"] + " ")


#: how an action came, in words
VIA_WORDS = {"console": "Administration Console", "shell": "server shell", "api": "API", "phone": "IP phone"}

#: the Administration Console's form paths and the client API's paths -> action
ACTION_BY_PATH = {
    # the HA Security tab's Save and Delete, the HA Configuration tab's settings form
    "/admin/ha/security": "establish-trust",
    "/admin/ha/security/delete": "delete-trust",
    "/admin/ha/configuration": "update-settings",
    "/admin/ha/configure": "configure",
    "/admin/ha/unconfigure": "unconfigure",
    "/admin/ha/failover": "failover-now",
    "/admin/ha/go-standby": "go-standby",
    "/api/v1/ha/ntp": "ntp",
    "/api/v1/ha/trust": "establish-trust",
    "/api/v1/ha/trust/delete": "delete-trust",
    "/api/v1/ha/settings": "update-settings",
    "/api/v1/ha/configure": "configure",
    "/api/v1/ha/unconfigure": "unconfigure",
    "/api/v1/ha/failover": "failover-now",
    "/api/v1/ha/go-standby": "go-standby",
}


def shell_action(argv: list[str]) -> str | None:
    """The action a shell command line is (None: a look, not an action: ``date``,
    ``help``, ``cat`` ...).  ``service ipics stop`` -> ``service-ipics-stop``."""
    if not argv:
        return None
    name = argv[0].rsplit("/", 1)[-1]
    if name == "ipicsedr_control_repl":
        return "repair"
    if name == "ipicsrsync":
        return "rsync"
    if name == "ntpsetup":
        return "ntpsetup"
    if name == "shutdown":
        return "shutdown"
    if name == "date" and len(argv) > 1:
        return "set-date"
    if name == "service" and len(argv) >= 3 and argv[2] not in ("status", "ha-status"):
        return f"service-{argv[1]}-{argv[2]}"
    return None


class AuditTrail:
    """The last ``LIMIT`` actions, newest last."""

    def __init__(self, clock: Clock, saved: list[dict] | None, persist: Callable[[list[dict]], None]):
        self.clock = clock
        self._entries: deque[dict[str, Any]] = deque(saved or [], maxlen=LIMIT)
        self._persist = persist
        self._flush_soon: asyncio.TimerHandle | None = None

    def record(self, *, action: str, via: str, user: str, ok: bool, result: str, command: str | None = None) -> dict:
        """``via``: console, api, shell or phone; ``result``: the server's sentence (done, or why not)."""
        entry = {
            "at": self.clock.now(),
            "action": action,
            "via": via,
            "user": user,
            "ok": ok,
            "result": result[:300],
            "command": command,
        }
        self._entries.append(entry)
        self._write_through()
        return entry

    def _write_through(self) -> None:
        """The trail written to the store within ``FLUSH_AFTER_S``, once for every entry
        recorded meanwhile: a failover's burst of consoles reconnecting (one entry each)
        is one write, not one write of the whole trail per console."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a tool, a test): at once
            self._persist(list(self._entries))
            return
        if self._flush_soon is None:
            self._flush_soon = loop.call_later(FLUSH_AFTER_S, self._flush)

    def _flush(self) -> None:
        self._flush_soon = None
        self._persist(list(self._entries))

    def take_unwritten(self) -> list[dict[str, Any]] | None:
        """The trail, if entries wait to be written (the server stopping writes it
        itself, before its store closes); None if everything was written."""
        if self._flush_soon is None:
            return None
        self._flush_soon.cancel()
        self._flush_soon = None
        return list(self._entries)

    def record_shell(self, user: str, argv: list[str], status: int, output: str) -> None:
        action = shell_action(argv)
        if action is None:
            return
        first = next((line for line in output.splitlines() if line.strip()), "")
        self.record(action=action, via="shell", user=user, ok=status == 0, result=first, command=shlex.join(argv)[:200])

    def entries(self, since: float | None = None) -> list[dict[str, Any]]:
        return [e for e in self._entries if since is None or e["at"] > since]
