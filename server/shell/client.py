"""The lab's SSH client for the server shell (``ipics-lab shell``), with asyncssh.

The server's host key is pinned: the only key trusted is the one the server keeps in
its data directory, so a client never logs in to anything else.  Password login only;
no agent, no local keys, no ``~/.ssh/config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from typing import BinaryIO

import asyncssh

CONNECT_TIMEOUT_S = 10


class ShellLoginError(RuntimeError):
    """The shell could not be reached or refused the login; the message says which."""


async def connect(
    host: str, port: int, *, username: str, password: str, host_key_file: Path
) -> asyncssh.SSHClientConnection:
    try:
        host_key = asyncssh.read_public_key(host_key_file)
    except (OSError, asyncssh.KeyImportError) as exc:
        raise ShellLoginError(f"cannot read the server's SSH host key {host_key_file}: {exc}") from None
    try:
        return await asyncssh.connect(
            host,
            port,
            username=username,
            password=password,
            known_hosts=([host_key], [], []),
            client_keys=None,
            agent_path=None,
            config=[],
            preferred_auth="password,keyboard-interactive",
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except asyncssh.PermissionDenied:
        raise ShellLoginError(f"{username}@{host}: permission denied (wrong password?)") from None
    except asyncssh.HostKeyNotVerifiable:
        raise ShellLoginError(
            f"the SSH host key of {host}:{port} is not the one in {host_key_file}; not logging in"
        ) from None
    except asyncssh.Error as exc:
        raise ShellLoginError(f"SSH to {host}:{port} failed: {exc.reason}") from None
    except ConnectionRefusedError:
        raise ShellLoginError(f"cannot reach {host}:{port}: connection refused (is the lab running?)") from None
    except (TimeoutError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ShellLoginError(f"cannot reach {host}:{port}: {reason}") from None


async def run_command(conn: asyncssh.SSHClientConnection, command: str, *, stdout: BinaryIO, stderr: BinaryIO) -> int:
    """``ssh host 'command'``: its output, then its exit status."""
    result = await conn.run(command, check=False, encoding=None)
    for stream, data in ((stdout, result.stdout), (stderr, result.stderr)):
        if data:
            # encoding=None: the output is bytes (asyncssh types it as bytes or str either way)
            assert isinstance(data, bytes)
            stream.write(data)
            stream.flush()
    return _status(result.exit_status)


async def interactive(conn: asyncssh.SSHClientConnection, stdin_fd: int, *, stdout: BinaryIO, stderr: BinaryIO) -> int:
    """An interactive session without a pty: the local terminal edits the line, each line
    typed goes to the shell, its output comes back; ends when the shell closes."""
    process = await conn.create_process(encoding=None)
    typed = _read_in_thread(stdin_fd)

    async def send():
        while data := await typed.get():
            process.stdin.write(data)
        process.stdin.write_eof()  # Ctrl-D: the shell logs out

    async def show(reader: asyncssh.SSHReader, stream: BinaryIO):
        while data := await reader.read(65536):
            stream.write(data)
            stream.flush()

    sender = asyncio.ensure_future(send())
    try:
        await asyncio.gather(show(process.stdout, stdout), show(process.stderr, stderr))
        await process.wait_closed()
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, BrokenPipeError, asyncssh.Error):
            await sender
    return _status(process.exit_status)


def _status(exit_status: int | None) -> int:
    return exit_status if exit_status is not None else 1  # ended by a signal or a lost link


def _read_in_thread(fd: int) -> asyncio.Queue[bytes]:
    """Chunks read from ``fd`` (b"" at its end).  A daemon thread, because a blocked
    read cannot be cancelled and must not keep the process alive once the session ends;
    ``os.read`` holds no Python lock, so it cannot block the interpreter's exit either."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def reader():
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, data)
            except RuntimeError:  # the loop is closed: the session is over
                return
            if not data:
                return

    threading.Thread(target=reader, name="shell-stdin", daemon=True).start()
    return queue
