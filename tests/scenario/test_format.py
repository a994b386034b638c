"""The scenario file format: parsing, and every validation error naming the file, the
step and the key.  No processes: this is the text alone."""

from __future__ import annotations

import textwrap

import pytest

from ipics_lab.scenario import (
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_scenario,
)
from ipics_lab.scenario.durations import describe_duration, parse_duration

BUILTINS = ["earthquake", "manual-failover", "prolonged-downtime", "clock-skew-split-brain", "earthquake-side-by-side"]

HEAD = 'title = "T"\ndescription = "D"\n'
LOGIN_DAN = '[[step]]\ndo = "login"\nuser = "dan"\nserver = "primary"\n'
LOGIN_ADAM = '[[step]]\ndo = "login"\nuser = "adam"\nserver = "primary"\n'


def parse(body: str, head: str = HEAD):
    return parse_scenario(head + textwrap.dedent(body), name="t", where="t.toml")


# ------------------------------------------------------------------ durations
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("2min", 120),
        ("1h 30min", 5400),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("0s", 0),
        ("10 sec", 10),
        ("1min30s", 90),
        (" 3 MIN ", 180),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["45", "", "  ", "2 minutes", "-5s", "5 s s", "1d", "s", "1.s", "5mins"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_endless_durations_are_refused():  # a headless run must end
    for text in ("9" * 400 + "s", "200h"):
        with pytest.raises(ValueError, match="at most 7 days"):
            parse_duration(text)
    assert parse_duration("168h") == 7 * 86400


@pytest.mark.parametrize(
    ("seconds", "words"), [(45, "45 s"), (0.5, "0.5 s"), (150, "2 min 30 s"), (3600, "1 h"), (5460, "1 h 31 min")]
)
def test_durations_described(seconds, words):
    assert describe_duration(seconds) == words


# ------------------------------------------------------------------- parsing
def test_a_scenario_with_every_kind_of_step_and_expectation():
    sc = parse("""
        [[step]]
        say = "Dan logs in."
        do = "login"
        user = "dan"
        server = "selected"
        expect = { client = "dan", state = "online", on = "primary", channels_contain = "Fire", within = "10s" }

        [[step]]
        at = "1min"
        do = "cut-link"
        server = "primary"

        [[step]]
        after = "30s"
        say = "Adam."
        do = "login"
        user = "adam"
        server = "primary"

        [[step]]
        do = "create-channel"
        name = "Staging"
        as = "adam"

        [[step]]
        do = "assign-channel"
        channel = "Staging"
        user = "dan"
        as = "adam"

        [[step]]
        do = "ptt-press"
        user = "dan"
        channel = "Staging"

        [[step]]
        do = "fill-txlog"
        [[step.expect]]
        server = "primary"
        message = "75%"
        txlog_percent = 75
        [[step.expect]]
        listener = "adam"
        hears = "dan"
        channel = "Staging"
        within = "2min"

        [[step]]
        do = "wait"
        duration = "45min"
        """)
    assert (sc.name, sc.title, sc.description) == ("t", "T", "D")
    s = sc.steps
    assert [x.index for x in s] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert s[0].params == {"user": "dan", "server": "selected"} and s[0].at_s is None and s[0].after_s is None
    e = s[0].expect[0]
    assert (e.subject, e.who, e.within_s) == ("client", "dan", 10)
    assert e.checks == {"state": "online", "on": "primary", "channels_contain": ("Fire",)}
    assert s[1].at_s == 60 and s[1].params == {"server": "primary", "direction": "both"}  # the default
    assert s[2].after_s == 30
    assert s[6].params == {"server": "primary", "percent": 80}
    assert [x.subject for x in s[6].expect] == ["server", "listener"]
    assert s[6].expect[1].checks == {"hears": "dan", "channel": "Staging"}
    assert s[7].params == {"duration": 2700}
    assert s[4].action_text() == "assign-channel Staging to dan as adam"
    assert s[1].action_text() == "cut-link primary both"
    assert s[0].expect[0].describe() == "dan: state online, on the primary, has channel Fire (within 10 s)"


@pytest.mark.parametrize("name", BUILTINS)
def test_the_built_in_scenarios_load(name):
    assert name in builtin_names()
    sc = load_scenario(name)
    assert sc.name == name and sc.title and sc.description and sc.steps
    assert all(step.say or step.expect or step.do in ("logout", "login", "create-channel") for step in sc.steps)


@pytest.mark.parametrize(
    "old,name", [("split-brain-clock-skew", "clock-skew-split-brain"), ("maintenance-failover", "manual-failover")]
)
def test_the_earlier_names_still_load_the_contracts_scenarios(old, name):
    """The contract (DESIGN.md) names them clock-skew-split-brain and manual-failover."""
    assert old not in builtin_names()
    assert load_scenario(old).name == name


def test_a_scenario_that_compares_modes():
    sc = parse(
        """\
        [outcome.ipics]
        say = "Two actives."
        split_brain = true
        writes_lost = ">= 1"

        [outcome."synchronous-strict+witness"]
        split_brain = false
        writes_lost = 0
        writes_refused = "<= 2"

        [[step]]
        say = "Both."
        expect = { server = "primary", role = "active" }

        [[step]]
        do = "wait"
        duration = "5min"
        expect.ipics = [{ server = "secondary", role = "active", within = "2min" }]
        expect."witness+synchronous-strict" = { server = "secondary", role = "standby" }
        """,
        head=HEAD + COMPARE,
    )
    # Any spelling of a mode, by its one name.
    assert sc.compare == ("ipics", "witness+synchronous-strict")
    ipics, strict = sc.outcomes["ipics"], sc.outcomes["witness+synchronous-strict"]
    assert ipics.say == "Two actives." and ipics.checks["split_brain"] is True
    assert ipics.checks["writes_lost"].holds(3) and not ipics.checks["writes_lost"].holds(0)
    assert strict.checks["writes_lost"].holds(0) and not strict.checks["writes_lost"].holds(1)
    assert strict.checks["writes_refused"].describe() == "at most 2"
    # Each mode runs every step with the common expectations, then its own.
    as_ipics, as_strict = sc.for_mode("ipics"), sc.for_mode("witness+synchronous-strict")
    assert [e.describe() for e in as_ipics.steps[1].expect] == ["secondary: role active (within 2 min)"]
    assert [e.describe() for e in as_strict.steps[1].expect] == ["secondary: role standby"]
    assert [e.describe() for e in as_strict.steps[0].expect] == ["primary: role active"]
    assert as_ipics.compare == () and len(as_ipics.steps) == 2
    with pytest.raises(ValueError, match="not compared in mode 'witness'"):
        sc.for_mode("witness")


def test_a_file_by_path(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(HEAD + '[[step]]\nsay = "Hello."\n')
    sc = load_scenario(f)
    assert sc.name == "mine" and sc.path == f and sc.steps[0].say == "Hello."
    assert load_scenario(str(f)).name == "mine"


# ----------------------------------------------------------------- mistakes
# (file body, the words the error must contain); every message starts with the file.
COMPARE = 'compare = ["ipics", "synchronous-strict+witness"]\n'

MISTAKES = [
    (HEAD + 'compare = ["ipics", "quorum"]\n[[step]]\nsay = "x"\n', "key 'compare': unknown mode 'quorum'"),
    (HEAD + 'compare = ["ipics"]\n[[step]]\nsay = "x"\n', "key 'compare': name 2 to 4 different modes, not ipics"),
    (HEAD + 'compare = ["ipics", "ipics"]\n[[step]]\nsay = "x"\n', "key 'compare': name 2 to 4 different modes"),
    (HEAD + 'compare = "ipics"\n[[step]]\nsay = "x"\n', "key 'compare': must be an array of modes"),
    (
        HEAD + '[outcome.ipics]\nsplit_brain = true\n[[step]]\nsay = "x"\n',
        "key 'outcome': only a scenario that compares modes has outcomes",
    ),
    (
        HEAD + COMPARE + '[outcome.witness]\nsplit_brain = true\n[[step]]\nsay = "x"\n',
        "key 'outcome': 'witness' is not one of the modes compared (ipics, witness+synchronous-strict)",
    ),
    (
        HEAD + COMPARE + '[outcome.ipics]\nwrites_lost = "some"\n[[step]]\nsay = "x"\n',
        "key 'writes_lost': must be a count: a whole number (exactly), or \">= N\" or \"<= N\", not 'some'",
    ),
    (
        HEAD + COMPARE + '[outcome.ipics]\nsplit_brains = true\n[[step]]\nsay = "x"\n',
        "key 'split_brains': unknown key for the outcome of ipics",
    ),
    (
        HEAD + COMPARE + '[[step]]\nexpect.witness = { server = "primary", role = "active" }\n',
        "step 1, key 'expect': 'witness' is not one of the modes compared",
    ),
    (
        HEAD + '[[step]]\nexpect.ipics = { server = "primary", role = "active" }\n',
        "step 1, key 'expect': each expectation names exactly one of",
    ),
    # the file
    ("title = \n", "t.toml: not valid TOML"),
    ('description = "D"\n[[step]]\nsay = "x"\n', "t.toml, key 'title': missing"),
    ('title = ""\ndescription = "D"\n[[step]]\nsay = "x"\n', "key 'title': must not be empty"),
    ('title = 3\ndescription = "D"\n[[step]]\nsay = "x"\n', "key 'title': must be a string, not an integer"),
    (HEAD, "t.toml, key 'step': missing"),
    (HEAD + "step = 3\n", "key 'step': must be an array of tables"),
    (HEAD + "step = []\n", "key 'step': a scenario needs at least one [[step]]"),
    (HEAD + 'author = "me"\n[[step]]\nsay = "x"\n', "t.toml, key 'author': unknown key for a scenario"),
    # steps
    (HEAD + '[[step]]\nsay = "x"\nwhen = "1s"\n', "t.toml, step 1, key 'when': unknown key for a step without 'do'"),
    (HEAD + '[[step]]\nsay = "x"\n[[step]]\n', "step 2: an empty step"),
    (HEAD + "[[step]]\nsay = 5\n", "step 1, key 'say': must be a string, not an integer"),
    (HEAD + '[[step]]\ndo = "explode"\n', "step 1, key 'do': unknown action 'explode'"),
    (HEAD + '[[step]]\ndo = ["login"]\n', "step 1, key 'do': must be a string naming an action, not an array"),
    (HEAD + '[[step]]\ndo = "power-off"\n', "step 1, key 'server': missing"),
    (HEAD + '[[step]]\ndo = "power-off"\nserver = "tertiary"\n', "key 'server': unknown value 'tertiary'"),
    (HEAD + '[[step]]\ndo = "power-off"\nserver = 1\n', "key 'server': must be a string, not an integer"),
    (
        HEAD + '[[step]]\ndo = "power-off"\nserver = "primary"\ndirection = "both"\n',
        "step 1, key 'direction': unknown key for do = 'power-off' (allowed: at, after, say, do, expect, server)",
    ),
    (
        HEAD + '[[step]]\ndo = "cut-link"\nserver = "primary"\ndirection = "sideways"\n',
        "key 'direction': unknown value 'sideways' (one of: both, outbound, inbound)",
    ),
    (
        HEAD + '[[step]]\ndo = "skew-clock"\nserver = "primary"\nseconds = "45s"\n',
        "key 'seconds': must be a number, not a string",
    ),
    (
        HEAD + '[[step]]\ndo = "skew-clock"\nserver = "primary"\nseconds = true\n',
        "key 'seconds': must be a number, not a boolean",
    ),
    (HEAD + '[[step]]\ndo = "fill-txlog"\npercent = 150\n', "key 'percent': must be a percentage between 0 and 100"),
    (HEAD + '[[step]]\ndo = "wait"\nduration = 30\n', "key 'duration': a duration is a string"),
    (HEAD + '[[step]]\ndo = "wait"\n', "key 'duration': missing"),
    (HEAD + '[[step]]\nsay = "x"\nafter = "2 minutes"\n', "step 1, key 'after': '2 minutes' is not a duration"),
    (HEAD + '[[step]]\nsay = "x"\nat = "1s"\nafter = "1s"\n', "key 'after': give 'at'"),
    (
        HEAD + '[[step]]\nsay = "x"\nat = "2min"\n[[step]]\nsay = "y"\nat = "1min"\n',
        "step 2, key 'at': '1min' is earlier than step 1's at",
    ),
    (HEAD + '[[step]]\ndo = "login"\nuser = "bob"\nserver = "primary"\n', "key 'user': unknown user 'bob'"),
    (
        HEAD + '[[step]]\ndo = "login"\nuser = "dan"\nserver = "active"\n',
        "key 'server': unknown value 'active' (one of: primary, secondary, selected)",
    ),
    (HEAD + '[[step]]\ndo = "logout"\nuser = "dan"\n', "step 1, key 'user': dan is not logged in at this step"),
    (
        HEAD + LOGIN_DAN + '[[step]]\ndo = "logout"\nuser = "dan"\n[[step]]\ndo = "ptt-press"\nuser = "dan"\n'
        'channel = "Fire"\n',
        "step 3, key 'user': dan is not logged in",
    ),
    (
        HEAD + LOGIN_DAN + '[[step]]\ndo = "create-channel"\nname = "X"\nas = "dan"\n',
        "step 2, key 'as': unknown operator (only an operator assigns and creates channels) 'dan'",
    ),
    (HEAD + '[[step]]\ndo = "create-channel"\nname = "X"\nas = "adam"\n', "key 'as': adam is not logged in"),
    (HEAD + LOGIN_ADAM + '[[step]]\ndo = "create-channel"\nname = " "\nas = "adam"\n', "key 'name': must not be empty"),
    (
        HEAD + LOGIN_ADAM + '[[step]]\ndo = "assign-channel"\nchannel = "Water"\nuser = "dan"\nas = "adam"\n',
        "step 2, key 'channel': unknown channel 'Water'",
    ),
    (HEAD + LOGIN_DAN + '[[step]]\ndo = "ptt-press"\nuser = "dan"\n', "step 2, key 'channel': missing"),
    # expectations
    (HEAD + '[[step]]\nexpect = "primary is active"\n', "step 1, key 'expect': must be a table, or an array"),
    (HEAD + "[[step]]\nexpect = []\n", "key 'expect': must be a table, or an array"),
    (HEAD + '[[step]]\nexpect = { role = "active" }\n', "key 'expect': each expectation names exactly one"),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { server = "primary", client = "dan", role = "active" }\n',
        "(found server, client)",
    ),
    (HEAD + '[[step]]\nexpect = { server = "primary" }\n', "key 'server': nothing to check"),
    (
        HEAD + '[[step]]\nexpect = { server = "primary", role = "master" }\n',
        "step 1, key 'role': must be one of 'active', 'standby', 'standalone', 'transitioning', not 'master'",
    ),
    (HEAD + '[[step]]\nexpect = { server = "backup", role = "active" }\n', "key 'server': unknown server 'backup'"),
    (
        HEAD + '[[step]]\nexpect = [{ server = "primary", role = "active" }, { server = "primary", colour = "red" }]\n',
        "step 1, expect 2, key 'colour': unknown key for a server expectation",
    ),
    (
        HEAD + '[[step]]\nexpect = { server = "primary", split_brain = "no" }\n',
        "key 'split_brain': must be true or false, not a string",
    ),
    (
        HEAD + '[[step]]\nexpect = { server = "primary", txlog_percent = "75%" }\n',
        "key 'txlog_percent': must be a percentage",
    ),
    (HEAD + '[[step]]\nexpect = { server = "primary", message = "" }\n', "key 'message': must be a non-empty string"),
    (
        HEAD + '[[step]]\nexpect = { server = "primary", role = "active", within = 10 }\n',
        "key 'within': a duration is a string",
    ),
    (
        HEAD + '[[step]]\nexpect = { server = "primary", role = "active", within = "soon" }\n',
        "key 'within': 'soon' is not a duration",
    ),
    (
        HEAD + '[[step]]\nexpect = { client = "dan", state = "online" }\n',
        "step 1, key 'client': dan has no console yet",
    ),
    (HEAD + '[[step]]\nexpect = { client = "zed", state = "online" }\n', "key 'client': unknown user 'zed'"),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", state = "asleep" }\n',
        "step 2, key 'state': must be one of 'logged out', 'connecting', 'online', 'offline'",
    ),
    (HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", on = "active" }\n', "key 'on': must be one of"),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", channels_contain = [] }\n',
        "key 'channels_contain': must be a channel name or a list",
    ),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", channels_lack = ["Fire", 3] }\n',
        "key 'channels_lack': must be a channel name or a list",
    ),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", channels_lack = "Water" }\n',
        "key 'channels_lack': unknown channel 'Water'",
    ),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { client = "dan", role = "active" }\n',
        "key 'role': unknown key for a client expectation",
    ),
    (
        HEAD + LOGIN_DAN + '[[step]]\nexpect = { listener = "dan", hears = "adam", channel = "Fire" }\n',
        "key 'hears': adam has no console yet",
    ),
    (
        HEAD + LOGIN_DAN + LOGIN_ADAM + '[[step]]\nexpect = { listener = "dan", hears = "adam" }\n',
        "step 3, key 'channel': a listener expectation needs both",
    ),
]


@pytest.mark.parametrize(("text", "words"), MISTAKES, ids=[w[:60] for _t, w in MISTAKES])
def test_every_mistake_is_named_with_the_file_the_step_and_the_key(text, words):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, name="t", where="t.toml")
    message = str(caught.value)
    assert message.startswith("t.toml") and words in message, message


def test_a_missing_file_says_so_and_lists_the_built_ins(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file, and not a built-in scenario .*earthquake"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="nope: no such scenario file"):
        load_scenario("nope")


def test_an_unreadable_file_says_so(tmp_path):
    f = tmp_path / "latin.toml"
    f.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match=r"latin.toml: cannot be read"):
        load_scenario(f)


def test_the_documented_example_is_a_valid_scenario():
    """docs/scenarios.md's complete example (run by hand at 0.02: it passes)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
    example = doc.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    sc = parse_scenario(example, name="tomcat", where="docs/scenarios.md")
    assert [s.do for s in sc.steps] == ["login", "login", "ptt-press", "ptt-release", "crash-tomcat", None]
    assert sc.steps[4].at_s == 300
