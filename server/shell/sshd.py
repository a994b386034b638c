"""The SSH server of one emulated IPICS server (asyncssh): how administrators reach the shell.

Password logins only, for the shell users (``ipicsadmin``, ``informix``), checked by
``Shell.authenticate``.  A session is either interactive (banner, prompt, one command
per line, with asyncssh's line editor when the client asks for a pty) or one exec
request (``ssh host 'date'``: the command's output and exit status).  The host key
comes from ``hostkey``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncssh

from .interpreter import SHELL_USERS, CommandResult, Shell

log = logging.getLogger("ipics.sshd")

#: longest command line the shell reads; a longer one is answered with an error
MAX_LINE_CHARS = 4096
#: how long a closing session waits for the client to confirm before ``after_close`` runs
CLOSE_WAIT_S = 5.0
LINE_TOO_LONG = f"-bash: line too long (more than {MAX_LINE_CHARS} characters)\n"
INTERNAL_ERROR = "-bash: internal error, see the server log\n"


class ShellSSHServer:
    """Listens for SSH clients and runs each session's lines through the shell."""

    def __init__(self, shell: Shell, host_key: asyncssh.SSHKey):
        self._shell = shell
        self._host_key = host_key
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); return the bound port."""
        self._acceptor = await asyncssh.listen(
            host,
            port,
            server_factory=lambda: _Auth(self._shell, self._connections),
            server_host_keys=[self._host_key],
            process_factory=self._session,
            # A pty gets asyncssh's line editor, which stops taking characters past its
            # cap and hands over what it took: one more than the shell reads, so a longer
            # line reaches ``_LineReader`` too long and is refused, never cut and run.
            line_editor=True,
            max_line_length=MAX_LINE_CHARS + 1,
            errors="replace",
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            sftp_factory=None,
            reuse_address=True,
        )
        self.port = self._acceptor.get_port()
        log.info("SSH server listening on %s:%s (host key %s)", host, self.port, self._host_key.get_fingerprint())
        return self.port

    async def close(self) -> None:
        """Stop listening and end every open connection (a power-off ends sessions too)."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        for conn in connections:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), CLOSE_WAIT_S)

    def _session(self, process: asyncssh.SSHServerProcess) -> Awaitable[None]:
        # Not a coroutine: the session is set up before asyncssh processes input typed ahead.
        return _Session(self._shell, process).run()


