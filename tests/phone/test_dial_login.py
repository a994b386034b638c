"""Dial Login's lockout against what an attacker would try: many guesses at once, and a
sweep of other user IDs to push the lockout out of memory."""

from __future__ import annotations

import asyncio

import pytest
from ipics_server.dial_login import LOCKOUT_FAILURES, DialLogin, Locked
from ipics_server.passwords import hash_password


class _Records:
    def __init__(self, users):
        self.users = users

    async def table(self, name):
        return [type("R", (), {"value": u})() for u in self.users]


class _Data:
    """The two things Dial Login reads: the users table and the clock."""

    def __init__(self):
        self.store = _Records([{"username": "dan", "dial_id": "1001", "pin_hash": hash_password("2468")}])
        self.clock = type("C", (), {"now": staticmethod(lambda: 1000.0)})()

    async def dummy_hash(self):
        return hash_password("unused")


async def test_guesses_sent_all_at_once_are_each_counted():
    login = DialLogin(_Data())
    results = await asyncio.gather(*(login.verify("1001", f"{n:04d}") for n in range(20)),
                                   return_exceptions=True)
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
