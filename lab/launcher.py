"""How the lab starts its processes (servers, media routers): ``spawn(argv, stderr=...)``.

Two launchers, one kind of process:

- ``POPEN`` runs the command line with ``subprocess.Popen`` (a fresh interpreter):
  ``ipics-lab up``, the trainer, benchmarks, and whatever needs the real command line.
- ``ZygoteLauncher`` forks ``python -m MODULE`` command lines of this interpreter from
  a zygote (``ipics_lab.zygote``) that imported the server once; anything else it runs
  with ``Popen``.  The lab's pytest plugin makes it the default for a test session: a
  pair then starts in a fraction of the time, and each server is still a real process
  of its own (its pid, its session, ``kill -9``).

Both hand back an object with the part of ``subprocess.Popen`` the lab uses: ``pid``,
``returncode``, ``poll()``, ``wait(timeout)``, ``send_signal(sig)``, ``kill()``,
``terminate()``.  ``use(launcher)`` sets the default that ``spawn`` uses.

Every process of the lab is a module of its packages run as ``python -m MODULE ARGS``;
``module_command`` is the one place that writes that command line, for an installation
with a Python interpreter and for the desktop bundle (``packaging/bundle.sh``), whose
executable is not one (``run_python_m`` is what it does with the command line).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Protocol

#: a custom audit event for every process the lab starts, however it starts it (a fork
#: by the zygote raises no ``subprocess.Popen`` event in this process)
AUDIT_EVENT = "ipics_lab.spawn"
#: real seconds to wait for the zygote's answer to a request (a fork takes milliseconds;
#: its first answer waits for its imports)
ANSWER_S = 60


def module_command(module: str, *args: str) -> list[str]:
    """The command line of ``python -m module args`` in this installation.

    With a Python interpreter, ``sys.executable`` is that interpreter.  In the desktop
    bundle (PyInstaller sets ``sys.frozen``), it is the bundle's own ``ipics-lab``, which
    takes the interpreter's ``-m`` as its first argument (``run_python_m``): the child
    runs the same module with the same imports in both, and a process list shows what
    each process is (``.../ipics-lab -m ipics_server server --name primary ...``)."""
    return [sys.executable, "-m", module, *args]


def module_of(argv: list[str]) -> tuple[str, list[str]] | None:
    """``(module, args)`` of a ``module_command`` command line; None for any other."""
    if len(argv) < 3 or argv[:2] != [sys.executable, "-m"]:
        return None
    return argv[2], argv[3:]


def run_python_m(argv: list[str]) -> int | None:
    """What the bundle's executable does first with its arguments (``sys.argv[1:]``):
    ``-m MODULE ARGS`` runs the module as ``python -m`` does and gives its exit status;
    anything else is the ``ipics-lab`` command's (None)."""
    if argv[:1] != ["-m"]:
        return None
    if len(argv) < 2 or argv[1].startswith("-"):
        print("ipics-lab -m: name the module to run: ipics-lab -m MODULE [ARGS ...]", file=sys.stderr)
        return 2
    module = argv[1]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package that is not there
        found = False
    if not found:
        print(f"ipics-lab -m: no module named {module} in this bundle", file=sys.stderr)
        return 1
    sys.argv = [module, *argv[2:]]  # runpy puts the module's path first, as python -m does
    return run_module(module)


def run_module(module: str) -> int:
    """``python -m module`` in this process (``sys.argv`` set already): 0, the
    SystemExit's status, or 1 after an uncaught exception."""
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 (as the interpreter: print it, exit 1)
        traceback.print_exc()
        return 1
    return 0


class Child(Protocol):
    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...
    def terminate(self) -> None: ...


class Launcher(Protocol):
    def spawn(self, argv: list[str], *, stderr: Path, env: dict[str, str] | None = None) -> Child: ...


class PopenLauncher:
    """A fresh interpreter per process: stdin and stdout on /dev/null, stderr appended
    to ``stderr``, its own session (a Ctrl-C in the lab's terminal is not a power cut)."""

    def spawn(self, argv: list[str], *, stderr: Path, env: dict[str, str] | None = None) -> Child:
        with open(stderr, "ab") as err:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
            )


POPEN = PopenLauncher()
_default: Launcher = POPEN


def spawn(
    argv: list[str], *, stderr: Path, env: dict[str, str] | None = None, launcher: Launcher | None = None
) -> Child:
    """Start ``argv`` with ``launcher`` (default: the one ``use`` set, else ``POPEN``)."""
    sys.audit(AUDIT_EVENT, argv)
    return (launcher or _default).spawn(argv, stderr=stderr, env=env)


def use(launcher: Launcher) -> Launcher:
    """Make ``launcher`` the default; returns the one it replaces."""
    global _default
    previous, _default = _default, launcher
    return previous


