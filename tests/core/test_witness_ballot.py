"""The witness's one vote (``core.modes``): one holder at a time, a lease, and a term for
each grant so that a hand-back ends only the grant it names."""

from __future__ import annotations

from ipics_server.core.modes import Ballot, cast_vote, release_vote


def test_one_holder_at_a_time_until_its_lease_runs_out():
    first = cast_vote(Ballot(), "primary", now=0, lease_s=10)
    assert first.granted and first.ballot == Ballot("primary", 10, 1)
    refused = cast_vote(first.ballot, "secondary", now=9, lease_s=10)
    assert not refused.granted and refused.ballot == first.ballot and "primary" in refused.reason
    after = cast_vote(first.ballot, "secondary", now=10, lease_s=10)
    assert after.granted and after.ballot == Ballot("secondary", 20, 2)


def test_a_renewal_keeps_the_term_and_a_new_grant_gets_the_next():
    held = cast_vote(Ballot(), "primary", now=0, lease_s=10).ballot
    assert cast_vote(held, "primary", now=5, lease_s=10, term=1).ballot == Ballot("primary", 15, 1)
    # the primary asking without naming its grant (it handed it back meanwhile): a new term
    assert cast_vote(held, "primary", now=5, lease_s=10, term=None).ballot.term == 2
    # its lease ran out: a new grant even when it names the old one
    assert cast_vote(held, "primary", now=11, lease_s=10, term=1).ballot.term == 2


def test_a_late_hand_back_does_not_end_a_later_grant_of_the_same_server():
    first = cast_vote(Ballot(), "primary", now=0, lease_s=10).ballot
    # the primary hands term 1 back, but that request is delayed; it asks again meanwhile
    again = cast_vote(first, "primary", now=1, lease_s=10, term=None).ballot
    assert again == Ballot("primary", 11, 2)
    assert release_vote(again, "primary", term=1) == again  # the late hand-back: nothing ended
    assert release_vote(again, "secondary", term=2) == again  # not the holder's
    released = release_vote(again, "primary", term=2)
    assert released.holder is None and released.term == 2  # the terms go on from there
    assert cast_vote(released, "secondary", now=2, lease_s=10).ballot.term == 3
