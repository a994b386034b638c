"""Pure rules of issue 3, as tables: the recommended method, the transaction log's
thresholds, and what REPAIR and ipicsrsync change."""

import pytest

from ipics_server.core.records import Record
from ipics_server.core.repair import plan_files, plan_table
from ipics_server.core.split_brain import METHOD_1_LIMIT_S, format_duration, split_brain
from ipics_server.core.txlog import LogState, log_state

DAY = 86400.0


@pytest.mark.parametrize(
    "mine, theirs, now, duration, method",
    [
        (0.0, 100.0, 200.0, 100.0, 1),  # the split began when the later one became active
        (100.0, 0.0, 200.0, 100.0, 1),
        (None, 100.0, 200.0, 100.0, 1),
        (0.0, 0.0, METHOD_1_LIMIT_S - 1, METHOD_1_LIMIT_S - 1, 1),
        (0.0, 0.0, METHOD_1_LIMIT_S, METHOD_1_LIMIT_S, 2),  # "5 or more days": Method 2
        (0.0, 0.0, 6 * DAY, 6 * DAY, 2),
    ],
)
def test_recommended_method(mine, theirs, now, duration, method):
    sb = split_brain(now, mine, theirs)
    assert sb.duration_s == duration and sb.recommended_method == method
    assert f"Method {method}" in sb.as_dict()["recommendation"]


def test_duration_reads_like_a_person_would_say_it():
    assert format_duration(6 * DAY + 3 * 3600 + 120) == "6 d 3 h 2 min"
    assert format_duration(75) == "1 min 15 s"


@pytest.mark.parametrize(
    "held, state",
    [
        (0, LogState.NORMAL),
        (74, LogState.NORMAL),
        (75, LogState.WARNING),
        (89, LogState.WARNING),
        (90, LogState.CRITICAL),
        (99, LogState.CRITICAL),
        (100, LogState.DDRBLOCK),
        (150, LogState.DDRBLOCK),
    ],
)
def test_transaction_log_thresholds(held, state):
    assert log_state(held, 100) == state


def rec(key, value, t, origin="primary"):
    return Record("channels", key, value, t, origin)


def test_repair_copies_one_sided_records_and_keeps_the_primarys_copy_of_shared_ones():
    primary = [rec("a", {"name": "only on primary"}, 1), rec("c", {"name": "primary's"}, 1)]
    secondary = [
        rec("b", {"name": "only on secondary"}, 2, "secondary"),
        rec("c", {"name": "secondary's, newer"}, 9, "secondary"),
    ]

    on_primary = plan_table(primary, secondary, active_is_primary=True)
    assert [r.key for r, _ in on_primary.write_here] == ["b"]
    assert on_primary.copied_to_partner == 1
    assert [r.key for r in on_primary.replaced_on_partner] == ["c"]  # newer, still replaced

    # The secondary is active (Go Standby pressed on the primary): the primary is still master.
    on_secondary = plan_table(secondary, primary, active_is_primary=False)
    written = {r.key: (r.value["name"], expected) for r, expected in on_secondary.write_here}
    assert written == {"a": ("only on primary", None), "c": ("primary's", 1)}


def test_rsync_copies_primary_only_deletes_secondary_only_and_keeps_the_newer():
    primary = {
        "p": {"mtime": 1, "sha256": "x"},
        "same": {"mtime": 1, "sha256": "s"},
        "newer_here": {"mtime": 5, "sha256": "1"},
        "newer_there": {"mtime": 1, "sha256": "2"},
    }
    secondary = {
        "s": {"mtime": 1, "sha256": "y"},
        "same": {"mtime": 7, "sha256": "s"},
        "newer_here": {"mtime": 2, "sha256": "3"},
        "newer_there": {"mtime": 9, "sha256": "4"},
    }
    plan = plan_files(primary, secondary)
    assert plan.copy_to_secondary == ["newer_here", "p"]
    assert plan.copy_to_primary == ["newer_there"]
    assert plan.delete_on_secondary == ["s"]
