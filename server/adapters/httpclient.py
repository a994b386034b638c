"""The one HTTP client helper: JSON in, (status, JSON) out, with a timeout.

Used by the peer link, the trust exchange, the lab supervisor, tests and benchmarks.
A refused or timed-out connection raises ``Unreachable``; HTTP errors are returned,
not raised, because a 4xx from a server is an answer the caller acts on.

And the one place that decides how a server's client API is reached: on loopback
plain ``http`` (the lab on one desktop), anywhere else ``https`` with the server's
certificate (``scheme_for``, ``normalize_address``).  An ``https`` server is verified
against the system's CAs plus those this process was told to trust
(``trust_ca_file``: a server's ``--ca-file``, a client's ``--ca-file`` or its lab file).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp


class PlainHttpRefused(ValueError):
    """An ``http://`` address off loopback: it would carry passwords in the clear."""


class Unreachable(Exception):
    """The server did not answer: refused, reset, timed out, or TLS failed."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause

    @property
    def untrusted_certificate(self) -> bool:
        """The server answered with a certificate this process does not trust."""
        return isinstance(self.cause, ssl.SSLCertVerificationError)


@dataclass
class Reply:
    status: int
    body: Any
    #: the answer's headers (``Retry-After``, ``WWW-Authenticate``, ``Allow`` ...), case-insensitive
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


class ApiClient:
    """A base URL, an optional bearer token, and one pooled aiohttp session."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        connector = aiohttp.TCPConnector(
            ssl=ssl_context if ssl_context is not None else client_ssl_context(),
            limit=100,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _headers(self, extra: dict | None) -> dict:
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict | None = None,
        timeout_s: float | None = None,
        binary: bool = False,
        idle_timeout_s: float | None = None,
    ) -> Reply:
        """``binary``: a 2xx body is returned as bytes (a photo, a video), not parsed.
        ``idle_timeout_s``: a deadline on progress (a transfer that may be large): the
        connection, and every wait for the answer's next bytes, within it; then only a
        ``timeout_s`` given bounds the whole (the time to send a body, say)."""
        if idle_timeout_s is None:
            timeout = aiohttp.ClientTimeout(total=timeout_s or self.timeout_s)
        else:
            timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=idle_timeout_s, sock_read=idle_timeout_s)
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, data=data, headers=self._headers(headers), timeout=timeout
            ) as resp:
                raw = await resp.read()
                body: Any
                if binary and 200 <= resp.status < 300:
                    return Reply(resp.status, raw, resp.headers.copy())
                try:
                    body = jsonlib.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                return Reply(resp.status, body, resp.headers.copy())
        # ClientError also covers an answer that is not HTTP (an SSH port, say).
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError) as exc:
            raise _unreachable(f"{method} {self.base_url}{path}", exc) from exc

    async def get(self, path: str, **kw) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw) -> Reply:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw) -> Reply:
        return await self.request("PUT", path, json=json, **kw)

    async def delete(self, path: str, **kw) -> Reply:
        return await self.request("DELETE", path, **kw)

    async def websocket(self, path: str, *, heartbeat_s: float | None = None):
        """A WebSocket to ``path`` with this client's token; ``Unreachable`` if refused."""
        try:
            # The handshake within the client's timeout: a paused server (SIGSTOP) still
            # accepts the TCP connection and would otherwise hold the caller for minutes.
            # (asyncio.timeout, not wait_for: under 3.11 wait_for can swallow the caller's
            # cancellation when the handshake completes at that moment.)
            async with asyncio.timeout(self.timeout_s):
                return await self._session.ws_connect(
                    self.base_url + path,
                    headers=self._headers(None),
                    heartbeat=heartbeat_s,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self.timeout_s),
                )
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.WSServerHandshakeError, OSError) as exc:
            raise _unreachable(f"WebSocket {self.base_url}{path}", exc) from exc


def _unreachable(what: str, exc: BaseException) -> Unreachable:
    cause = exc
    inner = getattr(exc, "os_error", None) or getattr(exc, "certificate_error", None)
    if isinstance(inner, ssl.SSLError):
        cause = inner
    if isinstance(cause, ssl.SSLCertVerificationError):
        # What to do, not only what failed: the lab's servers carry its CA's certificates.
        why = cause.verify_message or "certificate verify failed"
        return Unreachable(
            f"{what}: the server's certificate is not trusted ({why}); give this program the CA "
            "certificate that signed it (--ca-file FILE, or the lab's lab.json)",
            cause,
        )
    return Unreachable(f"{what}: {exc or type(exc).__name__}", cause)


# ------------------------------------------------------------------ trust (https)
#: the CA certificates trusted besides the system's, read when trusted (PEM by path): a
#: lab's folder, CA included, may be gone long before this process ends (a test session
#: or a benchmark runs many labs), and the context is built again at each new trust
_trusted_cas: dict[Path, str] = {}
_context: ssl.SSLContext | None = None


def trust_ca_file(path: Path) -> None:
    """Trust the CA certificate(s) in ``path`` for every ``https`` call of this process,
    besides the system's; ``ValueError`` saying what is wrong with the file."""
    global _context
    path = Path(path).expanduser().resolve()
    if path in _trusted_cas:
        return
    try:
        pem = path.read_text()
        ssl.create_default_context().load_verify_locations(cadata=pem)
    except FileNotFoundError:
        raise ValueError(f"the CA certificate {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ssl.SSLError) as exc:
        raise ValueError(f"{path} holds no CA certificate (PEM): {getattr(exc, 'reason', None) or exc}") from None
    _trusted_cas[path] = pem
    _context = None


def client_ssl_context() -> ssl.SSLContext:
    """How this process verifies an ``https`` server: the system's CAs and the CAs given
    to ``trust_ca_file``, host names checked (one context, built once per change)."""
    global _context
    if _context is None:
        ctx = ssl.create_default_context()
        for pem in _trusted_cas.values():
            ctx.load_verify_locations(cadata=pem)
        _context = ctx
    return _context


# ------------------------------------------------------------------ addresses
def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: this machine only."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scheme_for(host: str) -> str:
    """``http`` on loopback, ``https`` anywhere else: what crosses a network is encrypted."""
    return "http" if is_loopback(host) else "https"


def normalize_address(address: str) -> str:
    """A server's client API as a user types it -> ``scheme://host:port``.

    An IP address or name alone (the chapter has the administrator type the partner's
    IP address), ``host:port``, or a URL.  Without a scheme: ``http`` on loopback,
    ``https`` elsewhere (``scheme_for``), the port 80 or 443 when none is given.  An
    ``https`` URL is taken as it is; an ``http`` one only on loopback: off it, plain
    HTTP would carry passwords and tokens in the clear."""
    address = address.strip()
    if not address or len(address) > 255 or not address.isprintable() or any(c.isspace() for c in address):
        raise ValueError("the partner address must be host:port or an http URL")
    explicit = "://" in address
    if not explicit:
        # A bare IPv6 address has colons but no port: bracket it, or urlsplit reads a port.
        if address.count(":") > 1 and not address.startswith("["):
            address = f"[{address}]"
        address = "//" + address
    parts = urlsplit(address)
    if (
        (explicit and parts.scheme not in ("http", "https"))
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ValueError("the partner address must be host:port or an http URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the partner address has an invalid port") from None
    scheme = parts.scheme if explicit else scheme_for(parts.hostname)
    if scheme == "http" and not is_loopback(parts.hostname):
        raise PlainHttpRefused(
            f"plain http to {parts.hostname} is refused: off this machine a server's client API is "
            f"reached over https only (type {parts.hostname} or https://{parts.hostname}:PORT)"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"
