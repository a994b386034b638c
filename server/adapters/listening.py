"""Why a server could not listen where it was told, in one sentence an operator acts on.

The kernel says ``[Errno 99] Cannot assign requested address``; the operator needs to
hear that the address given is not one of this host's (a typo, or the wrong host's
address pasted into its configuration), or that the port is taken, and by whom to ask.
"""

from __future__ import annotations

import errno
import socket


class CannotListen(OSError):
    """``str()`` is the sentence."""


def cannot_listen(what: str, host: str, port: int, exc: OSError) -> CannotListen:
    where = f"cannot listen on {host}:{port} for {what}"
    if exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this host (`ip -br addr` lists them)"
    elif exc.errno == errno.EADDRINUSE:
        why = f"port {port} is in use on {host} (`ss -ltnp` shows which process has it)"
    elif exc.errno == errno.EACCES:
        why = f"port {port} is below 1024, which needs root or the capability CAP_NET_BIND_SERVICE"
    else:
        why = exc.strerror or str(exc)
    refusal = CannotListen(f"{where}: {why}")
    refusal.errno = exc.errno
    return refusal


def bound_socket(what: str, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), or ``CannotListen``."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise cannot_listen(what, host, port, exc) from None
    return sock
