"""The server's link to the media router, for devices that cannot talk to it
themselves: the IP phone (its talk screen is phone XML) and dial-in telephones (their
keys are tones).  The server presses and releases the floor on their user's behalf and
streams the voice tone while the floor is held; it listens to learn who is talking.

The router admits ticket holders only (``ticket``).  The link speaks as the server: it
listens with the server's service ticket (any group, never the floor), and talks for
a user it authenticated (by the phone's or telephone's PIN) with a ticket it issues
him, fresh at each press, so it names his talk groups of the moment.  When a change of
data takes a talk group from users, the link tells the router (``on_event``): their
connections leave it at once, and their older tickets no longer grant it.

On a failover these users' push-to-talk goes with the server they reached, as the
chapter says for these devices; consoles and mobile clients talk to the router
directly and keep talking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from .client import MediaClient, MediaRefused, MediaUnavailable
from .issuer import EVERYONE, TicketIssuer, TooManyTalkGroups, affected_users
from .ticket import REFRESH_AFTER_S

log = logging.getLogger("ipics.media")

CONNECT_TIMEOUT_S = 3.0


class RouterLink:
    """``PhoneMedia`` over the media router at ``url``: one router connection per user
    talking through this server, and one that listens (and sends revocations)."""

    def __init__(self, url: str, issuer: TicketIssuer):
        self.url = url
        self.issuer = issuer
        self._listener: MediaClient | None = None
        self._listener_since = 0.0  # real time its ticket was issued
        self._talkers: dict[str, MediaClient] = {}
        self._streams: dict[tuple[str, str], asyncio.Task] = {}
        self._revocations: set[asyncio.Task] = set()
        self._lock = asyncio.Lock()

    def _listening(self) -> MediaClient:
        """The listening connection, its ticket renewed when it is due."""
        if self._listener is None:
            self._listener = MediaClient(self.url, self.issuer.for_service())
            self._listener_since = time.time()
            self._listener.start()
        elif time.time() - self._listener_since > REFRESH_AFTER_S:
            self._listener.renew(self.issuer.for_service())
            self._listener_since = time.time()
        return self._listener

    def talker(self, group: str) -> str | None:
        listener = self._listening()
        if not listener.joined(group):
            listener.join(group)
        return listener.talker(group)

    async def press(self, group: str, who: str) -> bool:
        client = await self._client(who)
        if client is None or not await client.press(group):
            return False
        key = (group, who)
        if key not in self._streams:
            self._streams[key] = asyncio.get_running_loop().create_task(client.stream(group))
        self.talker(group)
        return True

    async def release(self, group: str, who: str) -> None:
        client = self._talkers.get(who)
        if client is not None:
            client.release(group)
        task = self._streams.pop((group, who), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _client(self, who: str) -> MediaClient | None:
        async with self._lock:  # two presses of one user must not open two connections
            client = self._talkers.get(who)
            try:
                ticket = await self.issuer.for_username(who)
                if client is None:
                    client = await MediaClient.connect(self.url, ticket, timeout_s=CONNECT_TIMEOUT_S)
                    self._talkers[who] = client
                else:
                    client.renew(ticket)
                    await client.wait_connected(CONNECT_TIMEOUT_S)
            except (MediaUnavailable, MediaRefused, TooManyTalkGroups) as exc:
                log.warning("push-to-talk for %s: %s", who, exc)
                return None
            return client

    # ---------------------------------------------------------------- revocations
    def on_event(self, event: dict[str, Any]) -> None:
        """A data change on this server: revoke the talk groups it took from users."""
        users = affected_users(event)
        if users == set():
            return
        task = asyncio.get_running_loop().create_task(self._revoke(users))
        self._revocations.add(task)
        task.add_done_callback(self._revoked)

    async def _revoke(self, users: set[str] | None) -> None:
        if users is EVERYONE:
            users = set(await self.issuer.usernames())
        listener = self._listening()
        for who in sorted(users):
            try:
                ticket = await self.issuer.for_username(who)
            except TooManyTalkGroups:
                continue  # more left than a ticket names, so more before: he never had one
            # Sent now if the router is there, else on connecting (and after a router restart).
            listener.supersede(ticket)

    def _revoked(self, task: asyncio.Task) -> None:
        self._revocations.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("push-to-talk revocation failed", exc_info=task.exception())

    async def close(self) -> None:
        for task in [*self._streams.values(), *self._revocations]:
            task.cancel()
        await asyncio.gather(*self._streams.values(), *self._revocations, return_exceptions=True)
        self._streams.clear()
        clients = list(self._talkers.values()) + ([self._listener] if self._listener else [])
        self._talkers.clear()
        self._listener = None
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
