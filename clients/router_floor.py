"""``RouterFloor``: the push-to-talk floor of ``talk.Floor``, carried by the media router.

The console widgets (``qt/talk_group.py``, ``qt/console_window.py``) call ``press``,
``release``, ``release_all``, ``talker`` and ``subscribe`` synchronously, as on the
in-process ``Floor``.  Here those answers come from local knowledge (the talkers the
router last reported, plus this console's own presses) while the real request goes to
the router over a ``MediaClient``.  If the router refuses a press that local knowledge
allowed (someone else pressed first, on another console), the listeners are told the
real talker; if the router cannot be reached, the press is taken back (nobody would
hear it).  While this console holds the floor it streams the generated voice tone.

One router connection per console, with the ticket of the user logged in there
(``follow`` a session's ``MediaTicket``, or ``set_ticket``): the router admits it only
with a ticket, under the ticket's name, to the talk groups the ticket names.  A new
ticket of the same user is passed on to the router (it may add or take away groups); a
ticket of another user (a new login on the console) opens a new connection; none (a
logout) closes it.  A group is joined the first time the console asks who talks there
(every talk-group row does); a press before the connection is up waits for it a moment.

Push-to-talk does not go through the IPICS servers, so this keeps working while they
fail over; the client reconnects by itself if the router restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from ipics_clients.media_ticket import MediaTicket
from ipics_clients.talk import Listener
from ipics_clients.tasks import Tasks
from ipics_server.media.client import (
    AudioListener,
    MediaClient,
    MediaRefused,
    MediaUnavailable,
)
from ipics_server.media.protocol import ProtocolError, validate_group
from ipics_server.media.ticket import peek

log = logging.getLogger("ipics.desktop.floor")

#: real seconds a press waits for a connection that is still being made (a new user's)
CONNECT_WAIT_S = 2.0


class RouterFloor:
    """The ``Floor`` interface over the media router at ``url``.

    ``heard`` counts audio frames received per group (for the status line and tests).
    """

    def __init__(
        self,
        url: str,
        *,
        ticket: str | None = None,
        tone: bool = True,
        client_factory: Callable[[str, str], MediaClient] = MediaClient,
    ):
        self.url = url
        self.tone = tone
        self.heard: Counter[str] = Counter()
        self._factory = client_factory  # (url, ticket) -> client
        self._ticket: str | None = None
        self._user: str | None = None  # the ticket's name: the one the router stamps
        self._me: str | None = None  # the console's spelling of it (the name typed at login)
        self._unfollow: Callable[[], None] | None = None
        self._client: MediaClient | None = None
        self._client_made = asyncio.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._talkers: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._audio_listeners: list[AudioListener] = []
        self._groups: set[str] = set()
        self._wanted: set[str] = set()  # pressed here and not released
        self._streaming: set[str] = set()  # the tone going out
        self._tasks = Tasks("push-to-talk")
        self._closing: set[asyncio.Task] = set()  # clients of a previous user, closing
        self._closed = False
        if ticket is not None:
            self.set_ticket(ticket)

    # ------------------------------------------------------- the Floor interface
    def press(self, group: str, who: str) -> bool:
        """Ask for the floor; True if ``who`` now talks as far as this console knows.
        Never under another name than the ticket's (letter case aside)."""
        current = self._talkers.get(group)
        if current is not None and current != who:
            return False
        if self._user is not None and not self._is_me(who):
            log.warning("push-to-talk as %s refused: this console's ticket is %s's", who, self._user)
            return False
        self._me = who
        self.join(group)
        if current is None:
            self._talkers[group] = who
            self._tell(group, who)
        if group not in self._groups:
            return True  # not an id the router carries: this console only
        client = self._client
        if client is not None and group in self._wanted and client.holding(group):
            return True  # pressed again while talking (a repeated key): nothing new to ask
        self._wanted.add(group)
        if client is not None and client.connected:
            # Sent now, so that a release right after it goes to the router after it.
            self._spawn(self._answered(group, who, client, client.request_floor(group)))
        else:
            self._spawn(self._press_when_connected(group, who))
        return True

    def release(self, group: str, who: str) -> None:
        if self._talkers.get(group) == who:
            del self._talkers[group]
            self._tell(group, None)
        if self._user is None or self._is_me(who):
            self._wanted.discard(group)
            if self._client is not None and group in self._groups:
                self._client.release(group)

    def release_all(self, who: str) -> None:
        groups = {g for g, t in self._talkers.items() if t == who}
        if self._client is not None and self._is_me(who):
            groups |= {g for g in self._groups if self._client.holding(g)}
        for group in groups:
            self.release(group, who)

    def talker(self, group: str) -> str | None:
        self.join(group)  # the console shows this group: listen to it
        return self._talkers.get(group)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # --------------------------------------------------------------- the router
    def join(self, group: str) -> None:
        if group in self._groups:
            return
        try:
            validate_group(group, "join")
        except ProtocolError as exc:
            log.warning("push-to-talk group %r not carried by the router: %s", group, exc.message)
            return
        self._groups.add(group)
        if self._client is None:
            self._connect()
        elif self._client.claims.allows(group):
            self._client.join(group)
        # else: not in this user's ticket (yet): joined when a ticket names it

    def follow(self, tickets: MediaTicket) -> None:
        """Use the tickets of a console session from now on (login, refresh, logout)."""
        if self._unfollow is not None:
            self._unfollow()
        self._unfollow = tickets.subscribe(self.set_ticket)
        self.set_ticket(tickets.ticket)

    def set_ticket(self, ticket: str | None) -> None:
        """Talk with this ticket from now on; None: not at all (logged out)."""
        if ticket == self._ticket:
            return
        try:
            user = peek(ticket).who if ticket is not None else None
        except ValueError:
            log.warning("push-to-talk: ignored something that is not a ticket")
            return
        self._ticket = ticket
        if ticket is not None and user is not None and user == self._user and self._client is not None:
            self._client.renew(ticket)  # the same user: the router may add or take away groups
            self._join_allowed(self._client)  # those the new ticket adds
            return
        self._user = self._me = user
        old, self._client = self._client, None
        self._client_made.clear()
        if old is not None:
            for unsubscribe in self._unsubscribe:
                unsubscribe()
            self._unsubscribe.clear()
            closing = asyncio.get_running_loop().create_task(old.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        self._connect()

    @property
    def user(self) -> str | None:
        """Whose ticket this floor talks with."""
        return self._user

    def on_audio(self, listener: AudioListener) -> Callable[[], None]:
        """Audio heard on this console's groups (kept across user changes)."""
        self._audio_listeners.append(listener)
        return lambda: self._audio_listeners.remove(listener) if listener in self._audio_listeners else None

    @property
    def client(self) -> MediaClient | None:
        return self._client

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def close(self) -> None:
        self._closed = True
        if self._unfollow is not None:
            self._unfollow()
        client, self._client = self._client, None
        await self._tasks.close()
        if client is not None:
            await client.close()
        if self._closing:
            await asyncio.gather(*list(self._closing))

    def _connect(self) -> None:
        if self._client is not None or self._closed or self._ticket is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not yet: the first call on the loop connects
        client = self._client = self._factory(self.url, self._ticket)
        self._unsubscribe = [client.subscribe(self._on_router_talker), client.on_audio(self._on_audio)]
        client.start()
        self._join_allowed(client)
        self._client_made.set()

    def _join_allowed(self, client: MediaClient) -> None:
        for group in sorted(self._groups):
            if client.claims.allows(group):
                client.join(group)

    def _is_me(self, who: str) -> bool:
        return self._user is not None and who.casefold() == self._user.casefold()

    async def _press_when_connected(self, group: str, who: str) -> None:
        """A press while the connection is still being made (a new login's ticket on its
        way, or a router restarting): ask once it is up, if the button is still held;
        else take the press back (nobody would hear it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WAIT_S
        if self._client is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._client_made.wait(), CONNECT_WAIT_S)
        client = self._client
        if client is not None:
            with contextlib.suppress(MediaUnavailable, MediaRefused):
                await client.wait_connected(max(0.0, deadline - loop.time()))
        if group not in self._wanted:
            return  # released meanwhile
        if client is None or client is not self._client or not self._is_me(who):
            self._wanted.discard(group)
            if self._talkers.get(group) == who:
                self._set(group, None)
            return
        await self._answered(group, who, client, client.request_floor(group))

    async def _answered(self, group: str, who: str, client: MediaClient, answer: asyncio.Future[bool]) -> None:
        granted = await answer
        if client is not self._client:
            return  # the user changed meanwhile: that client is closed
        if not granted:
            # A race lost (or no router): show who really talks.
            if self._talkers.get(group) == who:
                self._set(group, client.talker(group))
            return
        if group in self._wanted and client.holding(group) and self.tone and group not in self._streaming:
            self._streaming.add(group)
            try:
                await client.stream(group)  # until released, or the floor is lost
            finally:
                self._streaming.discard(group)

    def _on_router_talker(self, group: str, talker: str | None) -> None:
        if talker is not None and talker == self._user and group not in self._wanted:
            return  # our press granted after we let go: the release is on its way
        self._set(group, talker)

    def _on_audio(self, group: str, talker: str, seq: int, payload: bytes, sent_ns: int) -> None:
        self.heard[group] += 1
        for listener in list(self._audio_listeners):
            listener(group, talker, seq, payload, sent_ns)

    def _set(self, group: str, talker: str | None) -> None:
        if talker is not None and talker == self._user:
            talker = self._me  # the console's own user, as the console spells him
        if self._talkers.get(group) == talker:
            return
        if talker is None:
            self._talkers.pop(group, None)
        else:
            self._talkers[group] = talker
        self._tell(group, talker)

    def _tell(self, group: str, talker: str | None) -> None:
        for listener in list(self._listeners):
            listener(group, talker)

    def _spawn(self, coro) -> None:
        self._tasks.start(coro)
