"""The side-by-side view of a comparison, drawn from a recorded report: the JSON that
``ipics-lab scenario run earthquake-side-by-side --time-scale 0.01 --json`` printed
(``compare_report.json``), so no server runs here.  What a trainer must read in each
column: split brain or not, the writes acknowledged, refused and lost, the timeline,
the steps, and the narration in the chapter's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipics_desktop.shared.style import ERROR, ONLINE
from ipics_desktop.trainer.compare_view import CompareView
from ipics_lab.scenario import load_scenario
from ipics_lab.scenario.compare import CompareReport
from ipics_lab.scenario.report import StepReport

RECORDED = Path(__file__).with_name("compare_report.json")
IPICS, WITNESS = "ipics", "witness+synchronous-strict"


@pytest.fixture
def report() -> CompareReport:
    return CompareReport.from_json(json.loads(RECORDED.read_text()))


@pytest.fixture
def view(qtbot) -> CompareView:
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_each_mode_says_split_brain_and_the_writes_side_by_side(view, report, qtbot):
    view.set_report(report)
    assert list(view.columns) == [IPICS, WITNESS]
    ipics, witness = view.columns[IPICS], view.columns[WITNESS]
    # Side by side: the same row, IPICS on the left, each half the width.
    qtbot.waitUntil(lambda: witness.x() > ipics.x() + ipics.width() - 1)
    assert ipics.y() == witness.y() and abs(ipics.width() - witness.width()) <= 2
    assert ipics.split_brain.text().startswith("Split brain: yes, both servers active from ")
    assert ipics.split_brain.property("verdict") == "bad" and ERROR in ipics.split_brain.styleSheet()
    assert ipics.writes.text() == "Writes: 2 acknowledged  \u00b7  0 refused  \u00b7  1 lost"
    assert ipics.writes.property("verdict") == "bad"
    assert "lost: adam's assign-channel Fire to ursula as adam on the primary" in ipics.writes.toolTip()
    assert witness.split_brain.text() == "Split brain: no, never two active servers"
    assert witness.split_brain.property("verdict") == "good" and ONLINE in witness.split_brain.styleSheet()
    assert witness.writes.text() == "Writes: 0 acknowledged  \u00b7  2 refused  \u00b7  0 lost"
    assert "no standby is Ready to hold this write" in witness.writes.toolTip()
    assert view.status.text() == "PASSED: ipics passed, witness+synchronous-strict passed"
    assert view.status.property("result") == "passed"
    assert view.heading.text() == load_scenario("earthquake-side-by-side").title


def test_both_timelines_show_the_run_from_its_start(view, report):
    view.set_report(report)
    ipics, witness = view.columns[IPICS].plot, view.columns[WITNESS].plot
    assert ipics.objectName() == f"compareTimeline:{IPICS}" and witness.objectName() == f"compareTimeline:{WITNESS}"
    for plot, run in ((ipics, report.runs[0]), (witness, report.runs[1])):
        assert plot.counts()["fault"] == 4  # cut-link, power-off, heal-link, power-on
        assert plot.counts()["narration"] >= len(run.report.steps)
        assert min(e.emulated for e in plot.events) >= 0  # the scenario's start is time zero
    # One time axis for both, to the end of the longer run: the same minute under each other.
    longest = max(e.emulated for run in report.runs for e in run.timeline())
    assert ipics.fixed_span == witness.fixed_span and ipics.fixed_span[1] >= longest
    texts = {m: [e.text for e in view.columns[m].plot.events if e.kind == "role"] for m in (IPICS, WITNESS)}
    assert "split brain: both servers are active" in texts[IPICS]
    assert "split brain: both servers are active" not in texts[WITNESS]
    assert "the witness's vote: secondary" in texts[WITNESS]


def test_the_narration_explains_each_mode_in_the_chapters_words(view, report):
    view.set_report(report)
    ipics = view.columns[IPICS].explanation.text()
    witness = view.columns[WITNESS].explanation.text()
    for words in ("split brain", "missed five heartbeats", "Method 1", "Go Standby", "no failback"):
        assert words in ipics, words
    for words in ("witness's vote", "acknowledged only once the standby has it", "refused"):
        assert words in witness, words
    assert "\u2714 outcome: writes lost 1: ok, seen: 1" in ipics
    assert "\u2714 outcome: writes lost 0: ok, seen: 0" in witness


def test_the_steps_are_marked_as_the_runs_go_and_a_refused_write_says_so(view, report):
    scenario = load_scenario("earthquake-side-by-side")
    view.begin(scenario)
    steps = view.columns[WITNESS].steps
    assert steps.count() == len(scenario.steps)
    assert steps.item(4).text() == "\u00b7 5. On the primary, Adam assigns the Fire channel to Ursula."
    assert view.status.property("result") == "running"
    running = StepReport(5, scenario.steps[4].say, scenario.steps[4].action_text(), started=True)
    view.on_step(WITNESS, running)
    assert steps.item(4).text().startswith("\u25b6 5. ")
    recorded = report.runs[1].report.steps[4]
    view.on_step(WITNESS, recorded)
    assert steps.item(4).text() == "\u2714 5. On the primary, Adam assigns the Fire channel to Ursula.  (write refused)"
    assert view.columns[IPICS].steps.item(4).text().startswith("\u00b7 5. ")  # the other mode's is its own


def test_every_part_has_a_documented_object_name(view, report):
    from PySide6.QtWidgets import QWidget

    docs = (Path(__file__).resolve().parents[2] / "docs" / "widgets.md").read_text()
    view.set_report(report)
    names = {w.objectName() for w in view.findChildren(QWidget) if w.objectName().startswith("compare")}
    assert len(names) == 2 + 7 * 2  # title, status; a column of six parts per mode
    for name in names | {view.objectName()}:
        pattern = name.split(":")[0] + ":<mode>" if ":" in name else name
        assert f"`{pattern}`" in docs, f"{name} is not in docs/widgets.md"
    for mode in (IPICS, WITNESS):
        assert view.columns[mode].plot.accessibleName() == f"Timeline of the run in {mode} mode"
        assert view.columns[mode].steps.accessibleName() == f"Steps in {mode} mode"


def test_a_failed_outcome_is_red_and_named(view, report):
    doc = json.loads(RECORDED.read_text())
    doc["runs"][1]["outcome"][3] = [False, "writes lost 0: FAILED, seen: 1"]
    failed = CompareReport.from_json(doc)
    view.set_report(failed)
    assert view.status.text() == "FAILED: ipics passed, witness+synchronous-strict FAILED"
    assert view.status.property("result") == "failed"
    assert "\u2718 outcome: writes lost 0: FAILED, seen: 1" in view.columns[WITNESS].explanation.text()
