"""The running lab's control socket: ``ipics-lab power on|off primary|secondary``.

The lab (``ipics-lab up`` or the trainer's lab) owns its server processes: only it can
power one on again with the same data, ports and clock, and stop it with the rest.  A
command in another terminal asks it through a Unix socket in the lab directory
(``control.sock``, readable by the owner only, as the directory is): one JSON line
``{"do": "power-on"|"power-off", "server": "primary"|"secondary"}``, one JSON line back
``{"ok": bool, "message": sentence}``.  The chapter needs it for Method 3, step 4 ("Power
up the secondary server") after ``shutdown -h now`` halted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ipics_lab.trainer.actions import ActionRefused, Actions

SOCKET_NAME = "control.sock"
MAX_REQUEST_BYTES = 4096
#: real seconds a command waits for its answer: a power-on starts a process
ANSWER_TIMEOUT_S = 60.0
SERVERS = ("primary", "secondary")


class NotRunning(RuntimeError):
    """No lab answers in that directory."""


def socket_path(root: Path) -> Path:
    return root / SOCKET_NAME


#: a Unix socket's address holds at most 107 bytes of path (sun_path)
MAX_SOCKET_PATH = 107


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[str]:
    """The path to bind or connect ``path`` with: itself, or, when it is too long for a
    Unix socket's address (a lab directory deep in a home, or a test's temporary
    folder), the same file through a descriptor of its directory
    (``/proc/self/fd/N/control.sock``), so the socket stays in the lab directory with
    its permissions.  The descriptor is closed when the bind or connect is done."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


class LabControl:
    """Serves the control socket of one lab for as long as it runs."""

    def __init__(self, root: Path, actions: Actions, on_change: Callable[[], None] = lambda: None):
        """``on_change``: called after a server was powered on or off (the lab rewrites
        ``lab.json``, whose pids changed)."""
        self.path = socket_path(root)
        self.actions = actions
        self._on_change = on_change
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # left by a lab that crashed
        old = os.umask(0o177)  # created 0600: the lab's owner only
        try:
            with reachable(self.path) as address:
                self._server = await asyncio.start_unix_server(self._serve, path=address)
        finally:
            os.umask(old)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            answer = await self.answer(line)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the asking command went away
        finally:
            writer.close()

    async def answer(self, line: bytes) -> dict:
        if len(line) > MAX_REQUEST_BYTES:
            return _refused("the request is too long")
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return _refused("the request is not JSON")
        if not isinstance(request, dict):
            return _refused("the request must be a JSON object")
        do, server = request.get("do"), request.get("server")
        if server not in SERVERS:
            return _refused(f"server must be one of {', '.join(SERVERS)}")
        actions = {"power-on": self.actions.power_on, "power-off": self.actions.power_off}
        if do not in actions:
            return _refused(f"do must be one of {', '.join(actions)}")
        try:
            message = await actions[do](server)
        except ActionRefused as exc:
            return _refused(str(exc))
        self._on_change()
        return {"ok": True, "message": message}


def _refused(message: str) -> dict:
    return {"ok": False, "message": message}


async def ask(root: Path, do: str, server: str, timeout_s: float = ANSWER_TIMEOUT_S) -> dict:
    """Ask the lab running in ``root``; ``NotRunning`` if none answers there."""
    path = socket_path(root)
    try:
        with reachable(path) as address:
            reader, writer = await asyncio.open_unix_connection(address)
    except (FileNotFoundError, ConnectionRefusedError):
        raise NotRunning(
            f"no lab is running in {root} (start one with ipics-lab up, or pass the lab's --lab-dir)"
        ) from None
    try:
        writer.write(json.dumps({"do": do, "server": server}).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout_s)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if not line:
        raise NotRunning(f"the lab in {root} closed the connection without an answer")
    return json.loads(line)
