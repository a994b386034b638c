"""Dial Login: the numeric user ID and PIN an operator sets per user, checked for the
IP phone service and the dial engine alike (one lockout for both: a PIN guessed on a
telephone is as dangerous as one guessed on a phone).

Numeric PINs are short, so after ``LOCKOUT_FAILURES`` wrong tries a user ID waits
``LOCKOUT_S`` seconds.  Real seconds on purpose (``time.monotonic``, injected), not the
emulated clock, like the API and SSH login throttle (``core/throttle.py``): a lockout
protects real people from a real attacker, and a lab run at a small time scale must
not shorten it.  An unknown user ID costs as much to check as a known one, so timing
does not tell which IDs exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .data import DataService
from .passwords import verify_password_async

DIAL_ID_DIGITS = (1, 10)
PIN_DIGITS = (4, 10)
LOCKOUT_FAILURES = 5
LOCKOUT_S = 5 * 60
#: a sweep of random IDs must not grow memory without bound
MAX_TRACKED_IDS = 10_000


class Locked(Exception):
    def __init__(self, minutes: int):
        super().__init__(f"too many attempts: try again in {minutes} minutes")
        self.minutes = minutes


def well_formed(user_id: str, pin: str) -> bool:
    return _digits(user_id, DIAL_ID_DIGITS) and _digits(pin, PIN_DIGITS)


def _digits(value: str, bounds: tuple[int, int]) -> bool:
    return value.isascii() and value.isdigit() and bounds[0] <= len(value) <= bounds[1]


class DialLogin:
    def __init__(self, data: DataService, *, now: Callable[[], float] = time.monotonic):
        self.data = data
        self._now = now  # real seconds: see the module's docstring
        self._failures: dict[str, tuple[int, float]] = {}

    async def verify(self, user_id: str, pin: str) -> dict | None:
        """The user whose Dial Login this is, or None; ``Locked`` after too many tries."""
        self._check_lock(user_id)
        # Counted before the first await: attempts sent all at once are counted too.
        self._count_failure(user_id)
        match = None
        for r in await self.data.store.table("users"):
            if r.value and r.value.get("dial_id") == user_id:
                match = r.value
        stored = match["pin_hash"] if match else await self.data.dummy_hash()
        ok = await verify_password_async(pin, stored)  # as slow for an unknown user ID
        if match and ok:
            self._failures.pop(user_id, None)
            return match
        return None

    def _check_lock(self, user_id: str) -> None:
        count, since = self._failures.get(user_id, (0, 0.0))
        if count < LOCKOUT_FAILURES:
            return
        left = since + LOCKOUT_S - self._now()
        if left > 0:
            raise Locked(max(1, round(left / 60)))
        self._failures.pop(user_id, None)

    def _count_failure(self, user_id: str) -> None:
        count, _ = self._failures.pop(user_id, (0, 0.0))
        if len(self._failures) >= MAX_TRACKED_IDS:
            # Room is made among the IDs not locked, oldest first (dicts keep insertion
            # order; an ID counted again moves to the end): a sweep of random IDs
            # cannot lift a lockout.
            victim = next(
                (k for k, (n, _) in self._failures.items() if n < LOCKOUT_FAILURES), next(iter(self._failures))
            )
            del self._failures[victim]
        self._failures[user_id] = (count + 1, self._now())
