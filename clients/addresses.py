"""The address of this host that a server reaches it by, for what a server calls back.

A phone listens for the pushes of its phone service, a telephone for the dial engine's
calls: each must listen on, and announce, an address the servers can reach.  That is
the local address the kernel would send from to the server (a UDP socket's connect sends
nothing): 127.0.0.1 for a lab on loopback, this host's address on the lab's network in
the sites topology (a server in another namespace cannot reach this host's loopback),
the device's own address on a real network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str | None, int | None]:
    """Scheme, host and port of ``url``, the scheme's default port filled in: a page's URL
    built from a request's Host header (``https://198.18.1.12/phone/...``: a client leaves
    the default port out) is of the same server as ``https://198.18.1.12:443``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS.get(parts.scheme)


def address_seen_by(server_urls: Iterable[str]) -> str:
    """The local address towards the first of ``server_urls`` this host has a route to;
    loopback if none (no server known yet)."""
    for url in server_urls:
        host = urlsplit(url).hostname
        if not host:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((host, 9))  # the discard port; nothing is sent
                return str(probe.getsockname()[0])
        except OSError:
            continue  # no route to it: the next one
    return LOOPBACK
