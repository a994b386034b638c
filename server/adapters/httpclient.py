"""The one HTTP client helper: JSON in, (status, JSON) out, with a timeout.

Used by the peer link, the trust exchange, the lab supervisor, tests and benchmarks.
A refused or timed-out connection raises ``Unreachable``; HTTP errors are returned,
not raised, because a 4xx from a server is an answer the caller acts on.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class Unreachable(Exception):
    """The server did not answer: refused, reset, timed out, or TLS failed."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


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
            ssl=ssl_context if ssl_context is not None else False, limit=100, enable_cleanup_closed=True
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
            cause = exc
            inner = getattr(exc, "os_error", None) or getattr(exc, "certificate_error", None)
            if isinstance(inner, ssl.SSLError):
                cause = inner
            raise Unreachable(f"{method} {self.base_url}{path}: {exc or type(exc).__name__}", cause) from exc

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
            raise Unreachable(f"WebSocket {self.base_url}{path}: {exc or type(exc).__name__}", exc) from exc


def normalize_address(address: str) -> str:
    """``host:port`` or a URL -> ``http://host:port`` (the partner's client API)."""
    address = address.strip()
    if not address or len(address) > 255 or not address.isprintable() or any(c.isspace() for c in address):
        raise ValueError("the partner address must be host:port or an http URL")
    if "://" not in address:
        address = "http://" + address
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError("the partner address must be host:port or an http URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the partner address has an invalid port") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"http://{host}:{port or 80}"
