"""The peer link: mutual TLS between the two servers on the heartbeat port.

Both directions are real connections: this server listens on ``host:heartbeat_port``
and connects to the partner's.  Each side demands the other's pinned certificate.
A lab "cut" really drops traffic: cutting inbound closes the listening socket and every
open peer connection; cutting outbound closes the client and refuses to open another.

Two lanes toward the partner, each with its own connection pool: heartbeats, and the
rest (replication, snapshots, files, control messages).  Bulk calls hung in a silent
partition hold connections until their deadlines; they can never starve the heartbeats
that decide a takeover.  Every call has a deadline (the HA engine's ``ha/deadlines.py``
derives them from the heartbeat settings); a connection whose call timed out is closed,
not reused, so after the link heals the next call opens a fresh one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json as jsonlib
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography import x509

from .certs import ServerIdentity, explain_tls_failure, inspect
from .disconnects import quiet_disconnects
from .httpclient import ApiClient, Reply, Unreachable

log = logging.getLogger("ipics.peer")

PEER_MAX_BODY_BYTES = 512 * 1024 * 1024  # snapshots and replicated files
#: real seconds a connection to the heartbeat port may take to finish its TLS handshake
#: before it is dropped.  The partner needs milliseconds, even across sites; anyone else
#: cannot finish it (the pinned certificate is demanded), so this bounds how long a
#: stranger can hold a socket open (asyncio's default is 60 s).
HANDSHAKE_TIMEOUT_S = 5.0


class LinkCut(Unreachable):
    """The lab cut this direction of the link."""


@dataclass(frozen=True)
class Deadline:
    """How long a call may take, in real seconds: ``idle_s`` bounds the connection and
    every wait for the answer's next bytes (a deadline on progress); ``total_s``, if set,
    the whole call."""

    total_s: float | None
    idle_s: float


#: what a call waits without deadlines from the HA engine (a link on its own, in tests)
DEFAULT_DEADLINE = Deadline(total_s=None, idle_s=5.0)


@dataclass(frozen=True)
class _Partner:
    """The trusted partner the link runs for: its pinned certificate, where it is."""

    pem: str
    fingerprint: str
    host: str
    port: int


class PeerLink:
    def __init__(
        self,
        identity: ServerIdentity,
        host: str,
        routes: Iterable[web.RouteDef] = (),
        *,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        deadline: Callable[[int], Deadline] = lambda body_bytes: DEFAULT_DEADLINE,
    ):
        self.identity = identity
        self.handshake_timeout_s = handshake_timeout_s
        self.host = host
        #: the deadline of a call sending a body of so many bytes
        self._deadline = deadline
        self._routes = list(routes)
        self._runner: web.AppRunner | None = None
        self._client: ApiClient | None = None
        #: the heartbeats' own lane: its pool holds no bulk call
        self._heartbeat_client: ApiClient | None = None
        self._partner: _Partner | None = None
        self.port: int | None = None
        self.cut_inbound = False
        self.cut_outbound = False
        #: the last TLS failure, as a sentence; None once a call succeeds
        self.error: str | None = None

    def serve(self, routes: Iterable[web.RouteDef]) -> None:
        """The route table the listener serves (the server's peer views, given by the
        app's wiring before the link starts)."""
        self._routes = list(routes)

    @property
    def configured(self) -> bool:
        return self._partner is not None

    async def start(self, partner_pem: str, partner_host: str, port: int) -> None:
        """(Re)start listener and client for this partner and heartbeat port."""
        await self.stop()
        self._partner = _Partner(partner_pem, inspect(partner_pem).fingerprint, partner_host, port)
        self.port = port
        await self._open_client()
        await self._open_listener()

    async def stop(self) -> None:
        await self._close_listener()
        await self._close_client()
        self._partner = None

    async def _open_client(self) -> None:
        partner = self._partner
        if self.cut_outbound or partner is None:
            return
        ctx = self.identity.client_context(partner.pem)
        host = f"[{partner.host}]" if ":" in partner.host else partner.host
        self._client = ApiClient(f"https://{host}:{partner.port}", ssl_context=ctx)
        self._heartbeat_client = ApiClient(f"https://{host}:{partner.port}", ssl_context=ctx)

    async def _close_client(self) -> None:
        clients = (self._client, self._heartbeat_client)
        self._client = self._heartbeat_client = None
        for client in clients:
            if client is not None:
                await client.close()

    def cannot_listen_on(self, port: int) -> str | None:
        """Why this server could not take heartbeats on ``port`` (in use, say), or None.
        Asked before a new Heartbeat Port is saved, so a port in use is refused rather
        than breaking the link.  The port this link listens on now is fine."""
        if port == self.port and self._runner is not None:
            return None
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the listener does
            try:
                probe.bind((self.host, port))
            except OSError as exc:
                return f"cannot listen on heartbeat port {port} on {self.host}: {exc.strerror or exc}"
        return None

    async def _open_listener(self) -> None:
        partner = self._partner
        if self.cut_inbound or partner is None or self._runner is not None:
            return
        app = web.Application(client_max_size=PEER_MAX_BODY_BYTES, middlewares=[quiet_disconnects, self._pinned_only])
        app.add_routes(self._routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = _PeerSite(
            runner,
            self.host,
            partner.port,
            ssl_context=self.identity.server_context(partner.pem),
            handshake_timeout_s=self.handshake_timeout_s,
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            self.error = f"cannot listen on heartbeat port {partner.port}: {exc.strerror or exc}"
            log.error("%s", self.error)
            return
        self._runner = runner

    async def _close_listener(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @web.middleware
    async def _pinned_only(self, request: web.Request, handler):
        # TLS already demanded a certificate chained to the pinned one; check it is that
        # very certificate, so a second certificate made with the same key is refused too.
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        partner = self._partner
        if der is None or partner is None or hashlib.sha256(der).hexdigest() != partner.fingerprint:
            raise web.HTTPForbidden(text="peer certificate is not the pinned partner certificate")
        return await handler(request)

    # -- lab faults ---------------------------------------------------------------------
    async def cut(self, direction: str) -> None:
        if direction in ("both", "inbound"):
            self.cut_inbound = True
            await self._close_listener()
        if direction in ("both", "outbound"):
            self.cut_outbound = True
            await self._close_client()

    async def heal(self) -> None:
        self.cut_inbound = self.cut_outbound = False
        if self._partner is not None:
            if self._client is None:
                await self._open_client()
            await self._open_listener()

    async def _diagnose(self) -> str | None:
        """After a failed handshake, look at what the partner presents, unverified, to say
        whether it is the pinned certificate expired or another certificate altogether."""
        partner = self._partner
        if partner is None:  # stopped meanwhile
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(self.identity.cert_path, self.identity.key_path)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(partner.host, partner.port, ssl=ctx), self._deadline(0).idle_s
            )
        except (TimeoutError, OSError, ssl.SSLError):
            return None
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            writer.close()
        if der is None:
            return None
        presented = x509.load_der_x509_certificate(der)
        pinned = x509.load_pem_x509_certificate(partner.pem.encode())
        if presented.not_valid_after_utc <= dt.datetime.now(dt.UTC):
            return (
                f"partner certificate expired on {presented.not_valid_after_utc:%Y-%m-%d}: delete the HA "
                "trust and establish it again with renewed certificates"
            )
        if presented.public_key() != pinned.public_key() or hashlib.sha256(der).hexdigest() != partner.fingerprint:
            return "partner presented an unknown certificate, not the one pinned at trust"
        return None

    # -- calls ----------------------------------------------------------------------------
    async def call(self, method: str, path: str, json: Any = None, *, data: bytes | None = None) -> Reply:
        """A call on the bulk lane, within the deadline for its body's size."""
        if json is not None:
            data = jsonlib.dumps(json).encode()
        deadline = self._deadline(len(data) if data else 0)
        return await self._request(
            lambda: self._client,
            method,
            path,
            data=data,
            timeout_s=deadline.total_s,
            idle_timeout_s=deadline.idle_s,
        )

    async def heartbeat(self, json: Any, *, timeout_s: float) -> Reply:
        """A heartbeat on its own lane, answered within ``timeout_s`` real seconds."""
        return await self._request(
            lambda: self._heartbeat_client,
            "POST",
            "/peer/heartbeat",
            data=jsonlib.dumps(json).encode(),
            timeout_s=timeout_s,
        )

    async def _request(
        self,
        lane: Callable[[], ApiClient | None],
        method: str,
        path: str,
        *,
        data: bytes | None,
        timeout_s: float | None,
        idle_timeout_s: float | None = None,
    ) -> Reply:
        if self.cut_outbound:
            raise LinkCut("the peer link is cut (outbound)")
        client = lane()
        if client is None:
            raise Unreachable("no peer link: the servers are not trusted")
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            reply = await client.request(
                method, path, data=data, headers=headers, timeout_s=timeout_s, idle_timeout_s=idle_timeout_s
            )
        except Unreachable as exc:
            if isinstance(exc.cause, ssl.SSLError):
                self.error = await self._diagnose() or explain_tls_failure(exc.cause)
                log.warning("peer link: %s", self.error)
            raise
        if reply.status == 403 and isinstance(reply.body, str) and "pinned" in reply.body:
            self.error = "partner refused this server's certificate (it does not trust it any more)"
        else:
            self.error = None
        return reply


class _PeerSite(web.TCPSite):
    """A TLS listener whose unfinished handshakes are dropped after ``handshake_timeout_s``
    (aiohttp's ``TCPSite`` leaves asyncio's 60 s)."""

    def __init__(
        self, runner: web.AppRunner, host: str, port: int, *, ssl_context: ssl.SSLContext, handshake_timeout_s: float
    ):
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=True)
        self._handshake_timeout_s = handshake_timeout_s

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        server = self._runner.server
        assert server is not None  # the runner is set up before its sites start (as TCPSite asserts)
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            ssl_handshake_timeout=self._handshake_timeout_s,
        )
