"""A real media router process (``MediaProcess``) and ``MediaClient``s connected to it.

``router``: a router on a free port, stopped after the test; its ticket key is the one
the test's lab pair (``pair``, ``demo``: in the same ``tmp_path``) signs with.
``ticket(who, groups)``: a ticket as a server issues, signed with that key.
``connect(who)``: a client connected with such a ticket (for ``FIRE`` and ``POLICE``
unless ``groups`` says otherwise), closed after the test.  ``Ear``: what one client
heard (talker changes and audio frames), to assert on.  ``raw(router)``: a bare
WebSocket to the router, for sending what no client would.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import pytest

from ipics_lab.media_process import MediaProcess
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.media.client import MediaClient
from ipics_server.media.protocol import PATH
from ipics_server.media.ticket import KEY_FILE_NAME, issue, load_key

from ..pair.conftest import demo, lab, media_demo, pair  # noqa: F401 (fixtures: the HA pairs)

#: talk groups are keyed by a channel's or VTG's id: 32 hex digits
FIRE = uuid.UUID(int=0xF12E).hex
POLICE = uuid.UUID(int=0x9011CE).hex
#: the talk groups a test's ticket names unless it says otherwise
GROUPS = (FIRE, POLICE)


@pytest.fixture
@starts_processes
async def router(tmp_path):
    media = MediaProcess(tmp_path / "media", ticket_key_file=tmp_path / KEY_FILE_NAME)
    await media.start()
    try:
        yield media
    finally:
        media.stop()


def ticket_maker(media: MediaProcess):
    """``make(who, groups=GROUPS, **kw)``: a ticket for ``media``, as a server issues."""
    key = load_key(media.ticket_key_file)

    def make(who: str, groups=GROUPS, **kw) -> str:
        return issue(key, who, groups, **{"issuer": "test", **kw})

    return make


@pytest.fixture
def ticket(router):
    return ticket_maker(router)


@pytest.fixture
async def connect(router, ticket):
    make_ticket = ticket
    clients: list[MediaClient] = []

    async def make(
        who: str | None = None, url: str | None = None, groups=GROUPS, *, ticket: str | None = None, **kw
    ) -> MediaClient:
        """With ``ticket`` (a server's), or a test ticket of ``who``'s for ``groups``."""
        client = await MediaClient.connect(url or router.url, ticket or make_ticket(who, groups), **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@dataclass
class Heard:
    group: str
    talker: str
    seq: int
    payload: bytes
    latency_ms: float


@dataclass
class Ear:
    """Everything one client heard: talker changes (group, talker) and audio."""

    client: MediaClient
    talkers: list[tuple[str, str | None]] = field(default_factory=list)
    audio: list[Heard] = field(default_factory=list)

    def __post_init__(self):
        self.client.subscribe(lambda g, t: self.talkers.append((g, t)))
        self.client.on_audio(self._on_audio)

    def _on_audio(self, group, talker, seq, payload, sent_ns):
        self.audio.append(Heard(group, talker, seq, payload, (time.monotonic_ns() - sent_ns) / 1e6))

    def heard(self, group: str) -> list[Heard]:
        return [h for h in self.audio if h.group == group]

    def changes(self, group: str) -> list[str | None]:
        return [t for g, t in self.talkers if g == group]


async def logged_in(server, username: str, password: str) -> ApiClient:
    """An API client of ``server`` logged in as the user (close it after)."""
    async with server.client() as c:
        reply = await c.post("/api/v1/auth/login", {"username": username, "password": password})
    assert reply.ok, reply.body
    return server.client(reply["token"])


async def server_ticket(client: ApiClient) -> dict:
    """``POST /api/v1/media/ticket`` as the logged-in user: the ticket and what it says."""
    reply = await client.post("/api/v1/media/ticket", {})
    assert reply.status == 200, reply.body
    return reply.body


async def user_ticket(server, username: str, password: str) -> str:
    """The user's ticket from ``server``, as his console gets it at login."""
    async with await logged_in(server, username, password) as c:
        return (await server_ticket(c))["ticket"]


async def joined(*clients: MediaClient, group: str) -> None:
    for client in clients:
        assert await client.join(group), f"{client.who} could not join"


async def talker_everywhere(clients, group: str, talker: str | None, what: str = "") -> None:
    await wait_until(
        lambda: all(c.talker(group) == talker for c in clients),
        10,
        what or f"every client to show {talker} on the group",
    )


class Raw:
    """A bare WebSocket to the router: JSON or bytes as given, events as they come."""

    def __init__(self, ws, ticket):
        self.ws, self.ticket = ws, ticket

    async def send(self, message) -> None:
        if isinstance(message, bytes):
            await self.ws.send_bytes(message)
        elif isinstance(message, str):
            await self.ws.send_str(message)
        else:
            await self.ws.send_str(json.dumps(message))

    async def event(self, timeout_s: float = 5) -> dict:
        """The next JSON event (audio frames are skipped)."""
        while True:
            msg = await self.ws.receive(timeout=timeout_s)
            if msg.type.name == "TEXT":
                return json.loads(msg.data)
            if msg.type.name != "BINARY":
                raise AssertionError(
                    f"expected an event, got {msg.type.name} {msg.data!r} (close code {self.ws.close_code})"
                )

    async def ask(self, message, timeout_s: float = 5) -> dict:
        await self.send(message)
        return await self.event(timeout_s)

    async def hello(self, who: str, groups=GROUPS) -> dict:
        """Hello with a valid ticket of ``who``'s."""
        welcome = await self.ask({"op": "hello", "ticket": self.ticket(who, groups)})
        assert welcome["event"] == "welcome", welcome
        return welcome


@contextlib.asynccontextmanager
async def raw(media: MediaProcess):
    async with ApiClient(media.http_url) as api:
        ws = await api.websocket(PATH)
        try:
            yield Raw(ws, ticket_maker(media))
        finally:
            await ws.close()