class _Session:
    """One SSH channel: an exec request or an interactive shell, fed to the interpreter."""

    def __init__(self, shell: Shell, process: asyncssh.SSHServerProcess):
        self._shell = shell
        self._process = process
        self._username: str = process.get_extra_info("username")
        self._out = _Output(process)
        #: what the last command asked to run once the channel is closed
        self._after_close: Callable[[], None] | None = None
        self._status = 0  # of the last command, as bash's $?
        if process.command is None and process.subsystem is None:
            self._take_ctrl_c()

    async def run(self) -> None:
        process = self._process
        try:
            if process.subsystem is not None:
                process.stderr.write(f"subsystem request failed: {process.subsystem} is not available\n")
                status = 1
            elif process.command is not None:
                status = await self._exec(process.command)
            else:
                status = await self._interactive()
            process.exit(status)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass  # the client went away; nothing to tell it
        except Exception:
            log.exception("shell: the SSH session of %s failed", self._username)
            with contextlib.suppress(Exception):
                process.exit(1)
        if self._after_close is not None:  # even if the client left first: the command was accepted
            with contextlib.suppress(TimeoutError, asyncssh.Error):
                await asyncio.wait_for(process.wait_closed(), CLOSE_WAIT_S)
            self._after_close()

    async def _exec(self, command: str) -> int:
        log.info("shell: %s ran a command over SSH", self._username)
        if len(command) > MAX_LINE_CHARS:
            await self._out.write(LINE_TOO_LONG)
            return 2
        status = 0
        # `ssh host $'a\nb'` runs both lines, as a login shell would
        for line in command.split("\n"):
            result = await self._run(line)
            status = result.exit_status
            if result.close:
                break
        return status

    async def _interactive(self) -> int:
        log.info(
            "shell: %s logged in over SSH (%s)",
            self._username,
            "pty" if self._process.get_terminal_type() is not None else "no pty",
        )
        lines = _LineReader(self._process)
        await self._out.write(self._shell.banner(self._username) + self._prompt())
        while True:
            try:
                line = await lines.readline()
            except LineTooLong:
                await self._out.write(LINE_TOO_LONG + self._prompt())
                self._status = 2
                continue
            except Interrupted:  # Ctrl-C: the line is dropped, a new prompt
                await self._out.write("^C\n" + self._prompt())
                self._status = 130
                continue
            except (asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                continue
            if line is None:  # end of input (Ctrl-D): like bash, log out
                await self._out.write("logout\n")
                return self._status
            result = await self._run(line)
            self._status = result.exit_status
            if result.close:
                return self._status
            await self._out.write(self._prompt())

    def _take_ctrl_c(self) -> None:
        """With the line editor, Ctrl-C drops the line being typed; asyncssh's own binding
        only sends a break and keeps the line, which Enter would then run."""
        channel = self._process.channel  # typed as the plain channel it wraps
        if isinstance(channel, asyncssh.SSHLineEditorChannel):
            with contextlib.suppress(AssertionError):  # no line editor (no terminal)
                channel.register_key("\x03", self._on_ctrl_c)

    def _on_ctrl_c(self, line: str, pos: int) -> tuple[str, int]:
        self._status = 130
        self._process.stdout.write("^C\n" + self._prompt())
        return "", 0

    def _prompt(self) -> str:
        return self._shell.prompt(self._username)  # asked each time: the host name may change

    async def _run(self, line: str) -> CommandResult:
        """Run one line and show its output; remember what it asks to run after close."""
        try:
            result = await self._shell.run(self._username, line)
        except Exception:
            # The line itself is not logged: it may hold a password typed at the wrong prompt.
            log.exception("shell: a command of %s failed", self._username)
            result = CommandResult(INTERNAL_ERROR, 1)
        if result.close and result.after_close is not None:
            self._after_close = result.after_close
        await self._out.write(result.output)
        return result


class _Auth(asyncssh.SSHServer):
    """Password authentication against the shell's users; keeps track of connections."""

    def __init__(self, shell: Shell, connections: set):
        self._shell = shell
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        peer = self._conn.get_extra_info("peername") if self._conn else None
        ok = await self._shell.authenticate(username, password, client=peer[0] if peer else "")
        if not ok:
            # A user name that is not a shell user may be a password typed one prompt early.
            log.info(
                "shell: SSH login refused for %s",
                username if username in SHELL_USERS else "a user that is not a shell user",
            )
        return ok


class LineTooLong(Exception):
    pass


class Interrupted(Exception):
    """Ctrl-C while a line was typed (a break request, or ``^C`` on a pty without the
    line editor): the line is dropped."""


class _LineReader:
    """Whole lines from a session's input, none longer than ``MAX_LINE_CHARS``.

    asyncssh's ``readline`` would buffer a line of any length; this reads in chunks and
    drops an over-long line (raising ``LineTooLong`` once its end arrives).
    """

    def __init__(self, process: asyncssh.SSHServerProcess):
        self._stdin = process.stdin
        self._buf = ""
        self._dropping = False

    async def readline(self) -> str | None:
        """The next line without its end, or None at the end of input."""
        while True:
            end = self._buf.find("\n")
            ctrl_c = self._buf.rfind("\x03", 0, end if end >= 0 else len(self._buf))
            if ctrl_c >= 0:
                self._buf, self._dropping = self._buf[ctrl_c + 1 :], False
                raise Interrupted()
            if end >= 0:
                line, self._buf = self._buf[:end], self._buf[end + 1 :]
                if self._dropping or len(line) > MAX_LINE_CHARS:
                    self._dropping = False
                    raise LineTooLong()
                return line.rstrip("\r")
            if len(self._buf) > MAX_LINE_CHARS:
                self._buf, self._dropping = "", True
            try:
                chunk = await self._stdin.read(MAX_LINE_CHARS)
            except asyncssh.BreakReceived:
                self._buf, self._dropping = "", False
                raise Interrupted() from None
            if not chunk:  # end of input; a last line without its newline still counts
                line, self._buf = self._buf, ""
                if self._dropping:
                    self._dropping = False
                    raise LineTooLong()
                return line.rstrip("\r") if line else None
            self._buf += chunk


class _Output:
    """Writes to a session; on a pty without asyncssh's line editor (no terminal type),
    turns ``\\n`` into ``\\r\\n`` itself (the editor does it when it is on)."""

    def __init__(self, process: asyncssh.SSHServerProcess):
        term_type = process.get_terminal_type()
        self._crlf = term_type is not None and not term_type
        self._stdout = process.stdout

    async def write(self, text: str) -> None:
        if not text:
            return
        if self._crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        self._stdout.write(text)
        await self._stdout.drain()
