"""The origin (``http://host:port``) every URL of the phone service starts with.

Cisco phones need absolute URLs in their XML objects and pushes; some firmware does
not resolve relative ones (``../shared/reference/ipphone-xml.md``).  A phone must come
back the way it came -- by a name, through NAT or a proxy's port -- so the origin is
the address the phone used: the request's ``Host`` header.

Host header injection: a ``Host`` is used only when it is a well-formed ``host[:port]``
(a DNS name of letters, digits and hyphens, a dotted IPv4 address or a bracketed IPv6
address; a port 1-65535).  Anything else -- a path, user info, spaces, control
characters, a bad port, no Host at all -- is ignored and the server's own listening
address is used.  A well-formed name that is not this server's is still taken: it
reaches only the one who sent it (phone pages are per session and answered
``Cache-Control: no-store``, so no shared cache keeps one), and the server never
stores it or posts to it: pushes carry the server's own address.
"""

from __future__ import annotations

import ipaddress
import re

from aiohttp import web

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_PORT = re.compile(r"[0-9]{1,5}")
MAX_HOST_CHARS = 255


def well_formed_host(value: str) -> bool:
    """Whether ``value`` is a ``host[:port]`` a phone could have connected to."""
    if not value or len(value) > MAX_HOST_CHARS or not value.isascii():
        return False
    if value.startswith("["):  # [IPv6]:port
        address, bracket, port = value[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return False
        return _ipv6(address) and _port(port[1:] if port else None)
    host, colon, port = value.partition(":")
    return _name_or_ipv4(host) and _port(port if colon else None)


def phone_origin(request: web.Request, own_address: str) -> str:
    """``scheme://host[:port]`` as the phone reached this server, else ``own_address``."""
    host = request.headers.get("Host", "")
    return f"{request.scheme}://{host}" if well_formed_host(host) else own_address.rstrip("/")


def _port(value: str | None) -> bool:
    return value is None or (_PORT.fullmatch(value) is not None and 1 <= int(value) <= 65535)


def _ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return "%" not in value  # a zone ID names an interface of the client, not a host


def _name_or_ipv4(value: str) -> bool:
    labels = value.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    if all(label.isdigit() for label in labels):  # numbers only: it must be an IPv4 address
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return False
    return True
