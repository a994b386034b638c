"""Exercise files: every built-in loads; a bad file is refused in one sentence naming
the file, the section and the key."""

from __future__ import annotations

import pytest

from ipics_lab.exercise import ExerciseError, builtin_names, load_exercise, parse_exercise

GOOD = """
title = "t"
description = "d"
time_limit = "10min"
[[setup]]
do = "power-off"
server = "primary"
[goal]
say = "the secondary active"
expect = [{ server = "secondary", role = "active" }]
[[procedure]]
action = "failover-now"
server = "primary"
via = "console"
chapter = "Click the Failover Now button"
"""


def test_every_builtin_exercise_loads():
    assert set(builtin_names()) == {
        "split-brain-method-1",
        "split-brain-method-2",
        "prolonged-downtime-90",
        "failover-before-maintenance",
        "dispatcher-offline-ptt",
        "phone-user-services",
    }
    for name in builtin_names():
        assert load_exercise(name).title


@pytest.mark.parametrize(
    "change, message",
    [
        (('via = "console"', 'via = "browser"'), "x.toml, procedure 1, key 'via': must be one of console, shell"),
        (('action = "failover-now"', 'action = "fail-over"'), "procedure 1, key 'action': unknown action 'fail-over'"),
        (('do = "power-off"', 'do = "go-standby"'), "x.toml, setup 1, key 'do': 'go-standby' is the administrator's"),
        (
            ('server = "primary"\n[goal]', 'server = "tertiary"\n[goal]'),
            "x.toml, setup 1, key 'server': unknown value 'tertiary'",
        ),
        (('time_limit = "10min"', 'time_limit = "soon"'), "x.toml, key 'time_limit'"),
        (('role = "active" }', 'role = "active", within = "1min" }'), "x.toml, goal, key 'expect': a goal checks"),
        (('title = "t"', 'title = "t"\nuser = "dan"'), "x.toml, key 'user': only a dispatcher's or a phone user's"),
        (("[[procedure]]", "[[procedure]]\nsteps = 3"), "x.toml, procedure 1, key 'steps': unknown key"),
    ],
)
def test_a_bad_file_is_refused_saying_where_and_why(change, message):
    old, new = change
    with pytest.raises(ExerciseError) as refused:
        parse_exercise(GOOD.replace(old, new, 1), name="x", where="x.toml")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_unknown_exercise_names_the_builtins():
    with pytest.raises(
        ExerciseError, match="no such exercise file, and not a built-in exercise .*split-brain-method-1"
    ):
        load_exercise("nope")
