import pytest

from ipics_server.core.records import Record, discarded_on_adopt, merge_newest, merge_on_configure


def r(key, t, value="v", version=1, origin="primary", table="channels"):
    return Record(table, key, None if value is None else {"name": value}, t, origin, version)


def test_merge_newest_timestamp_wins_per_record():
    primary = [r("a", 10, "old a"), r("b", 30, "new b"), r("only-p", 5)]
    secondary = [
        r("a", 20, "new a", origin="secondary"),
        r("b", 25, "old b", origin="secondary"),
        r("only-s", 7, origin="secondary"),
    ]
    merged = merge_newest(primary, secondary)
    assert merged[("channels", "a")].value == {"name": "new a"}
    assert merged[("channels", "b")].value == {"name": "new b"}
    assert set(merged) == {("channels", k) for k in ("a", "b", "only-p", "only-s")}


def test_merge_is_the_same_from_both_sides_on_a_tie():
    a, b = r("k", 10, "x", version=2), r("k", 10, "y", version=3, origin="secondary")
    assert merge_newest([a], [b]) == merge_newest([b], [a])


def test_tombstone_newer_than_record_wins():
    merged = merge_newest([r("k", 10)], [r("k", 11, None)])
    assert merged[("channels", "k")].deleted


def test_configure_keeps_this_servers_copy_of_the_configuring_administrators_accounts():
    """Issue 14: which ipicsadmin password survived Configure was random (both servers
    create it at first start, a moment apart); the primary's copy wins now, whichever
    is newer, and is stamped anew so the secondary adopts it without a discard."""
    users = dict(table="users")
    mine = [
        r("ipicsadmin", 10, "primary's", **users),
        r("ops", 10, "primary's ops", **users),
        r("dan", 10, "primary's dan", **users),
    ]
    theirs = [
        r("ipicsadmin", 11, "secondary's", origin="secondary", **users),
        r("ops", 12, "secondary's ops", version=4, origin="secondary", **users),
        r("dan", 12, "secondary's dan", origin="secondary", **users),
        r("amy", 12, "only there", origin="secondary", **users),
    ]
    merged = merge_on_configure(
        mine,
        theirs,
        keep_local=[("users", "ipicsadmin"), ("users", "ops"), ("users", "ghost")],
        now=100,
        origin="primary",
    )
    assert merged[("users", "ipicsadmin")].value == {"name": "primary's"}
    ops = merged[("users", "ops")]
    assert (ops.value, ops.updated_at, ops.version, ops.origin) == ({"name": "primary's ops"}, 100, 5, "primary")
    # everyone else: the newest copy, as the chapter says
    assert merged[("users", "dan")].value == {"name": "secondary's dan"}
    assert ("users", "amy") in merged and ("users", "ghost") not in merged
    # the secondary adopting the merge discards none of its copies as "never replicated"
    assert discarded_on_adopt(theirs, merged) == []


def test_discarded_on_adopt_is_what_never_reached_the_active():
    fire = r("fire-ursula", 100, "Fire", table="assignments")
    shared = r("police", 50, "Police")
    stale = r("ems", 40, "EMS old")
    active = {x.id: x for x in [shared, r("ems", 60, "EMS new", version=2)]}
    lost = discarded_on_adopt([fire, shared, stale], active)
    assert lost == [fire]  # the stale EMS was superseded, not lost


def test_newer_local_version_is_discarded_too():
    active = {("channels", "k"): r("k", 10, "before")}
    mine = r("k", 20, "after", version=2)
    assert discarded_on_adopt([mine], active) == [mine]


def test_live_value_is_the_value_and_refuses_a_tombstone():
    assert Record("users", "dan", {"username": "dan"}, 1.0, "primary").live_value == {"username": "dan"}
    with pytest.raises(ValueError, match="users/dan is deleted"):
        _ = Record("users", "dan", None, 2.0, "primary").live_value
