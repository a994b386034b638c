import pytest

from ipics_server.core.ha_config import ConfigurationError, HeartbeatSettings, check_supported_pair


def test_defaults_are_the_chapters():
    s = HeartbeatSettings()
    assert (s.port, s.interval_s, s.missed_count) == (3444, 15, 5)
    assert s.failover_window_s == 75


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(interval_s=4), "Heartbeat Interval .* from 5 to 600; 4 is out of range"),
        (dict(interval_s=601), "from 5 to 600; 601"),
        (dict(missed_count=4), "Missed Heartbeat Count must be from 5 to 30; 4"),
        (dict(missed_count=31), "from 5 to 30; 31"),
        (dict(port=0), "Heartbeat Port must be from 1 to 65535"),
        (dict(port=70000), "Heartbeat Port"),
        (dict(interval_s="15"), "whole number from 5 to 600"),
        (dict(missed_count=True), "whole number from 5 to 30"),
    ],
)
def test_out_of_range_is_refused_with_the_range(kw, message):
    with pytest.raises(ConfigurationError, match=message):
        HeartbeatSettings(**kw)
    # A form's fields (the text typed where it is not a number) get the same answer.
    with pytest.raises(ConfigurationError, match=message):
        HeartbeatSettings.checked({**HeartbeatSettings().as_dict(), **kw})


def test_checked_values_make_the_settings():
    assert HeartbeatSettings.checked({"port": 4000, "interval_s": 20, "missed_count": 6}) == HeartbeatSettings(
        4000, 20, 6
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(interval_s=5),
        dict(interval_s=600),
        dict(missed_count=5),
        dict(missed_count=30),
        dict(port=1),
        dict(port=65535),
    ],
)
def test_bounds_are_accepted(kw):
    HeartbeatSettings(**kw)


@pytest.mark.parametrize(
    "primary, secondary, ok",
    [
        ("5.0(1)", "5.0(1)", True),
        ("5.0(1)", "5.0(1a)", True),
        ("4.10(1)", "4.10(1)", True),
        ("4.10(1)", "5.0(1)", False),
        ("5.0(1)", "4.10(1)", False),
        ("9.9", "9.9", False),
    ],
)
def test_compatibility_matrix(primary, secondary, ok):
    if ok:
        check_supported_pair(primary, secondary)
    else:
        with pytest.raises(ConfigurationError, match="not a supported HA configuration"):
            check_supported_pair(primary, secondary)
