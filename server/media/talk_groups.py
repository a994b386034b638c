"""A media client's talk groups: the groups it joined, who talks in each, and its floors.

``MediaClient`` owns one ``TalkGroups`` and hands it the router's answers about groups
and floors (joined, left, granted, denied, talker, a refused press or join); it keeps
the connection.  What the client sends goes through the connection's ``send``, which
drops it when not connected.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Callable

from .ticket import Claims

log = logging.getLogger("ipics.media.client")

TalkerListener = Callable[[str, str | None], None]  # (group, talker or None)


class TalkGroups:
    """The groups joined (with the router's slot numbers) or to join on (re)connect, the
    talker of each as the router last said, the floors asked for and not released,
    and the answers awaited (presses, joins)."""

    def __init__(self, who: str, stats: Counter[str], send: Callable[..., None]):
        self.who = who
        self.stats = stats
        self._send = send
        self.wanted: set[str] = set()  # joined, or to join on (re)connect
        self.holding: set[str] = set()  # the floor asked for and not released
        self.talkers: dict[str, str] = {}
        self.slot_group: dict[int, str] = {}
        self.group_slot: dict[str, int] = {}
        self._presses: dict[str, deque[asyncio.Future[bool]]] = defaultdict(deque)
        self._join_waiters: dict[str, list[asyncio.Future[bool]]] = defaultdict(list)
        self._listeners: list[TalkerListener] = []

    # ------------------------------------------------------------------ commands
    def join(self, group: str) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if group in self.group_slot:
            fut.set_result(True)
            return fut
        self._join_waiters[group].append(fut)
        if group not in self.wanted:
            self.wanted.add(group)
            self._send("join", group=group)
        return fut

    def leave(self, group: str) -> None:
        self.wanted.discard(group)
        self.holding.discard(group)
        if group in self.group_slot:
            self._send("leave", group=group)
        self.forget(group)
        self._end_joins(group, False)

    def ask_floor(self, group: str) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._presses[group].append(fut)
        self._send("press", group=group)
        return fut

    def release(self, group: str) -> None:
        self.holding.discard(group)
        if group in self.wanted:
            self._send("release", group=group)  # also after a press still unanswered

    def subscribe(self, listener: TalkerListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # --------------------------------------------------------- the connection's turns
    def rejoin(self, claims: Claims) -> None:
        """Welcomed (again): joins first, then the floors we were holding (the router
        answers in order); a group the ticket no longer allows is lost."""
        for group in sorted(self.wanted):
            if claims.allows(group):
                self._send("join", group=group)
            else:
                self.lost(group)
        for group in sorted(self.holding):
            self.ask_floor(group).add_done_callback(functools.partial(self._re_pressed, group))

    def _re_pressed(self, group: str, fut: asyncio.Future[bool]) -> None:
        if not fut.cancelled() and not fut.result():
            self.holding.discard(group)

    def disconnected(self) -> None:
        """The slots are gone, presses unanswered are denied, the floor is unknown until
        the router says."""
        self.slot_group.clear()
        self.group_slot.clear()
        for presses in self._presses.values():
            while presses:
                fut = presses.popleft()
                if not fut.done():
                    fut.set_result(False)
        for group in list(self.talkers):
            self.set_talker(group, None)

    def closed(self) -> None:
        for group in list(self._join_waiters):
            self._end_joins(group, False)
        self._join_waiters.clear()

    # -------------------------------------------------------------------- events
    def on_joined(self, ev: dict) -> None:
        group, slot = ev["group"], int(ev["slot"])
        if group not in self.wanted:
            self._send("leave", group=group)  # left while the join was on its way
            return
        old = self.group_slot.pop(group, None)
        if old is not None:
            self.slot_group.pop(old, None)
        self.group_slot[group], self.slot_group[slot] = slot, group
        self.set_talker(group, ev.get("talker"))
        self._end_joins(group, True)

    def on_left(self, ev: dict) -> None:
        if ev.get("reason"):  # taken away by the router: the user no longer has it
            self.stats["groups_revoked"] += 1
            self.lost(ev["group"])
        elif ev["group"] not in self.wanted:
            self.forget(ev["group"])

    def on_granted(self, ev: dict) -> None:
        self._answer(ev["group"], True)

    def on_denied(self, ev: dict) -> None:
        group = ev["group"]
        self.holding.discard(group)
        self.set_talker(group, ev.get("talker"))
        self._answer(group, False)

    def on_talker(self, ev: dict) -> None:
        group, talker = ev["group"], ev.get("talker")
        if talker != self.who and group in self.holding and not self._presses.get(group):
            self.holding.discard(group)  # the floor was taken from us (the silence timeout)
        self.set_talker(group, talker)

    def press_refused(self, group: str) -> None:
        self.holding.discard(group)
        self._answer(group, False)

    def lost(self, group: str) -> None:
        """A group this user may not join (any more): left, and not joined again."""
        self.wanted.discard(group)
        self.holding.discard(group)
        self.forget(group)
        self._end_joins(group, False)

    def forget(self, group: str) -> None:
        slot = self.group_slot.pop(group, None)
        if slot is not None:
            self.slot_group.pop(slot, None)
        self.set_talker(group, None)

    def set_talker(self, group: str, talker: str | None) -> None:
        if self.talkers.get(group) == talker:
            return
        if talker is None:
            self.talkers.pop(group, None)
        else:
            self.talkers[group] = talker
        for listener in list(self._listeners):
            try:
                listener(group, talker)
            except Exception:
                log.exception("media client %s: talker listener failed", self.who)

    def _answer(self, group: str, granted: bool) -> None:
        presses = self._presses.get(group)
        if presses:
            fut = presses.popleft()
            if not fut.done():
                fut.set_result(granted)

    def _end_joins(self, group: str, joined: bool) -> None:
        for fut in self._join_waiters.pop(group, []):
            if not fut.done():
                fut.set_result(joined)
