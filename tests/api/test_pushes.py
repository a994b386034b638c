"""The events socket pushes each user exactly what he could read through the API (issue
14, item 14): never a record of others, and a record that stops being his is told gone
with nothing of its content.

Real server, real sockets: Pia and Quinn (role user) and Dora (dispatcher) have theirs
open while the system administrator writes for Pia.  A write everyone sees last (a
channel assigned to all three) marks the end: a socket handles its events in order,
so what it pushed before that is all it will push for the writes before it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field

import aiohttp
import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

PASSWORD = "pushes-pass-1"
JPEG = {"Content-Type": "image/jpeg"}
LISTINGS = {"channels": "/api/v1/channels", "vtgs": "/api/v1/vtgs", "incidents": "/api/v1/incidents"}


@dataclass
class Socket:
    """One user's events socket, read in the background."""

    username: str
    token: str
    url: str
    events: list[dict] = field(default_factory=list)
    closed: bool = False

    def records(self, key: str | None = None) -> list[dict]:
        return [e for e in self.events if e["type"] == "record" and key in (None, e["key"])]

    async def run(self, ready: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(
                f"{self.url}/api/v1/events", headers={"Authorization": f"Bearer {self.token}"}
            ) as ws:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    event = msg.json()
                    if event["type"] == "hello":
                        ready.set()
                    self.events.append(event)
        self.closed = True

    async def readable(self) -> dict[tuple[str, str], dict]:
        """What this user reads through the API now: (table, key) -> record."""
        async with ApiClient(self.url, token=self.token, timeout_s=10) as c:
            return {(table, r["id"]): r for table, path in LISTINGS.items() for r in (await c.get(path))[table]}


@pytest.fixture
async def sockets(live_server):
    """Pia and Quinn (users) and Dora (dispatcher), each with an events socket open."""
    tag = secrets.token_hex(3)
    names = {"pia": "user", "quinn": "user", "dora": "dispatcher"}
    async with live_server.admin() as c:
        for name, role in names.items():
            assert (
                await c.post("/api/v1/users", {"username": f"{name}-{tag}", "password": PASSWORD, "role": role})
            ).status == 201
    opened = {
        name: Socket(f"{name}-{tag}", await live_server.login(f"{name}-{tag}", PASSWORD), live_server.url)
        for name in names
    }
    tasks = []
    for socket in opened.values():
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(socket.run(ready)))
        await asyncio.wait_for(ready.wait(), 10)
    yield opened
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _everyone_has_seen_a_last_write(live_server, sockets: dict[str, Socket]) -> None:
    """A channel assigned to all of them, written last: once each socket pushed it, each
    has pushed everything the writes before it made."""
    async with live_server.admin() as c:
        last = await c.post("/api/v1/channels", {"name": f"last-{secrets.token_hex(3)}"})
        for s in sockets.values():
            assert (await c.post(f"/api/v1/channels/{last['id']}/assignments", {"username": s.username})).ok
    await wait_until(lambda: all(s.records(last["id"]) for s in sockets.values()), 10, "the last write pushed")


async def _assert_pushed_only_what_is_readable(socket: Socket) -> None:
    """Each record pushed with a value, as it was last pushed, is what he GETs now."""
    readable = await socket.readable()
    last = {(e["table"], e["key"]): e["value"] for e in socket.records()}
    for (table, key), value in last.items():
        if value is not None:
            assert readable.get((table, key)) == value, f"{socket.username} was pushed {table} {key}"


