from ipics_server.core.records import Record, discarded_on_adopt, merge_newest


def r(key, t, value="v", version=1, origin="primary", table="channels"):
    return Record(table, key, None if value is None else {"name": value}, t, origin, version)


def test_merge_newest_timestamp_wins_per_record():
    primary = [r("a", 10, "old a"), r("b", 30, "new b"), r("only-p", 5)]
    secondary = [r("a", 20, "new a", origin="secondary"), r("b", 25, "old b", origin="secondary"),
                 r("only-s", 7, origin="secondary")]
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
