"""The grader, without servers: hand-made audit entries for the chapter's procedures and
for each mistake the exercises name, and the grade a trainer would give."""

from __future__ import annotations

import pytest

from ipics_lab.exercise import load_exercise
from ipics_lab.exercise.grading import Observation, SeenAction, grade, result

HEALTHY = {
    "primary": {"role": "active", "ha": "configured", "standby_server_status": "Ready", "split_brain": False},
    "secondary": {"role": "standby", "ha": "configured", "standby_server_status": None, "split_brain": False},
}
SPLIT = {
    "primary": {"role": "active", "ha": "configured", "standby_server_status": "Not Ready", "split_brain": True},
    "secondary": {"role": "active", "ha": "configured", "standby_server_status": "Not Ready", "split_brain": True},
}


def did(server: str, at_s: float, action: str, via: str, ok: bool = True, user: str = "ipicsadmin") -> SeenAction:
    return SeenAction(
        server, at_s, {"action": action, "via": via, "user": user, "ok": ok, "result": "", "command": None}
    )


METHOD_1 = [
    did("secondary", 60, "go-standby", "console"),
    did("secondary", 120, "repair", "shell", user="informix"),
    did("primary", 300, "rsync", "shell"),
]


def seen(actions, final=HEALTHY, met_at=310.0, elapsed=310.0, **kw) -> Observation:
    return Observation(actions=actions, final=final, elapsed_s=elapsed, goal_met_at_s=met_at, **kw)


def deduction(g, text: str):
    found = [d for d in g.deductions if text in d.what]
    assert found, g.lines()
    return found[0]


def test_the_chapters_method_1_in_order_passes_with_full_marks():
    g = grade(load_exercise("split-brain-method-1"), seen(METHOD_1))
    assert (g.score, g.passed, g.deductions) == (100, True, [])
    assert [s.verdict for s in g.steps] == ["procedure step 1", "procedure step 2", "procedure step 3"]
    assert g.steps[0].chapter.startswith("Log in to the Cisco IPICS Administration Console for the secondary")
    assert g.time_to_recover_s == 310.0 and "met in 5 min 10 s" in g.outcome


def test_go_standby_on_the_primary_costs_points_with_the_chapters_reason():
    actions = [did("primary", 60, "go-standby", "console"), *METHOD_1[1:]]
    final = {"primary": {**HEALTHY["secondary"]}, "secondary": {**HEALTHY["primary"]}}
    g = grade(load_exercise("split-brain-method-1"), seen(actions, final=final, met_at=None))
    d = deduction(g, "Go Standby on the primary")
    assert d.points == 30 and "keep the primary server in active state" in d.chapter
    assert g.steps[0].verdict == "mistake: Go Standby on the primary"
    assert not g.passed and deduction(g, "goal not met").points == 40
    assert "primary: role standby (wanted active)" in deduction(g, "goal not met").what


def test_method_2_for_a_short_split_is_named_once_for_all_its_steps():
    actions = [
        did("secondary", 30, "service-ipics-stop", "shell"),
        did("primary", 60, "unconfigure", "console"),
        did("primary", 90, "delete-trust", "console"),
    ]
    g = grade(load_exercise("split-brain-method-1"), seen(actions, final=SPLIT, met_at=None))
    wrong = [d for d in g.deductions if d.what.startswith("Method 2")]
    assert len(wrong) == 1 and wrong[0].points == 25 and "less than 5" in wrong[0].chapter
    assert all(s.verdict.startswith("mistake: Method 2") for s in g.steps)


def test_method_1_for_a_split_of_five_days_or_more():
    actions = [did("secondary", 60, "go-standby", "console"), did("secondary", 90, "repair", "shell", user="informix")]
    g = grade(load_exercise("split-brain-method-2"), seen(actions, met_at=None))
    d = deduction(g, "Method 1 (Go Standby and REPAIR) for a split brain of five days or more")
    assert d.points == 30 and "5 or more days" in d.chapter
    # the procedure's Method 2 steps were never done: each named, with the chapter's words
    assert deduction(g, "not done: unconfigure on the primary").chapter.startswith("Log in to the Cisco IPICS")


def test_repair_before_go_standby():
    actions = [did("primary", 30, "repair", "shell", ok=False, user="informix"), *METHOD_1]
    g = grade(load_exercise("split-brain-method-1"), seen(actions))
    d = deduction(g, "REPAIR before Go Standby")
    assert d.what.endswith("(tried: the server refused it)") and "Step 2" in d.chapter
    assert g.score == 85 and g.passed  # the REPAIR after Go Standby is the procedure's step, not a mistake
    assert [s.verdict for s in g.steps][1:] == ["procedure step 1", "procedure step 2", "procedure step 3"]


def test_ipicsrsync_on_the_secondary():
    actions = [*METHOD_1[:2], did("secondary", 200, "rsync", "shell", ok=False), METHOD_1[2]]
    g = grade(load_exercise("split-brain-method-1"), seen(actions))
    d = deduction(g, "ipicsrsync on the secondary")
    assert "must be run on the primary server" in d.chapter and g.score == 85


