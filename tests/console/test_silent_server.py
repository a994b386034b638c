"""The console's server goes silent at the worst moment: just as it pushed a change, so
the console's fetch of the new configuration waits on it.  The console still says
offline by its deadline (``offline_deadline_s``), not at the fetch's.  And a login to a
silent server: its request deadline is the chapter's pause, not a second one after it.

A stub of the client API at the edge (this process, no pair): it answers a login and
the configuration, then, told to go silent, answers nothing and no ping of the events
socket, as a paused server or one cut off by a network that drops packets.  The pair
tests (tests/pair/test_silent_active.py) make a real one with SIGSTOP.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import WSMsgType, web

from ipics_clients import session as session_module
from ipics_clients.known_servers import UNREACHABLE, KnownServers
from ipics_clients.session import ConsoleSession, State, offline_deadline_s
from ipics_lab.supervisor import wait_until
from ipics_server.clock import Clock

from ..recording_clock import RecordingClock
from ..silent_server import SilentServer

TIME_SCALE = 0.01
SLACK_S = 1.0


@pytest.fixture
async def server():
    state = SimpleNamespace(url="", silent=False, awake=asyncio.Event(), fetches=0, push=asyncio.Queue())

    async def unless_silent() -> None:
        if state.silent:
            await state.awake.wait()

    async def login(_request: web.Request) -> web.Response:
        return web.json_response({"token": "t0", "user": {"username": "dan", "role": "dispatcher"}})

    async def servers(_request: web.Request) -> web.Response:
        return web.json_response({"servers": [{"address": state.url, "role": "active", "server": "primary"}]})

    async def listing(request: web.Request) -> web.Response:
        state.fetches += 1
        await unless_silent()
        return web.json_response({request.match_info["what"]: []})

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await ws.send_json({"type": "hello"})
        pushing = asyncio.ensure_future(forward(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING and not state.silent:
                    await ws.pong(msg.data)
        finally:
            pushing.cancel()
        return ws

    async def forward(ws: web.WebSocketResponse) -> None:
        while True:
            await ws.send_json(await state.push.get())

    async def anything(_request: web.Request) -> web.Response:
        await unless_silent()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/v1/auth/login", login)
    app.router.add_get("/api/v1/servers", servers)
    app.router.add_get("/api/v1/events", events)
    app.router.add_get("/api/v1/{what:channels|vtgs|incidents}", listing)
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        state.awake.set()
        await runner.cleanup()


async def test_a_server_gone_silent_during_a_fetch_is_found_offline_by_the_deadline(server):
    clock = Clock(TIME_SCALE)
    console = ConsoleSession(KnownServers(), clock=clock)
    try:
        await console.login(server.url, "dan", "secret")
        await wait_until(lambda: server.fetches >= 6, 5, "the configuration fetched again after the hello")
        server.silent = True
        silent_at = asyncio.get_running_loop().time()
        fetches = server.fetches
        await server.push.put({"type": "record", "table": "channels"})  # a change: fetch again
        await wait_until(lambda: server.fetches > fetches, 5, "the fetch to reach the silent server")
        await wait_until(
            lambda: console.state == State.OFFLINE,
            max(0.0, silent_at + offline_deadline_s(clock) + SLACK_S - asyncio.get_running_loop().time()),
            "the console to say offline",
        )
        assert console.notices[-1].kind == "offline"
    finally:
        server.awake.set()
        await console.close()


async def test_a_login_to_a_silent_server_goes_on_to_the_other_without_a_second_pause(server, monkeypatch):
    """Waiting for a server that says nothing is the pause: "the application pauses for
    approximately 5 seconds" in all, not 5 real seconds of deadline and 5 more of pause."""
    monkeypatch.setattr(session_module, "REQUEST_TIMEOUT_S", 0.3)  # its length is not what is tested
    async with SilentServer() as silent:
        known = KnownServers()
        known.add(silent.url)
        known.add(server.url)
        console = ConsoleSession(known, clock=RecordingClock(TIME_SCALE))
        try:
            await console.login(silent.url, "dan", "secret")
            assert console.state == State.ONLINE and console.server == server.url
            assert console.clock.slept == []
            paused = [n.text for n in console.notices if n.kind == "paused"]
            assert paused == [f"{silent.url} does not answer (nothing within 0.3 seconds): trying {server.url} now"]
            assert known.get(silent.url).role == UNREACHABLE
        finally:
            await console.close()


async def test_logging_out_offline_from_a_silent_server_does_not_wait_for_it(server):
    console = ConsoleSession(KnownServers(), clock=Clock(TIME_SCALE))
    try:
        await console.login(server.url, "dan", "secret")
        server.silent = True
        await wait_until(lambda: console.state == State.OFFLINE, offline_deadline_s(console.clock) + SLACK_S, "offline")
        async with asyncio.timeout(session_module.NETWORK_SLACK_S + SLACK_S):  # not REQUEST_TIMEOUT_S
            await console.logout()
        assert console.state == State.LOGGED_OUT and console.token is None
    finally:
        server.awake.set()
        await console.close()
