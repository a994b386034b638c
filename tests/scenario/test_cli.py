"""The headless CLI's answers: a failed expectation (exit 1), a refused action (exit 1),
a bad scenario file or a lab that cannot start (exit 2), the list of built-ins."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from ipics_lab.recording import read_recording

from .conftest import TIME_SCALE, run_cli

# every test here runs the scenario command in its own process
pytestmark = pytest.mark.pair

FAILING = """
title = "The primary is the standby (it is not)"
description = "An expectation that fails: the report must say which, and what was seen."

[[step]]
say = "Dan logs in."
do = "login"
user = "dan"
server = "primary"
expect = { client = "dan", state = "online", on = "primary" }

[[step]]
say = "Wrong on purpose."
expect = [
  { server = "secondary", role = "standby" },
  { server = "primary", role = "standby", within = "20s" },
]

[[step]]
say = "Never reached."
do = "power-off"
server = "primary"
"""

REFUSED = """
title = "Power on a server that is on"
description = "The action is refused; the run stops there."

[[step]]
say = "The primary is already on."
do = "power-on"
server = "primary"

[[step]]
say = "Never reached."
expect = { server = "primary", role = "active" }
"""


async def test_a_failed_expectation_exits_1_and_the_report_names_it(tmp_path):
    f = tmp_path / "wrong.toml"
    f.write_text(FAILING)
    html = tmp_path / "debrief" / "wrong.html"
    html.parent.mkdir()
    args = ("--time-scale", str(TIME_SCALE), "--report", str(html))
    run = await run_cli("run", str(f), *args, data_dir=tmp_path / "lab")
    assert run.code == 1, run.out + run.err
    report = run.out[run.out.rindex("Scenario wrong:") :]
    assert "step  1 ok" in report and "step  2 FAILED" in report and "step  3 not run" in report
    assert "expect secondary: role standby: ok" in report
    assert "expect primary: role standby (within 20 s): FAILED, seen: role active" in report
    assert report.rstrip().endswith(
        "FAILED at step 2 (1 of 3 steps passed): expect primary: role standby (within 20 s): FAILED, seen: role active"
    )
    assert "-> step 2 FAILED" in run.out and "[step 3]" not in run.out
    assert ". dan: logged out" in run.out  # the console was closed at the end
    assert not (tmp_path / "lab" / "lab.json").exists()
    # --report: the after-action report, its PDF, and the run's recording kept beside them
    pdf, kept = html.with_suffix(".pdf"), html.with_suffix(".ipicsrec")
    assert f"After-action report written: {html}, {pdf}" in run.out
    recording = read_recording(kept)
    assert (recording.header.kind, recording.header.name) == ("scenario", "wrong")
    assert recording.result["passed"] is False and recording.result["outcome"] == report.rstrip().splitlines()[-1]
    assert recording.of_type("status")
    # the lab's own set-up is not in it: the actions are the scenario's, Dan's console login
    actions = [(r["server"], r["entry"]["action"], r["entry"]["user"]) for r in recording.of_type("action")]
    assert actions == [("primary", "login", "dan")]
    page = html.read_text()
    assert 'id="report-timeline"' in page and "dan: logged out" in page
    assert "expect primary: role standby (within 20 s): FAILED, seen: role active" in page
    assert pdf.read_bytes().startswith(b"%PDF-")


async def test_a_refused_action_exits_1_and_says_why_and_json_gives_the_report(tmp_path):
    f = tmp_path / "refused.toml"
    f.write_text(REFUSED)
    run = await run_cli("run", str(f), "--time-scale", str(TIME_SCALE), "--json", data_dir=tmp_path / "lab")
    assert run.code == 1, run.out + run.err
    # --json: the readable run and report on stderr, the report as JSON alone on stdout
    assert "action FAILED: the primary server is already powered on" in run.err
    why = "step 1: power-on primary failed: the primary server is already powered on"
    assert f"FAILED at step 1 (0 of 2 steps passed): {why}" in run.err
    assert "[step 2]" not in run.err
    report = json.loads(run.out)
    assert (report["name"], report["passed"], report["error"]) == ("refused", False, why)
    assert [(s["index"], s["passed"]) for s in report["steps"]] == [(1, False), (2, None)]
    assert "action FAILED: the primary server is already powered on" in report["steps"][0]["details"]
    # the run's recording: beside the lab's data, said in the JSON; the report its result
    recording = read_recording(Path(report["recording"]))
    assert recording.path.parent == (tmp_path / "lab" / "recordings").resolve()
    assert (recording.header.kind, recording.header.name) == ("scenario", "refused")
    assert recording.result["scenario"]["error"] == why


async def test_record_chooses_the_recording_file_and_the_output_names_it(tmp_path):
    f = tmp_path / "quick.toml"
    f.write_text(
        'title = "Both up"\ndescription = "The pair as the lab starts it."\n[[step]]\nsay = "Look."\n'
        'expect = { server = "primary", role = "active" }\n'
    )
    chosen = tmp_path / "debrief" / "quick.ipicsrec"
    run = await run_cli(
        "run", str(f), "--time-scale", str(TIME_SCALE), "--record", str(chosen), data_dir=tmp_path / "lab"
    )
    assert run.code == 0, run.out + run.err
    assert f"Recording: {chosen}" in run.out
    recording = read_recording(chosen)
    assert {r["server"] for r in recording.of_type("status")} == {"primary", "secondary"}
    assert "Look." in [r["text"] for r in recording.of_type("event")]
    assert recording.result["outcome"] == "PASSED: all 1 steps"


async def test_a_malformed_file_exits_2_naming_the_step_and_the_key(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(
        'title = "T"\ndescription = "D"\n[[step]]\nsay = "x"\n[[step]]\ndo = "cut-link"\n'
        'server = "primary"\ndirection = "sideways"\n'
    )
    run = await run_cli("run", str(f), data_dir=tmp_path / "lab")
    assert run.code == 2
    assert run.err.strip() == (
        f"bad scenario: {f}, step 2, key 'direction': unknown value 'sideways' (one of: both, outbound, inbound)"
    )
    assert not (tmp_path / "lab").exists()  # nothing started


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "no-such-scenario"], "bad scenario: no-such-scenario: no such scenario file, and not a built-in"),
        (["run", "earthquake", "--time-scale", "0"], "--time-scale: time scale must be greater than 0 and at most 10"),
        (["run", "earthquake", "--report", "r.pdf"], "--report: name the HTML report (FILE.html); the PDF and"),
        (["run", "earthquake", "--report", "/no/such/folder/r.html"], "--report: /no/such/folder is not a folder"),
        (["run", "earthquake-side-by-side", "--report", "r.html"], "--report: a scenario that compares modes runs"),
    ],
)
async def test_other_unusable_runs_exit_2(args, words, tmp_path):
    run = await run_cli(*args, data_dir=tmp_path / "lab")
    assert run.code == 2 and words in run.err, run.err


async def test_a_lab_that_does_not_start_exits_2(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    run = await run_cli("run", "manual-failover", "--time-scale", str(TIME_SCALE), data_dir=blocked)
    assert run.code == 2 and "the lab did not start" in run.err, run.out + run.err


async def test_a_data_directory_in_use_by_another_lab_is_refused(tmp_path):
    """The lock ``ipics-lab up`` holds: a scenario's clean install would wipe that lab."""
    root = tmp_path / "lab"
    root.mkdir()
    with (root / "lab.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = await run_cli("run", "earthquake", "--time-scale", str(TIME_SCALE), data_dir=root)
    assert run.code == 2 and f"another lab is running with the data directory {root}" in run.err, run.err
    assert sorted(p.name for p in root.iterdir()) == ["lab.lock"]  # nothing started


async def test_list_names_the_built_ins_with_their_titles():
    run = await run_cli("list")
    assert run.code == 0
    names = [line.split()[0] for line in run.out.splitlines()]
    assert names == [
        "clock-skew-split-brain",
        "earthquake",
        "earthquake-side-by-side",
        "manual-failover",
        "prolonged-downtime",
    ]
    assert "Failover Now before maintenance" in run.out
