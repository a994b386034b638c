"""The zygote: a process that imports the server once and forks every server (and media
router) the lab starts, so a pair in a test does not pay a fresh interpreter and the
server's imports (about half a second of CPU per server) every time.

    python -m ipics_lab.zygote --fd N [--preload MODULE ...]

A child is a real, separate process, as if started with ``python -m MODULE ARGS``: its
own pid and session, stdin and stdout on /dev/null, stderr appended to the file asked
for, the environment and working directory asked for; ``kill -9`` kills it alone.  It
runs the module with ``runpy`` as the interpreter does, from the modules imported
here before the fork (copy-on-write: none of them has run any server code).

The protocol, on the SOCK_SEQPACKET socket inherited as ``--fd`` (one JSON message per
packet): the parent sends ``{"module", "args", "env", "cwd", "stderr"}``; the zygote
answers ``{"pid": N}`` with a pidfd of the child attached (no pid reuse can make it
name another process), or ``{"error": text}``; when a child ends, ``{"exit": N,
"code": C}`` (C as ``subprocess.Popen.returncode``: negative for a signal).  End of
file: the parent is gone, and the zygote exits.  Children outlive it as they would
outlive the parent that started them with ``subprocess``: a test that leaks a server
is seen leaking it.

The zygote itself starts no thread and installs no signal handler, so a child begins
as a fresh interpreter would: one thread, default signal dispositions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import selectors
import socket
import sys
import traceback

from ipics_lab.launcher import run_module

#: what a server and a media router import at start, imported here once
PRELOAD = ("ipics_server.cli", "ipics_server.app", "ipics_server.media.__main__")
MAX_MESSAGE = 1 << 20  # a request carries the environment: a few kB


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ipics_lab.zygote", description=__doc__.split("\n\n")[0])
    p.add_argument("--fd", type=int, required=True, help="the SOCK_SEQPACKET socket to the parent")
    p.add_argument("--preload", action="append", default=None, help="a module to import before forking")
    ns = p.parse_args(argv)
    for name in ns.preload if ns.preload is not None else PRELOAD:
        importlib.import_module(name)
    Zygote(socket.socket(fileno=ns.fd)).serve()
    return 0


class Zygote:
    def __init__(self, control: socket.socket):
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        #: a pidfd per running child, readable once it has ended
        self.children: dict[int, int] = {}

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    data = self.control.recv(MAX_MESSAGE)
                    if not data:
                        return  # the parent is gone
                    self._start(json.loads(data))
                else:
                    self._reap(key.data)

    def _start(self, request: dict) -> None:
        try:
            pid = os.fork()
        except OSError as exc:
            self._send({"error": f"fork failed: {exc}"})
            return
        if pid == 0:
            _run_child(request, inherited=[self.control.fileno(), self.selector, *self.children.values()])
        pidfd = os.pidfd_open(pid)  # the child is not reaped before this: it cannot be another process
        self.children[pid] = pidfd
        self.selector.register(pidfd, selectors.EVENT_READ, data=pid)
        self._send({"pid": pid}, pidfd)

    def _reap(self, pid: int) -> None:
        pidfd = self.children.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        self._send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def _send(self, message: dict, fd: int | None = None) -> None:
        data = json.dumps(message).encode()
        try:
            if fd is None:
                self.control.send(data)
            else:
                socket.send_fds(self.control, [data], [fd])
        except OSError:
            pass  # the parent is gone: the next read says so


def _run_child(request: dict, inherited: list) -> None:
    """In the forked child: become the process asked for, run it, exit with its status."""
    code = 1
    try:
        os.setsid()  # its own session, as subprocess's start_new_session=True
        for thing in inherited:
            if isinstance(thing, selectors.BaseSelector):
                thing.close()
            else:
                os.close(thing)
        _redirect(request["stderr"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["module"], *request["args"]]  # runpy puts the module's path first
        code = run_module(request["module"])
    except BaseException:  # noqa: BLE001 (the child must never return into the zygote's loop)
        traceback.print_exc()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _redirect(stderr_path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(err, 2)
    os.close(devnull)
    os.close(err)


if __name__ == "__main__":
    sys.exit(main())
