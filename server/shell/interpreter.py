"""One command line of the emulated shell, run for a logged-in user.

The shell answers like a Linux server would: unknown commands say ``command not
found``, commands a user may not run say so, and nothing is changed by a refused
command.  Only the commands the chapter types exist.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

if TYPE_CHECKING:
    from ..app import IpicsServer

SHELL_USERS = ("ipicsadmin", "informix")


@dataclass
class CommandResult:
    output: str = ""
    exit_status: int = 0
    #: end the session after showing the output (``exit``, ``shutdown -h now``)
    close: bool = False
    #: run once the session is closed (``shutdown -h now`` powers the server off)
    after_close: Callable[[], None] | None = None


Handler = Callable[[str, list[str]], Awaitable[CommandResult]]


class Shell:
    def __init__(self, server: "IpicsServer"):
        self.server = server
        self._commands: dict[str, Handler] = {
            "date": self._date,
            "exit": self._exit,
            "logout": self._exit,
        }

    async def authenticate(self, username: str, password: str) -> bool:
        if username not in SHELL_USERS:
            return False
        return await self.server.data.verify_password(username, password) is not None

    def prompt(self, username: str) -> str:
        return f"[{username}@{self.server.cfg.name} ~]$ "

    def banner(self, username: str) -> str:
        return f"Cisco IPICS emulated server shell ({self.server.cfg.name}). Type help for the commands.\n"

    async def run(self, username: str, line: str) -> CommandResult:
        line = line.strip()
        if not line or line.startswith("#"):
            return CommandResult()
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            return CommandResult(f"-bash: syntax error: {exc}\n", 2)
        name = argv[0].rsplit("/", 1)[-1] if argv[0].startswith("/") else argv[0]
        handler = self._commands.get(name)
        if handler is None:
            return CommandResult(f"-bash: {argv[0]}: command not found\n", 127)
        return await handler(username, argv[1:])

    async def _date(self, user: str, args: list[str]) -> CommandResult:
        now = datetime.fromtimestamp(self.server.clock.now(), tz=timezone.utc)
        return CommandResult(now.strftime("%a %b %d %H:%M:%S UTC %Y") + "\n")

    async def _exit(self, user: str, args: list[str]) -> CommandResult:
        return CommandResult("logout\n", close=True)
