"""The login throttle's policy, with a time source the test moves by hand."""

import pytest

from ipics_server.core.throttle import (
    FIRST_LOCKOUT_S,
    IDLE_FORGET_S,
    MAX_FAILURES,
    MAX_LOCKOUT_S,
    SHELL,
    TRUST,
    LoginThrottle,
    lockout_s,
)

HOST, OTHER_HOST = "127.0.0.1", "127.0.0.2"


class FakeTime:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def now() -> FakeTime:
    return FakeTime()


@pytest.fixture
def throttle(now: FakeTime) -> LoginThrottle:
    return LoginThrottle(now=now)


def fail(throttle: LoginThrottle, times: int, client: str = HOST, user: str = "dan") -> None:
    for _ in range(times):
        assert throttle.check(client, user) is None, "refused before the failures were counted"
        throttle.failed(client, user)


def test_four_failures_do_not_lock_the_fifth_does(throttle):
    fail(throttle, MAX_FAILURES - 1)
    assert throttle.check(HOST, "dan") is None
    throttle.failed(HOST, "dan")
    assert throttle.check(HOST, "dan") == FIRST_LOCKOUT_S


def test_the_lockout_counts_down_and_expires(throttle, now):
    fail(throttle, MAX_FAILURES)
    now.t += 10
    assert throttle.check(HOST, "dan") == pytest.approx(FIRST_LOCKOUT_S - 10)
    now.t += FIRST_LOCKOUT_S - 10
    assert throttle.check(HOST, "dan") is None
    # After a lockout the count starts again: four more failures do not lock.
    fail(throttle, MAX_FAILURES - 1)
    assert throttle.check(HOST, "dan") is None


def test_each_further_lockout_doubles_up_to_fifteen_minutes(throttle, now):
    seen = []
    for _ in range(8):
        fail(throttle, MAX_FAILURES)
        left = throttle.check(HOST, "dan")
        seen.append(left)
        now.t += left
    assert seen == [30, 60, 120, 240, 480, 900, 900, 900]
    assert MAX_LOCKOUT_S == 15 * 60


def test_the_doubling_never_overflows():
    assert lockout_s(0) == FIRST_LOCKOUT_S
    assert lockout_s(10_000) == MAX_LOCKOUT_S


def test_a_success_clears_the_failures_and_the_doubling(throttle, now):
    fail(throttle, MAX_FAILURES - 1)
    throttle.succeeded(HOST, "dan")
    fail(throttle, MAX_FAILURES - 1)
    assert throttle.check(HOST, "dan") is None, "failures before a success still counted"
    throttle.failed(HOST, "dan")
    now.t += FIRST_LOCKOUT_S
    fail(throttle, MAX_FAILURES)
    assert throttle.check(HOST, "dan") == 2 * FIRST_LOCKOUT_S
    throttle.succeeded(HOST, "dan")
    assert throttle.check(HOST, "dan") is None
    fail(throttle, MAX_FAILURES)
    assert throttle.check(HOST, "dan") == FIRST_LOCKOUT_S, "the doubling survived a success"
    assert len(throttle) == 1


def test_clients_and_users_are_independent(throttle):
    fail(throttle, MAX_FAILURES, HOST, "dan")
    assert throttle.check(HOST, "dan") is not None
    assert throttle.check(OTHER_HOST, "dan") is None
    assert throttle.check(HOST, "adam") is None
    fail(throttle, MAX_FAILURES - 1, OTHER_HOST, "dan")
    fail(throttle, MAX_FAILURES - 1, HOST, "adam")
    assert throttle.check(OTHER_HOST, "dan") is None and throttle.check(HOST, "adam") is None


def test_the_user_name_is_case_insensitive(throttle):
    for user in ("dan", "Dan", "DAN", "dAn"):
        fail(throttle, 1, HOST, user)
    throttle.failed(HOST, "DaN")
    assert throttle.check(HOST, "dan") == FIRST_LOCKOUT_S
    assert throttle.check(HOST, "DAN") == FIRST_LOCKOUT_S
    throttle.succeeded(HOST, "Dan")
    assert throttle.check(HOST, "dAN") is None
    assert len(throttle) == 0


def test_keys_idle_for_over_an_hour_are_forgotten(throttle, now):
    fail(throttle, MAX_FAILURES - 1, HOST, "dan")
    fail(throttle, MAX_FAILURES, HOST, "adam")
    now.t += IDLE_FORGET_S / 2
    fail(throttle, 1, HOST, "amy")
    now.t += IDLE_FORGET_S / 2 + 1
    fail(throttle, 1, HOST, "fred")
    assert len(throttle) == 2, "dan and adam were idle for over an hour"
    fail(throttle, 1, HOST, "dan")
    assert throttle.check(HOST, "dan") is None, "dan's old failures still counted"


def test_memory_is_capped_by_dropping_the_oldest_keys_not_locked_out(now):
    throttle = LoginThrottle(now=now, max_keys=100)
    fail(throttle, MAX_FAILURES, HOST, "dan")  # locked, and the oldest key
    for i in range(150):
        now.t += 0.001
        throttle.failed(HOST, f"guess{i}")
        assert len(throttle) <= 100
    assert len(throttle) == 100
    # Failing other names is no way to lift a lockout: the locked key stays.
    assert throttle.check(HOST, "dan") is not None
    fail(throttle, MAX_FAILURES - 1, HOST, "guess0")  # guess0 was dropped: counting anew
    assert throttle.check(HOST, "guess0") is None
    fail(throttle, MAX_FAILURES - 1, HOST, "guess149")
    assert throttle.check(HOST, "guess149") == FIRST_LOCKOUT_S


def test_when_every_key_is_locked_the_oldest_goes(now):
    throttle = LoginThrottle(now=now, max_keys=3)
    for user in ("dan", "adam", "amy", "fred"):
        fail(throttle, MAX_FAILURES, HOST, user)
    assert len(throttle) == 3
    assert throttle.check(HOST, "dan") is None and throttle.check(HOST, "fred") is not None


def test_a_key_counted_again_is_no_longer_the_oldest(now):
    throttle = LoginThrottle(now=now, max_keys=3)
    for user in ("dan", "adam", "amy"):
        throttle.failed(HOST, user)
    throttle.failed(HOST, "dan")
    throttle.failed(HOST, "fred")
    fail(throttle, MAX_FAILURES - 2, HOST, "dan")
    assert throttle.check(HOST, "dan") == FIRST_LOCKOUT_S, "dan was dropped instead of adam"


def test_check_only_reads(throttle):
    for _ in range(20):
        assert throttle.check(HOST, "dan") is None
    assert len(throttle) == 0


def test_each_way_in_is_throttled_on_its_own(throttle):
    """Issue 14: guesses at the console from the partner's address locked the partner's
    own trust calls out; each way in (logins, the shell, trust calls) has its own count."""
    fail(throttle, MAX_FAILURES, HOST, "ipicsadmin")
    assert throttle.check(HOST, "ipicsadmin") == FIRST_LOCKOUT_S
    assert throttle.check(HOST, "ipicsadmin", TRUST) is None
    assert throttle.check(HOST, "ipicsadmin", SHELL) is None
    for _ in range(MAX_FAILURES):
        throttle.failed(HOST, "ipicsadmin", TRUST)
    assert throttle.check(HOST, "ipicsadmin", TRUST) == FIRST_LOCKOUT_S  # still throttled there
    throttle.succeeded(HOST, "ipicsadmin")
    assert throttle.check(HOST, "ipicsadmin", TRUST) == FIRST_LOCKOUT_S, "a login cleared another way's lockout"
