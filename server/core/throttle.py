"""Login throttle: after ``MAX_FAILURES`` consecutive failed logins from one client
address for one user name, that pair is locked out for a while.

The first lockout lasts ``FIRST_LOCKOUT_S``; each further lockout of the same pair
doubles, up to ``MAX_LOCKOUT_S``.  A successful login clears the pair.  Keyed by
(way in, client address, user name casefolded), so one client guessing cannot lock a
user out everywhere, and "Dan" and "dan" are one user.

The way in (``LOGIN``: the API and the Administration Console; ``SHELL``: SSH;
``TRUST``: the partner's trust calls, which take the ipicsadmin password) is part of
the key: guesses at the Administration Console from the partner's address (in the lab every browser
is 127.0.0.1) must not lock the partner out of its own trust calls, an HA procedure a
stranger could otherwise block at will.  Each way is throttled on its own, so the most
a guesser gets is ``MAX_FAILURES`` tries per way per lockout.

Real time on purpose (``time.monotonic``), not the emulated ``Clock``: a lab run at a
small time scale must not shorten lockouts.  Memory is bounded: pairs idle for
``IDLE_FORGET_S`` are forgotten, and beyond ``max_keys`` the oldest not locked out
are dropped.
Pure: no I/O, the time source is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_FAILURES = 5
FIRST_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 15 * 60.0
IDLE_FORGET_S = 3600.0
MAX_KEYS = 10_000

Key = tuple[str, str, str]
LOGIN, SHELL, TRUST = "login", "shell", "trust"


def lockout_s(earlier_lockouts: int) -> float:
    """30 s, 60 s, 120 s ... up to 15 min (the exponent bounded: no float overflow)."""
    return min(FIRST_LOCKOUT_S * 2.0 ** min(earlier_lockouts, 32), MAX_LOCKOUT_S)


@dataclass
class _Failures:
    count: int = 0  # consecutive failures since the last lockout
    lockouts: int = 0  # lockouts so far: the next one lasts twice as long
    locked_until: float = 0.0
    last_seen: float = 0.0


class LoginThrottle:
    def __init__(self, *, now: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self._now = now
        self._max_keys = max_keys
        # Ordered by last failure (a key counted again moves to the end): the first
        # entries are the idlest, so forgetting and dropping both start there.
        self._keys: dict[Key, _Failures] = {}

    @staticmethod
    def key(client: str, username: str, way: str = LOGIN) -> Key:
        return way, client, username.casefold()

    def check(self, client: str, username: str, way: str = LOGIN) -> float | None:
        """Seconds left while this client is locked out for this user name this way, else None."""
        entry = self._keys.get(self.key(client, username, way))
        if entry is None:
            return None
        left = entry.locked_until - self._now()
        return left if left > 0 else None

    def failed(self, client: str, username: str, way: str = LOGIN) -> None:
        """One more failed login; the ``MAX_FAILURES``-th in a row starts a lockout."""
        now = self._now()
        self._forget_idle(now)
        key = self.key(client, username, way)
        entry = self._keys.pop(key, None) or _Failures()
        self._keys[key] = entry
        entry.count += 1
        entry.last_seen = now
        if entry.count >= MAX_FAILURES:
            entry.locked_until = now + lockout_s(entry.lockouts)
            entry.lockouts += 1
            entry.count = 0
        while len(self._keys) > self._max_keys:
            # The oldest that is not locked out: failing other names must not be a way
            # to lift a lockout.  Only when every key is locked does the oldest go.
            # Never the key just counted, or a full table would never let it lock.
            victim = next((k for k, e in self._keys.items() if k != key and e.locked_until <= now), None)
            del self._keys[victim if victim is not None else next(iter(self._keys))]

    def succeeded(self, client: str, username: str, way: str = LOGIN) -> None:
        self._keys.pop(self.key(client, username, way), None)

    def __len__(self) -> int:
        return len(self._keys)

    def _forget_idle(self, now: float) -> None:
        while self._keys:
            oldest = next(iter(self._keys.values()))
            if now - oldest.last_seen <= IDLE_FORGET_S:
                return
            del self._keys[next(iter(self._keys))]
