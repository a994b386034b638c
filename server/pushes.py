"""What one events socket pushes: the changes in what its user can read.

A write publishes only which record changed (``data.py``).  Each socket keeps the
listings its user was last shown, built by the same functions as the GET views
(``DataService.listing``, ruled by ``core/access.py``), and after a change compares
them with what he can read now: a record he can read that is new or changed is pushed
as he would GET it; one he could read and no longer can (deleted, a channel taken
from him, taken off an incident) is pushed with ``value: null``, nothing of its
content.  A change to a record he never could read pushes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: the listings a change to a table can alter (an assignment makes a channel appear
#: or go; a file is listed in its incident)
ALTERS: dict[str, tuple[str, ...]] = {
    "channels": ("channels",),
    "assignments": ("channels", "assignments"),
    "vtgs": ("vtgs",),
    "incidents": ("incidents",),
    "files": ("incidents",),
}
LISTINGS = sorted({name for names in ALTERS.values() for name in names})


class PushedView:
    """The listings one session's user was last shown over its events socket."""

    def __init__(self, data, token: str) -> None:
        self._data = data
        self._token = token
        self._shown: dict[str, dict[str, Any]] = {}

    async def start(self) -> bool:
        """What the user can read now, as the client fetched it; False if the session ended."""
        user = await self._data.session(self._token)
        if user is None:
            return False
        self._shown = {name: await self._data.listing(user, name) for name in LISTINGS}
        return True

    async def changes(self, tables: Iterable[str]) -> list[dict[str, Any]] | None:
        """The pushes after changes to ``tables``; None once the session has ended (a
        logout, an expiry): it may read nothing any more."""
        user = await self._data.session(self._token)
        if user is None:
            return None
        pushes: list[dict[str, Any]] = []
        for name in sorted({n for t in tables for n in ALTERS.get(t, ())}):
            now = await self._data.listing(user, name)
            before = self._shown[name]
            pushes += [_record(name, key, value) for key, value in now.items() if before.get(key) != value]
            pushes += [_record(name, key, None) for key in before.keys() - now.keys()]
            self._shown[name] = now
        return pushes


def _record(table: str, key: str, value: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "record", "table": table, "key": key, "value": value}
