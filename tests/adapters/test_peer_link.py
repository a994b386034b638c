"""The peer link's listener, in-process with real sockets and real TLS.

Issue 14: connections to the heartbeat port that never finish their TLS handshake were
kept for asyncio's default 60 s; a stranger cannot finish it (the pinned certificate is
demanded), so the listener drops it after ``handshake_timeout_s``.

Issue 17: a partner that never answers (a silent partition) must not starve the
heartbeats, and every call ends by its deadline.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from ipics_lab.supervisor import free_port_on, wait_until
from ipics_server.adapters.certs import ServerIdentity
from ipics_server.adapters.httpclient import Unreachable
from ipics_server.adapters.peer import Deadline, PeerLink

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


TRICKLE_CHUNKS = 10


def _hanging_routes(release: asyncio.Event, hanging: list[web.Request]) -> list[web.RouteDef]:
    """A partner whose bulk answers hang until ``release`` (a silent partition for
    those calls; ``hanging`` lists them) while its heartbeats are answered, and one that
    trickles its bytes."""

    async def hang(request: web.Request) -> web.Response:
        hanging.append(request)
        await release.wait()
        return web.json_response({"late": True})

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"chunks": "')
        for _ in range(TRICKLE_CHUNKS):
            await asyncio.sleep(0.1)  # each gap well within the deadline, the whole not
            await resp.write(b"x" * 1024)
        await resp.write(b'"}')
        await resp.write_eof()
        return resp

    return [web.get("/peer/hang", hang), web.get("/peer/trickle", trickle), web.post("/peer/heartbeat", _pong)]


async def test_hung_bulk_calls_never_starve_heartbeats_and_end_by_their_progress_deadline(tmp_path):
    """More bulk calls hung than a connection pool holds (aiohttp's 100): heartbeats
    still go through their own lane at once; a transfer that keeps sending outlives
    its progress deadline; one that falls silent ends at it; released, the same link
    serves bulk calls again."""
    mine = ServerIdentity(tmp_path / "mine", "primary", HOST)
    partner = ServerIdentity(tmp_path / "partner", "secondary", PARTNER_HOST)
    port = free_port_on(HOST, PARTNER_HOST)
    release, hanging = asyncio.Event(), []
    link = PeerLink(mine, HOST, _hanging_routes(release, hanging))
    idle = {"s": 1.5}  # the partner may be silent this long on a bulk call
    other = PeerLink(partner, PARTNER_HOST, [], deadline=lambda body_bytes: Deadline(total_s=None, idle_s=idle["s"]))
    await link.start(partner.cert_pem, PARTNER_HOST, port)
    await other.start(mine.cert_pem, HOST, port)
    hung = [asyncio.ensure_future(other.call("GET", "/peer/hang")) for _ in range(101)]
    try:
        # The hung calls hold every connection the bulk lane's pool has.
        await wait_until(lambda: _at_least(hanging, 100), 5, "100 bulk calls hung on the partner")
        started = time.monotonic()
        for _ in range(5):
            assert (await other.heartbeat({"beat": True}, timeout_s=0.3)).ok
        assert time.monotonic() - started < 1.0

        results = await asyncio.gather(*hung, return_exceptions=True)
        assert all(isinstance(r, Unreachable) for r in results), {type(r) for r in results}
        # The silent ones end at their deadline (the 101st after a slot freed).
        assert time.monotonic() - started < 2 * 1.5 + 1

        # 1.0 s in all, 0.1 s gaps: six times the gap, so a loaded machine's late wake-up
        # (both ends share this loop) is no silence, and still well short of the whole
        idle["s"] = 0.6
        slow = await other.call("GET", "/peer/trickle")
        assert slow.ok and len(slow.body["chunks"]) == TRICKLE_CHUNKS * 1024

        release.set()
        assert (await other.call("GET", "/peer/hang")).body == {"late": True}
    finally:
        release.set()
        for h in hung:
            h.cancel()
        await link.stop()
        await other.stop()


async def _at_least(items: list, count: int) -> bool:
    return len(items) >= count
