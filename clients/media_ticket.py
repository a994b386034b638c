"""The console's push-to-talk ticket: what lets its ``RouterFloor`` into the media router.

The session asks the server it is logged in to (``POST /api/v1/media/ticket``) at
login, after reconnecting to a new active, when the user's channels or VTGs change,
and every ``refresh_after_s`` the server gives while online.  Through an outage the
console keeps the ticket it has: the router checks it without the servers, so
push-to-talk goes on while they fail over (the ticket outlasts a failover several
times over).  Asked only while someone listens (a console with a router floor).

Listeners are called with the new ticket, or None at logout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ipics_server.adapters.httpclient import ApiClient, Unreachable

log = logging.getLogger("ipics.console")

TicketListener = Callable[[str | None], None]
#: real seconds between two asks when the server did not say (an older server)
DEFAULT_REFRESH_S = 300.0


class MediaTicket:
    def __init__(self) -> None:
        self.ticket: str | None = None
        self.groups: frozenset[str] = frozenset()
        self.refresh_after_s = DEFAULT_REFRESH_S
        self.problem: str | None = None  # why the last ask brought no ticket
        self._listeners: list[TicketListener] = []

    @property
    def wanted(self) -> bool:
        return bool(self._listeners)

    def subscribe(self, listener: TicketListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def fetch(self, client: ApiClient) -> bool:
        """Ask ``client``'s server for a ticket; True if it gave one.  A refusal is
        kept in ``problem`` (and logged once); ``Unreachable`` is raised."""
        reply = await client.post("/api/v1/media/ticket", {})
        body = reply.body if isinstance(reply.body, dict) else {}
        if not reply.ok or not isinstance(body.get("ticket"), str):
            problem = f"no push-to-talk ticket from {client.base_url}: {body.get('message', reply.status)}"
            if problem != self.problem:
                log.warning("%s", problem)
            self.problem = problem
            return False
        self.problem = None
        self.groups = frozenset(body.get("groups") or ())
        refresh = body.get("refresh_after_s")
        if isinstance(refresh, (int, float)) and refresh > 0:
            self.refresh_after_s = float(refresh)
        self._set(body["ticket"])
        return True

    def clear(self) -> None:
        self.groups = frozenset()
        self._set(None)

    def _set(self, ticket: str | None) -> None:
        if ticket == self.ticket:
            return
        self.ticket = ticket
        for listener in list(self._listeners):
            try:
                listener(ticket)
            except Exception:
                log.exception("a push-to-talk ticket listener failed")

    async def keep_fresh(self, ask: Callable[[], ApiClient | None]) -> None:
        """Ask again every ``refresh_after_s`` real seconds (tickets are real time)
        through the client ``ask`` gives: None while offline, when the last ticket
        stays in use."""
        while True:
            await asyncio.sleep(self.refresh_after_s)
            client = ask()
            if client is not None and self.wanted:
                try:
                    await self.fetch(client)
                except Unreachable:
                    pass  # offline now: the reconnect asks the new active
