"""The peer link's listener, in-process with real sockets and real TLS.

Issue 14: connections to the heartbeat port that never finish their TLS handshake were
kept for asyncio's default 60 s; a stranger cannot finish it (the pinned certificate is
demanded), so the listener drops it after ``handshake_timeout_s``.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from ipics_lab.supervisor import free_port_on
from ipics_server.adapters.certs import ServerIdentity
from ipics_server.adapters.peer import PeerLink

HOST, PARTNER_HOST = "127.0.0.1", "127.0.0.2"  # two hosts, one heartbeat port, as in the lab


async def _pong(request: web.Request) -> web.Response:
    return web.json_response({"pong": True})


async def test_a_handshake_never_finished_is_dropped_and_the_partner_still_gets_in(tmp_path):
    mine = ServerIdentity(tmp_path / "mine", "primary", HOST)
    partner = ServerIdentity(tmp_path / "partner", "secondary", PARTNER_HOST)
    port = free_port_on(HOST, PARTNER_HOST)
    link = PeerLink(mine, HOST, [web.get("/peer/ping", _pong)], handshake_timeout_s=0.5)
    other = PeerLink(partner, PARTNER_HOST, [])
    await link.start(partner.cert_pem, PARTNER_HOST, port)
    await other.start(mine.cert_pem, HOST, port)
    try:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
        # The server gives up on it: end of stream, within the timeout (not asyncio's 60 s).
        assert await asyncio.wait_for(reader.read(), 10) == b""
        assert time.monotonic() - started < 5
        writer.close()
        # The pinned partner completes its handshake as before.
        reply = await other.call("GET", "/peer/ping")
        assert reply.ok and reply.body == {"pong": True}
    finally:
        await link.stop()
        await other.stop()