def test_clearing_a_ddrblock_by_unconfiguring():
    actions = [did("primary", 20, "unconfigure", "console", ok=False), did("primary", 60, "configure", "console")]
    g = grade(load_exercise("prolonged-downtime-90"), seen(actions))
    d = deduction(g, "Unconfigure (as if to clear a DDRBLOCK)")
    assert "automatically unconfigures HA if usage exceeds 90" in d.chapter and g.score == 85


def test_steps_out_of_order_and_a_step_missing():
    actions = [
        METHOD_1[0],
        did("primary", 100, "rsync", "shell"),
        did("secondary", 200, "repair", "shell", user="informix"),
    ]
    g = grade(load_exercise("split-brain-method-1"), seen(actions))
    d = deduction(g, "out of order: repair on either server as informix")
    assert d.points == 10 and "ipicsedr_control_repl REPAIR" in d.chapter
    g = grade(load_exercise("split-brain-method-1"), seen(METHOD_1[:2], met_at=None))
    assert deduction(g, "not done: rsync on the primary").points == 15
    assert "rsync on the primary not done" in deduction(g, "goal not met").what and not g.passed


def test_the_time_limit_and_the_records_lost():
    exercise = load_exercise("split-brain-method-1")
    g = grade(exercise, seen(METHOD_1, met_at=2400.0, elapsed=2400.0))
    assert deduction(g, "over the time limit of 30 min").points == 20 and not g.passed
    lost = {
        "secondary": [
            {"table": "channels", "key": "7", "description": "channels/7 (Shelter Liaison)", "reason": "no failback"},
            {"table": "sessions", "key": "ab", "description": "sessions/ab", "reason": "logged out"},
        ]
    }
    g = grade(exercise, seen(METHOD_1, discarded=lost))
    d = deduction(g, "1 record lost where 0 had to be (no failback)")
    assert d.points == 5 and "replicated from the" in d.chapter and g.records_lost == 1
    r = result(exercise, seen(METHOD_1, discarded=lost), g)
    assert r["writes"]["lost_why"] == ["secondary: channels/7 (Shelter Liaison): no failback"]
    assert r["grade"]["deductions"][0]["points"] == 5 and r["grade"]["passed"] is True


@pytest.mark.parametrize(
    "action, result, verdict",
    [
        ("login", "logged in (active)", "a login"),
        ("reconnect", "console reconnected by itself (active)", "the console reconnected by itself"),
    ],
)
def test_a_dispatchers_session_on_the_new_active_and_talk_while_offline(action, result, verdict):
    exercise = load_exercise("dispatcher-offline-ptt")
    final = {"primary": None, "secondary": {"role": "active"}}
    entry = {"action": action, "via": "api", "user": "dan", "ok": True, "result": result}
    g = grade(exercise, seen([SeenAction("secondary", 250, entry)], final=final, ptt_while_offline=3))
    assert g.passed and g.score == 100 and g.steps[0].verdict == verdict
    on_the_old = SeenAction("primary", 250, entry)
    assert not grade(exercise, seen([on_the_old], final=final, met_at=None, ptt_while_offline=3)).passed
    # his mobile client back on the new active is not his console
    mobile = {**entry, "action": "reconnect", "result": "mobile client reconnected by itself (active)"}
    g = grade(exercise, seen([SeenAction("secondary", 250, mobile)], final=final, met_at=None, ptt_while_offline=3))
    assert not g.passed and g.steps[0].verdict == "a mobile client reconnected by itself"
    g = grade(exercise, seen([], final=final, met_at=None, ptt_while_offline=0))
    unmet = deduction(g, "goal not met").what
    assert "no console login or reconnect by dan on the active server (secondary)" in unmet
    assert "0 push-to-talk floor requests while the console was offline" in unmet


@pytest.mark.parametrize("via, passed", [("phone", True), ("api", False)])
def test_a_phone_users_dial_login_on_the_new_active(via, passed):
    final = {"primary": None, "secondary": {"role": "active"}}
    login = SeenAction("secondary", 250, {"action": "login", "via": via, "user": "fred", "ok": True})
    assert grade(load_exercise("phone-user-services"), seen([login], final=final)).passed is passed


def test_a_phone_the_new_active_pushed_over_did_not_reconnect_by_hand():
    final = {"primary": None, "secondary": {"role": "active"}}
    pushed = SeenAction("secondary", 200, {"action": "reconnect", "via": "phone", "user": "fred", "ok": True})
    g = grade(load_exercise("phone-user-services"), seen([pushed], final=final, met_at=None))
    assert not g.passed
    assert (
        "the phone was brought over by the new active's push (its Web access on)" in deduction(g, "goal not met").what
    )
    assert g.steps[0].verdict.startswith("brought over by the new active's push")
