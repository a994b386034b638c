"""One command line of the emulated shell, run for a logged-in user.

The shell answers like a Linux server would: unknown commands say ``command not
found``, commands a user may not run say so, and nothing is changed by a refused
command.  Only the commands the chapter types exist (``help`` lists them).

Users: ``ipicsadmin`` (services, NTP, the clock, ipicsrsync, shutdown) and
``informix`` (the database owner: ``ipicsedr_control_repl REPAIR``, ha-status).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from ..audit import AuditTrail
from ..core.commands import (
    AUDIT_LOG,
    FILE_DIRECTORY,
    NM_RESTART,
    NTPSETUP_CHECK,
    NTPSETUP_ENABLE,
    REPAIR_PROGRAM,
    RSYNC_LOG,
    RSYNC_PROGRAM,
)
from ..core.throttle import SHELL
from ..errors import ApiError
from ..ha.repair import file_directory_text
from .status_text import ha_status_text

if TYPE_CHECKING:
    from ..clock import Clock
    from ..config import ServerConfig
    from ..data import DataService
    from ..ha import HAEngine
    from ..services import Services


class ShellHost(Protocol):
    """What the shell needs of its server (``IpicsServer`` is one), so the shell does
    not import the application that starts it."""

    cfg: ServerConfig
    clock: Clock
    data: DataService
    engine: HAEngine
    services: Services
    audit: AuditTrail

    async def set_clock_offset(self, seconds: float) -> None: ...


SHELL_USERS = ("ipicsadmin", "informix")
MAX_LINE = 4096
MAX_DATE_OFFSET_S = 10 * 365 * 86400.0

HELP = f"""Commands of this emulated Cisco IPICS server:
  {NTPSETUP_ENABLE}   enable NTP (ipicsadmin)
  ntpsetup -c                                           show the NTP settings
  service ipics_nm start|stop|restart|status            the node manager (ipicsadmin)
  service ipics start|stop|stop-all|start-all           the IPICS services (ipicsadmin)
  service ipics status                                  the services, running or stopped
  service ipics ha-status                               HA status and pending repair processes
  {REPAIR_PROGRAM} REPAIR     (informix)
  {RSYNC_PROGRAM} run ipicsadmin   (ipicsadmin, on the primary)
  cat|tail [-n N] {FILE_DIRECTORY}
  cat|tail [-n N] {RSYNC_LOG}
  cat|tail [-n N] {AUDIT_LOG}   what administrators did (ipicsadmin)
  date [-s "YYYY-MM-DD HH:MM:SS" | -s "+N minutes"]     show or set the clock
  shutdown -h now                                       halt this server (ipicsadmin)
  whoami, help, exit