class ZygoteError(RuntimeError):
    pass


class ZygoteLauncher:
    """Forks ``module_command`` command lines from a zygote; the zygote itself is
    started on the first ``spawn`` (or by ``start``, to import while other work goes on)
    and exits when ``close`` is called or this process ends."""

    def __init__(self, preload: tuple[str, ...] | None = None):
        self.preload = preload
        self._lock = threading.Lock()
        self._zygote: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        #: exit codes the zygote reported, by pid, until their child asks
        self._exits: dict[int, int] = {}

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._zygote is not None:
            if self._zygote.poll() is not None:
                raise ZygoteError(f"the zygote exited with {self._zygote.returncode}")
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = module_command("ipics_lab.zygote", "--fd", str(theirs.fileno()))
        for module in self.preload or ():
            argv += ["--preload", module]
        try:
            with theirs:
                # Its own session: a Ctrl-C in the terminal stops the test run, which then
                # stops its servers; the zygote ends when this process closes the socket.
                self._zygote = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, pass_fds=[theirs.fileno()], start_new_session=True
                )
        except BaseException:
            ours.close()
            raise
        self._control = ours

    def spawn(self, argv: list[str], *, stderr: Path, env: dict[str, str] | None = None) -> Child:
        if (command := module_of(argv)) is None:
            return POPEN.spawn(argv, stderr=stderr, env=env)
        module, args = command
        request = {
            "module": module,
            "args": args,
            "env": dict(os.environ if env is None else env),
            "cwd": os.getcwd(),
            "stderr": str(Path(stderr).resolve()),
        }
        with self._lock:
            self._ensure_started()
            self._connected().send(json.dumps(request).encode())
            while True:  # exit reports may come first
                message, fds = self._receive(ANSWER_S)
                if "error" in message:
                    raise ZygoteError(message["error"])
                if "pid" in message:
                    return ForkedChild(message["pid"], fds[0], self)

    def _connected(self) -> socket.socket:
        """The control socket to the zygote (open from the start to ``close``)."""
        if self._control is None:
            raise ZygoteError("the zygote is not running (not started, or closed)")
        return self._control

    def _receive(self, timeout_s: float) -> tuple[dict, list[int]]:
        """The zygote's next message; an exit report is also kept for its child."""
        control = self._connected()
        ready, _, _ = select.select([control], [], [], timeout_s)
        if not ready:
            raise ZygoteError(f"the zygote did not answer within {timeout_s:.0f} s")
        data, fds, _, _ = socket.recv_fds(control, 4096, 1)
        if not data:
            raise ZygoteError("the zygote is gone")
        message = json.loads(data)
        if "exit" in message:
            self._exits[message["exit"]] = message["code"]
        return message, fds

    def exit_code(self, pid: int, timeout_s: float = ANSWER_S) -> int:
        """The exit code of a child that has ended (its pidfd said so): the zygote
        reports it as soon as it has reaped it."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while pid not in self._exits:
                _, fds = self._receive(max(0.0, deadline - time.monotonic()))
                for fd in fds:  # an answer nobody waits for: a spawn that timed out
                    os.close(fd)
            return self._exits.pop(pid)

    def close(self) -> None:
        """The zygote exits; children still running keep running (as Popen's would)."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._zygote is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._zygote.wait(10)
                if self._zygote.poll() is None:
                    self._zygote.kill()
                    self._zygote.wait()
                self._zygote = None


class ForkedChild:
    """A process the zygote forked, seen through its pidfd: a signal can only reach this
    process, and its end is seen at once, though it is the zygote's child."""

    def __init__(self, pid: int, pidfd: int, zygote: ZygoteLauncher):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd: int | None = pidfd
        self._zygote = zygote

    def _ended(self, timeout: float | None) -> int | None:
        """The exit code once the process has ended, else None (still running after
        ``timeout`` seconds; ``None``: wait as long as it takes)."""
        if self.returncode is not None:
            return self.returncode
        pidfd = self._pidfd
        assert pidfd is not None  # closed only once the return code is known
        ready, _, _ = select.select([pidfd], [], [], timeout)
        if not ready:
            return None
        self.returncode = code = self._zygote.exit_code(self.pid)
        os.close(pidfd)
        self._pidfd = None
        return code

    def poll(self) -> int | None:
        return self._ended(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._ended(timeout)
        if code is None:
            assert timeout is not None  # without a timeout, select returns only when it has ended
            raise subprocess.TimeoutExpired([f"pid {self.pid}"], timeout)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            assert self._pidfd is not None  # open while the process runs
            with contextlib.suppress(ProcessLookupError):  # ended just now
                signal.pidfd_send_signal(self._pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
