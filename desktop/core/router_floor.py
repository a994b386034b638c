"""``RouterFloor``: the push-to-talk floor of ``talk.Floor``, carried by the media router.

The console widgets (``qt/talk_group.py``, ``qt/console_window.py``) call ``press``,
``release``, ``release_all``, ``talker`` and ``subscribe`` synchronously, as on the
in-process ``Floor``.  Here those answers come from local knowledge (the talkers the
router last reported, plus this console's own presses) while the real request goes to
the router over a ``MediaClient``.  If the router refuses a press that local knowledge
allowed (someone else pressed first, on another console), the listeners are told the
real talker; if the router cannot be reached, the press is taken back (nobody would
hear it).  While this console holds the floor it streams the generated voice tone.

One router connection per console, named after its user: the first press by a user
(or ``set_user`` at login) reconnects under that name, since the router stamps every
frame with the connection's name.  Until then it listens as ``console``.  A group is
joined the first time the console asks who talks there (every talk-group row does).

Push-to-talk does not go through the IPICS servers, so this keeps working while they
fail over; the client reconnects by itself if the router restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from ipics_server.media.client import (
    AudioListener,
    MediaClient,
    MediaRefused,
    MediaUnavailable,
)
from ipics_server.media.protocol import ProtocolError, validate_group

from .talk import Listener

log = logging.getLogger("ipics.desktop.floor")

LISTENER_NAME = "console"
#: real seconds a press waits for a connection that is still being made (a new user's)
CONNECT_WAIT_S = 2.0


class RouterFloor:
    """The ``Floor`` interface over the media router at ``url``.

    ``heard`` counts audio frames received per group (for the status line and tests).
    """

    def __init__(self, url: str, *, who: str | None = None, tone: bool = True,
                 client_factory: Callable[[str, str], MediaClient] = MediaClient):
        self.url = url
        self.tone = tone
        self.heard: Counter[str] = Counter()
        self._factory = client_factory
        self._who = who or LISTENER_NAME
        self._client: MediaClient | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._talkers: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._audio_listeners: list[AudioListener] = []
        self._groups: set[str] = set()
        self._wanted: set[str] = set()  # pressed here and not released
        self._streaming: set[str] = set()  # the tone going out
        self._tasks: set[asyncio.Task] = set()
        self._closing: set[asyncio.Task] = set()  # clients of a previous user, closing
        self._closed = False

    # ------------------------------------------------------- the Floor interface
    def press(self, group: str, who: str) -> bool:
        """Ask for the floor; True if ``who`` now talks as far as this console knows."""
        current = self._talkers.get(group)
        if current is not None and current != who:
            return False
        self.set_user(who)
        self.join(group)
        if current is None:
            self._talkers[group] = who
            self._tell(group, who)
        client = self._client
        if group not in self._groups or client is None:
            return True  # not an id the router carries (or no loop yet): this console only
        if group in self._wanted and client.holding(group):
            return True  # pressed again while talking (a repeated key): nothing new to ask
        self._wanted.add(group)
        if client.connected:
            # Sent now, so that a release right after it goes to the router after it.
            self._spawn(self._answered(group, who, client, client.request_floor(group)))
        else:
            self._spawn(self._press_when_connected(group, who, client))
        return True

    def release(self, group: str, who: str) -> None:
        if self._talkers.get(group) == who:
            del self._talkers[group]
            self._tell(group, None)
        client = self._client
        if client is not None and client.who == who and group in self._groups:
            self._wanted.discard(group)
            client.release(group)

    def release_all(self, who: str) -> None:
        groups = {g for g, t in self._talkers.items() if t == who}
        if self._client is not None and self._client.who == who:
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
        if self._client is not None:
            self._client.join(group)
        else:
            self._connect()

    def set_user(self, who: str) -> None:
        """Talk under this name from now on (at login; a press by a new name does it too)."""
        if who == self._who and self._client is not None:
            return
        self._who = who
        old = self._client
        self._client = None
        if old is not None:
            for unsubscribe in self._unsubscribe:
                unsubscribe()
            self._unsubscribe.clear()
            closing = asyncio.get_running_loop().create_task(old.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        self._connect()

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
        client, self._client = self._client, None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if client is not None:
            await client.close()
        if self._closing:
            await asyncio.gather(*list(self._closing))

    def _connect(self) -> None:
        if self._client is not None or self._closed:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not yet: the first call on the loop connects
        client = self._client = self._factory(self.url, self._who)
        self._unsubscribe = [client.subscribe(self._on_router_talker), client.on_audio(self._on_audio)]
        client.start()
        for group in sorted(self._groups):
            client.join(group)

    async def _press_when_connected(self, group: str, who: str, client: MediaClient) -> None:
        """A press while the connection is still being made (a new user's, or a router
        restarting): ask once it is up, if the button is still held."""
        with contextlib.suppress(MediaUnavailable, MediaRefused):
            await client.wait_connected(CONNECT_WAIT_S)
        if client is not self._client or group not in self._wanted:
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
        if talker == self._who and group not in self._wanted:
            return  # our press granted after we let go: the release is on its way
        self._set(group, talker)

    def _on_audio(self, group: str, talker: str, seq: int, payload: bytes, sent_ns: int) -> None:
        self.heard[group] += 1
        for listener in list(self._audio_listeners):
            listener(group, talker, seq, payload, sent_ns)

    def _set(self, group: str, talker: str | None) -> None:
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
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("push-to-talk task failed", exc_info=task.exception())