"""


@dataclass
class CommandResult:
    output: str = ""
    exit_status: int = 0
    #: end the session after showing the output (``exit``, ``shutdown -h now``)
    close: bool = False
    #: run once the session is closed (``shutdown -h now`` powers the server off)
    after_close: Callable[[], None] | None = None


def ok(text: str = "") -> CommandResult:
    return CommandResult(text if not text or text.endswith("\n") else text + "\n")


def fail(text: str, status: int = 1) -> CommandResult:
    return CommandResult(text if text.endswith("\n") else text + "\n", status)


Handler = Callable[[str, list[str]], Awaitable[CommandResult]]


class Shell:
    def __init__(self, server: ShellHost):
        self.server = server
        self._commands: dict[str, Handler] = {
            "date": self._date,
            "exit": self._exit,
            "logout": self._exit,
            "help": self._help,
            "whoami": self._whoami,
            "ntpsetup": self._ntpsetup,
            "service": self._service,
            "ipicsedr_control_repl": self._repair,
            "ipicsrsync": self._rsync,
            "cat": self._cat,
            "tail": self._tail,
            "shutdown": self._shutdown,
        }

    async def authenticate(self, username: str, password: str, client: str = "") -> bool:
        """``client``: the SSH client's address, for the login throttle (a locked-out
        client is refused like a wrong password: SSH has no other answer)."""
        if username not in SHELL_USERS:
            return False
        try:
            return await self.server.data.check_password(username, password, client, way=SHELL) is not None
        except ApiError:
            return False

    def prompt(self, username: str) -> str:
        return f"[{username}@{self.server.cfg.name} ~]$ "

    def banner(self, username: str) -> str:
        return f"Cisco IPICS emulated server shell ({self.server.cfg.name}). Type help for the commands.\n"

    async def run(self, username: str, line: str) -> CommandResult:
        if len(line) > MAX_LINE:
            return fail(f"-bash: line too long (more than {MAX_LINE} characters)", 2)
        line = line.strip()
        if not line or line.startswith("#"):
            return CommandResult()
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            return fail(f"-bash: syntax error: {exc}", 2)
        if not argv:
            return CommandResult()
        if argv[0] in (RSYNC_LOG, FILE_DIRECTORY, AUDIT_LOG):
            # The chapter's "monitor" step types the log's path: a file is not a program.
            return fail(f"-bash: {argv[0]}: Permission denied (a file: try tail {argv[0]})", 126)
        name = argv[0].rsplit("/", 1)[-1] if argv[0].startswith("/") else argv[0]
        handler = self._commands.get(name)
        if handler is None:
            return fail(f"-bash: {argv[0]}: command not found", 127)
        try:
            result = await handler(username, argv[1:])
        except ApiError as exc:
            result = fail(f"{name}: {exc.message}")
        self.server.audit.record_shell(username, argv, result.exit_status, result.output)
        return result

    # ------------------------------------------------------------------ basics
    async def _exit(self, user: str, args: list[str]) -> CommandResult:
        return CommandResult("logout\n", close=True)

    async def _help(self, user: str, args: list[str]) -> CommandResult:
        return ok(HELP)

    async def _whoami(self, user: str, args: list[str]) -> CommandResult:
        return ok(user)

    async def _date(self, user: str, args: list[str]) -> CommandResult:
        clock = self.server.clock
        if not args:
            return ok(_format_date(clock.now()))
        if args[0] not in ("-s", "--set") or len(args) != 2:
            return fail('usage: date [-s "YYYY-MM-DD HH:MM:SS"]')
        if user != "ipicsadmin":
            return fail("date: cannot set date: Operation not permitted")
        try:
            target = parse_date(args[1], clock.now())
        except ValueError as exc:
            return fail(f"date: invalid date '{args[1]}': {exc}")
        ntp_time = clock.now() - clock.offset_s
        if abs(target - ntp_time) > MAX_DATE_OFFSET_S:
            return fail(f"date: invalid date '{args[1]}': more than 10 years away")
        await self.server.set_clock_offset(target - ntp_time)
        warning = ""
        if abs(target - ntp_time) > 30:
            warning = (
                "warning: this clock is now more than 30 s from NTP time; HA servers that disagree "
                "by more than 30 s lose HA communication (split brain)\n"
            )
        return ok(_format_date(clock.now()) + "\n" + warning)

    # --------------------------------------------------------------------- NTP
    async def _ntpsetup(self, user: str, args: list[str]) -> CommandResult:
        engine = self.server.engine
        if args == ["-c"]:
            servers = engine.ntp_servers
            if not servers:
                return ok(f"NTP is disabled: no NTP server configured\n  enable it with: {NTPSETUP_ENABLE}")
            offset = self.server.clock.offset_s
            state = "synchronized" if abs(offset) < 0.5 else f"NOT synchronized (clock {offset:+.0f} s from NTP time)"
            return ok(
                f"NTP is enabled\n  NTP server        : {servers[0]}\n"
                f"  backup NTP server : {servers[1] if len(servers) > 1 else '-'}\n"
                f"  system clock      : {state}"
            )
        if len(args) == 3 and args[:2] == ["-s", "enable"]:
            # The chapter's command and this usage both name a backup server: one is required.
            return fail(f"ntpsetup: a backup NTP server is required: {NTPSETUP_ENABLE}", 2)
        if len(args) == 4 and args[:2] == ["-s", "enable"]:
            if user != "ipicsadmin":
                return fail("ntpsetup: Permission denied: run it as ipicsadmin")
            servers = args[2:]
            bad = [s for s in servers if not _HOSTNAME.match(s)]
            if bad:
                return fail(f"ntpsetup: not a host name or address: {bad[0]}")
            await engine.set_ntp(servers)
            await self.server.set_clock_offset(0.0)  # ntpd steps the clock to NTP time
            return ok(
                f"NTP enabled with {', '.join(servers)}; the system clock is synchronized.\n"
                f"Restart the node manager now: {NM_RESTART}"
            )
        return fail(f"usage: {NTPSETUP_ENABLE} | {NTPSETUP_CHECK}", 2)

    # ----------------------------------------------------------------- services
    async def _service(self, user: str, args: list[str]) -> CommandResult:
        if len(args) != 2:
            return fail(
                "usage: service ipics start|stop|stop-all|start-all|status|ha-status | "
                "service ipics_nm start|stop|restart|status",
                2,
            )
        name, action = args
        if name not in ("ipics", "ipics_nm"):
            return fail(f"{name}: unrecognized service", 1)
        read_only = action in ("ha-status", "status")
        if not read_only and user != "ipicsadmin":
            return fail(f"service {name} {action}: Permission denied: only ipicsadmin controls the IPICS services")
        if name == "ipics":
            actions = {
                "start": self._ipics_start,
                "stop": self._ipics_stop,
                "stop-all": self._stop_all,
                "start-all": self._start_all,
                "ha-status": self._ha_status,
                "status": self._status,
            }
        else:
            actions = {
                "start": self._nm_start,
                "stop": self._nm_stop,
                "restart": self._nm_restart,
                "status": self._status,
            }
        act = actions.get(action)
        if act is None:
            return fail(f"usage: service {name} {'|'.join(actions)}", 2)
        return await act()

    async def _ipics_stop(self) -> CommandResult:
        self.server.engine.stop_ipics()
        for s in ("tomcat", "database"):
            self.server.services.stop(s)
        return ok("Stopping IPICS services (tomcat, database):        [  OK  ]")

    async def _ipics_start(self) -> CommandResult:
        for s in ("tomcat", "database"):
            self.server.services.start(s)
        self.server.engine.start_ipics()
        return ok("Starting IPICS services (tomcat, database):        [  OK  ]")

    async def _nm_stop(self) -> CommandResult:
        self.server.services.stop("ipics_nm")
        return ok("Stopping ipics_nm:                                  [  OK  ]")

    async def _nm_start(self) -> CommandResult:
        self.server.services.start("ipics_nm")
        self.server.engine.kick()
        return ok("Starting ipics_nm:                                  [  OK  ]")

    async def _nm_restart(self) -> CommandResult:
        first = await self._nm_stop()
        second = await self._nm_start()
        return ok(first.output + second.output)

    async def _stop_all(self) -> CommandResult:
        return ok((await self._nm_stop()).output + (await self._ipics_stop()).output)

    async def _start_all(self) -> CommandResult:
        return ok((await self._ipics_start()).output + (await self._nm_start()).output)

    async def _status(self) -> CommandResult:
        return ok("\n".join(f"{name:<10} {state}" for name, state in self.server.services.state.items()))

    async def _ha_status(self) -> CommandResult:
        return ok(ha_status_text(await self.server.engine.status(), self.server.cfg.name))

    # ------------------------------------------------------------- reconciliation
    async def _repair(self, user: str, args: list[str]) -> CommandResult:
        if args != ["REPAIR"]:
            return fail(f"usage: {REPAIR_PROGRAM} REPAIR", 2)
        if user != "informix":
            return fail("ipicsedr_control_repl: must be run as user informix (ssh informix@<server>)")
        return ok(await self.server.engine.repair.start())

    async def _rsync(self, user: str, args: list[str]) -> CommandResult:
        if args != ["run", "ipicsadmin"]:
            return fail(f"usage: {RSYNC_PROGRAM} run ipicsadmin", 2)
        if user != "ipicsadmin":
            return fail("ipicsrsync: must be run as user ipicsadmin")
        return ok(await self.server.engine.repair.start_rsync(user))

    # -------------------------------------------------------------------- files
    async def _read(self, command: str, path: str, user: str = "") -> str | CommandResult:
        """The file's text, or the failure to show."""
        if path == AUDIT_LOG:
            if user != "ipicsadmin":
                return fail(f"{command}: {path}: Permission denied")
            return "\n".join(json.dumps(e) for e in self.server.audit.entries())
        if path == FILE_DIRECTORY:
            return file_directory_text()
        if path == RSYNC_LOG:
            log_path = self.server.engine.repair.rsync_log
            try:
                return await asyncio.to_thread(log_path.read_text)
            except FileNotFoundError:
                return fail(f"{command}: {path}: No such file or directory (ipicsrsync has not run yet)")
        return fail(f"{command}: {path}: No such file or directory")

    async def _cat(self, user: str, args: list[str]) -> CommandResult:
        if len(args) != 1:
            return fail(f"usage: cat {FILE_DIRECTORY} | cat {RSYNC_LOG} | cat {AUDIT_LOG}", 2)
        text = await self._read("cat", args[0], user)
        return text if isinstance(text, CommandResult) else ok(text)

    async def _tail(self, user: str, args: list[str]) -> CommandResult:
        lines = 10
        if len(args) == 3 and args[0] == "-n" and args[1].isdigit():
            lines, args = int(args[1]), args[2:]
        elif len(args) == 2 and re.fullmatch(r"-\d+", args[0]):
            lines, args = int(args[0][1:]), args[1:]
        if len(args) != 1 or args[0].startswith("-"):
            return fail("usage: tail [-n N] FILE (follow mode is not available here; run it again)", 2)
        text = await self._read("tail", args[0], user)
        if isinstance(text, CommandResult):
            return text
        kept = text.splitlines()[-lines:] if lines else []
        return ok("\n".join(kept))

    # ----------------------------------------------------------------- shutdown
    async def _shutdown(self, user: str, args: list[str]) -> CommandResult:
        if args != ["-h", "now"]:
            return fail("usage: shutdown -h now", 2)
        if user != "ipicsadmin":
            return fail("shutdown: Permission denied: only ipicsadmin may halt the server")
        text = (
            f"\nBroadcast message from {user}@{self.server.cfg.name}:\n\n"
            "The system is going down for system halt NOW!\n"
        )
        # After the session has closed: stop like a halted machine (the lab powers it
        # back up).  SIGTERM runs the normal shutdown, so nothing written is lost.
        return CommandResult(text, close=True, after_close=lambda: os.kill(os.getpid(), signal.SIGTERM))


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_RELATIVE = re.compile(r"^([+-]\d{1,9})\s*(second|minute|hour|day)s?$")  # bounded: no float overflow
_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%a %b %d %H:%M:%S UTC %Y",
    "%a %b %d %H:%M:%S %Y",
)


def parse_date(text: str, now: float) -> float:
    """``date -s``: an absolute UTC time, ``HH:MM:SS`` today, or ``+N minutes``."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        unit = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[m.group(2)]
        return now + int(m.group(1)) * unit
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    try:
        t = datetime.strptime(text, "%H:%M:%S").time()
    except ValueError:
        raise ValueError('use "YYYY-MM-DD HH:MM:SS", "HH:MM:SS" or "+N minutes"') from None
    today = datetime.fromtimestamp(now, tz=UTC).date()
    return datetime.combine(today, t, tzinfo=UTC).timestamp()


def _format_date(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
