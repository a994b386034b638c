"""Dial Login's lockout against what an attacker would try: many guesses at once, a
sweep of other user IDs to push the lockout out of memory, and a lab whose emulated
time runs fast (the lockout counts real time)."""

from __future__ import annotations

import asyncio

import pytest

from ipics_server.dial_login import LOCKOUT_FAILURES, LOCKOUT_S, DialLogin, Locked
from ipics_server.passwords import hash_password


class _Records:
    def __init__(self, users):
        self.users = users

    async def table(self, name):
        return [type("R", (), {"value": u})() for u in self.users]


class _Seconds:
    """A time source the test moves by hand."""

    def __init__(self, start: float):
        self.t = start

    def now(self) -> float:
        return self.t


class _Data:
    """What Dial Login may read of the data service: the users table, and the server's
    emulated clock (which must not matter to the lockout)."""

    def __init__(self):
        self.store = _Records([{"username": "dan", "dial_id": "1001", "pin_hash": hash_password("2468")}])
        self.clock = _Seconds(1000.0)
        self._dummy = hash_password("unused")  # made once, as the data service does

    async def dummy_hash(self):
        return self._dummy


async def test_guesses_sent_all_at_once_are_each_counted():
    login = DialLogin(_Data())
    results = await asyncio.gather(*(login.verify("1001", f"{n:04d}") for n in range(20)), return_exceptions=True)
    assert sum(r is None for r in results) == LOCKOUT_FAILURES  # the rest were refused unchecked
    assert all(isinstance(r, Locked) for r in results if r is not None)
    with pytest.raises(Locked):
        await login.verify("1001", "2468")  # the right PIN, too late


async def test_a_sweep_of_other_ids_does_not_lift_a_lockout(monkeypatch):
    monkeypatch.setattr("ipics_server.dial_login.MAX_TRACKED_IDS", 50)
    monkeypatch.setattr("ipics_server.dial_login.verify_password_async", _never)
    login = DialLogin(_Data())
    for _ in range(LOCKOUT_FAILURES):
        await login.verify("1001", "0000")
    for n in range(200):
        await login.verify(f"9{n:04d}", "0000")
    with pytest.raises(Locked):
        await login.verify("1001", "2468")


async def _never(pin, stored):
    return False


async def test_the_lockout_counts_real_seconds_not_the_emulated_clock():
    data, real = _Data(), _Seconds(50.0)
    login = DialLogin(data, now=real.now)
    for _ in range(LOCKOUT_FAILURES):
        assert await login.verify("1001", "0000") is None
    # A lab at time scale 0.05: five emulated minutes pass in 15 real seconds.
    data.clock.t += 10 * LOCKOUT_S
    real.t += 15
    with pytest.raises(Locked) as locked:
        await login.verify("1001", "2468")
    assert locked.value.minutes == 5
    real.t += LOCKOUT_S - 16  # one real second short of the lockout
    with pytest.raises(Locked):
        await login.verify("1001", "2468")
    real.t += 1
    assert (await login.verify("1001", "2468"))["username"] == "dan"