async def test_a_write_for_one_user_is_pushed_to_him_and_to_no_other_user(live_server, sockets):
    pia, quinn, dora = sockets["pia"], sockets["quinn"], sockets["dora"]
    async with live_server.admin() as c:
        channel = await c.post(
            "/api/v1/channels", {"name": f"pia-only-{secrets.token_hex(3)}", "description": "for Pia"}
        )
        assert (await c.post(f"/api/v1/channels/{channel['id']}/assignments", {"username": pia.username})).ok
        vtg = await c.post("/api/v1/vtgs", {"name": "Pia's VTG", "members": [pia.username]})
        incident = await c.post(
            "/api/v1/incidents",
            {"name": "Pia's incident", "description": "secret scene", "participants": [pia.username]},
        )
        photo = await c.request(
            "POST", f"/api/v1/incidents/{incident['id']}/files?name=scene.jpg", data=b"\xff\xd8scene", headers=JPEG
        )
        assert photo.status == 201, photo.body
    await _everyone_has_seen_a_last_write(live_server, sockets)

    # Quinn: nothing of Pia's, not even that it exists.
    mine = {channel["id"], vtg["id"], incident["id"], photo["id"]}
    assert [e for e in quinn.records() if e["key"] in mine] == []
    assert "secret scene" not in json.dumps(quinn.events) and "Pia" not in json.dumps(quinn.events)
    # Pia: each of them, as she GETs it (the incident with its photo).
    pushed = {e["key"]: e for e in pia.records()}
    assert {channel["id"], vtg["id"], incident["id"]} <= pushed.keys()
    assert [f["id"] for f in pushed[incident["id"]]["value"]["files"]] == [photo["id"]]
    # Dora, a dispatcher, monitors every VTG and incident, but has no channel of Pia's.
    assert {vtg["id"], incident["id"]} <= {e["key"] for e in dora.records()}
    assert channel["id"] not in {e["key"] for e in dora.records()}
    for socket in sockets.values():
        await _assert_pushed_only_what_is_readable(socket)


async def test_a_record_that_stops_being_his_is_pushed_gone_without_its_content(live_server, sockets):
    pia, quinn, dora = sockets["pia"], sockets["quinn"], sockets["dora"]
    async with live_server.admin() as c:
        channel = await c.post("/api/v1/channels", {"name": f"taken-{secrets.token_hex(3)}"})
        assert (await c.post(f"/api/v1/channels/{channel['id']}/assignments", {"username": pia.username})).ok
        incident = await c.post("/api/v1/incidents", {"name": "Pia's for now", "participants": [pia.username]})
    await wait_until(lambda: pia.records(channel["id"]) and pia.records(incident["id"]), 10, "Pia's records")
    before = len(pia.events)

    async with live_server.admin() as c:
        assert (await c.delete(f"/api/v1/channels/{channel['id']}/assignments/{pia.username}")).ok
        taken_off = await c.put(f"/api/v1/incidents/{incident['id']}/participants", {"participants": []})
        assert taken_off.status == 200, taken_off.body
    await _everyone_has_seen_a_last_write(live_server, sockets)

    gone = [e for e in pia.events[before:] if e["key"] in (channel["id"], incident["id"])]
    assert sorted(gone, key=lambda e: e["table"]) == [
        {"type": "record", "table": "channels", "key": channel["id"], "value": None},
        {"type": "record", "table": "incidents", "key": incident["id"], "value": None},
    ]
    readable = await pia.readable()
    assert ("channels", channel["id"]) not in readable and ("incidents", incident["id"]) not in readable
    # Quinn never had them: told nothing.  Dora still monitors the incident, now without Pia.
    assert [e for e in quinn.records() if e["key"] in (channel["id"], incident["id"])] == []
    assert dora.records(incident["id"])[-1]["value"]["participants"] == []
    for socket in sockets.values():
        await _assert_pushed_only_what_is_readable(socket)


async def test_a_logged_out_session_is_pushed_nothing_more(live_server, sockets):
    pia = sockets["pia"]
    async with ApiClient(live_server.url, token=pia.token, timeout_s=10) as c:
        assert (await c.post("/api/v1/auth/logout")).ok
    async with live_server.admin() as c:
        channel = await c.post("/api/v1/channels", {"name": f"after-logout-{secrets.token_hex(3)}"})
        assert (await c.post(f"/api/v1/channels/{channel['id']}/assignments", {"username": pia.username})).ok
    await wait_until(lambda: pia.closed, 10, "Pia's socket to close")
    assert pia.records(channel["id"]) == []
