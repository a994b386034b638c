"""Push-to-talk floor control: one talker at a time on a channel or VTG, and who it is.

Push-to-talk does not go through the IPICS servers, which is why it keeps working
while they fail over (chapter: Dan reaches Adam by PTT during the outage).  This
``Floor`` is shared by every console of one desktop process; the media router of the
devices work carries the same floor between processes, behind the same interface:
``press``, ``release``, ``talker`` and ``subscribe`` (and ``follow``, to take the
session's push-to-talk tickets, which the router wants and this floor does not).

A talk group is keyed by its id (a channel's or a VTG's), which replicates with the
configuration, so a console that reconnects to the new active keeps its floor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Listener = Callable[[str, str | None], None]  # (talk group id, talker or None)


class TalkFloor(Protocol):
    """The interface a console talks through: this ``Floor``, or a ``RouterFloor``."""

    def press(self, group: str, who: str) -> bool: ...

    def release(self, group: str, who: str) -> None: ...

    def release_all(self, who: str) -> None: ...

    def talker(self, group: str) -> str | None: ...

    def subscribe(self, listener: Listener) -> Callable[[], None]: ...


class Floor:
    def __init__(self) -> None:
        self._talkers: dict[str, str] = {}
        self._listeners: list[Listener] = []

    def press(self, group: str, who: str) -> bool:
        """Ask for the floor; True if ``who`` now talks (or already did)."""
        current = self._talkers.get(group)
        if current is not None and current != who:
            return False
        if current is None:
            self._talkers[group] = who
            self._tell(group, who)
        return True

    def release(self, group: str, who: str) -> None:
        if self._talkers.get(group) == who:
            del self._talkers[group]
            self._tell(group, None)

    def release_all(self, who: str) -> None:
        for group in [g for g, t in self._talkers.items() if t == who]:
            self.release(group, who)

    def talker(self, group: str) -> str | None:
        return self._talkers.get(group)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _tell(self, group: str, talker: str | None) -> None:
        for listener in list(self._listeners):
            listener(group, talker)
