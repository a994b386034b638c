"""The panel's scenario pane: pick a scenario, Run, the narration step by step with
each step's pass or fail, the final report; Stop; a file that cannot be used."""

from __future__ import annotations

from ipics_lab.supervisor import wait_until

from .conftest import DEADLINE_S

PASSING = """
title = "Power off the active"
description = "The primary falls out of the rack; the secondary takes over."

[[step]]
say = "A quiet evening: the primary is active."
expect = { server = "primary", role = "active" }

[[step]]
say = "The primary loses power."
do = "power-off"
server = "primary"
expect = { server = "secondary", role = "active", within = "5min" }
"""

FAILING = """
title = "Wrong expectation"
description = "Expects what does not happen."

[[step]]
say = "The primary should be the standby (it is not)."
expect = { server = "primary", role = "standby", within = "10s" }
"""

LONG = """
title = "A long wait"
description = "A second step an hour later."

[[step]]
say = "First step."

[[step]]
after = "1h"
say = "An hour later."
"""


def scenario_file(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


async def run_to_end(panel) -> str:
    await wait_until(lambda: panel.scenario_run.isEnabled(), DEADLINE_S * 3, "the scenario to end")
    return panel.scenario_result.text()


async def test_the_built_in_scenarios_are_offered(panel):
    names = [panel.scenario_picker.itemData(i) for i in range(panel.scenario_picker.count())]
    assert {"earthquake", "clock-skew-split-brain", "prolonged-downtime", "manual-failover"} <= set(names)


async def test_a_scenario_runs_with_its_narration_step_by_step(panel, tmp_path):
    panel.add_scenario_file(scenario_file(tmp_path, "power-off", PASSING))
    assert panel.scenario_picker.currentText() == "power-off.toml (file)"
    panel.scenario_run.click()
    assert not panel.scenario_run.isEnabled() and panel.scenario_stop.isEnabled()
    assert await run_to_end(panel) == "PASSED: all 2 steps"
    assert panel.scenario_result.property("result") == "passed"
    lines = panel.narration()
    assert lines[0] == "Power off the active"
    assert "\u2714 1. A quiet evening: the primary is active." in lines
    assert "\u2714 2. The primary loses power." in lines
    assert any("primary powered off (kill -9)" in line for line in lines)  # the action's outcome
    assert lines[-1] == "PASSED: all 2 steps"
    assert not panel.scenario_stop.isEnabled()
    await wait_until(lambda: panel.cards["secondary"].role_label.text() == "ACTIVE", DEADLINE_S, "the takeover")
    kinds = panel.plot.counts()
    assert kinds["narration"] >= 2 and kinds["expectation"] >= 2


async def test_a_failing_expectation_is_shown_failed(panel, tmp_path):
    panel.add_scenario_file(scenario_file(tmp_path, "wrong", FAILING))
    panel.scenario_run.click()
    result = await run_to_end(panel)
    assert result.startswith("FAILED at step 1") and panel.scenario_result.property("result") == "failed"
    lines = panel.narration()
    assert "\u2718 1. The primary should be the standby (it is not)." in lines
    assert any("FAILED" in line and "standby" in line for line in lines)
    assert any(e.kind == "expectation" and e.ok is False for e in panel.plot.events)


async def test_stop_ends_a_running_scenario(panel, tmp_path):
    panel.add_scenario_file(scenario_file(tmp_path, "long", LONG))
    panel.scenario_run.click()
    await wait_until(lambda: "\u2714 1. First step." in panel.narration(), DEADLINE_S, "the first step")
    assert panel.scenario_say.text() == "Step 1: First step."
    panel.scenario_stop.click()
    assert (await run_to_end(panel)).startswith("CANCELLED")


async def test_a_scenario_file_that_cannot_be_used_says_why(panel, tmp_path):
    panel.add_scenario_file(scenario_file(tmp_path, "broken", "title = 'no steps'\n"))
    panel.scenario_run.click()
    assert panel.scenario_result.text().startswith("Cannot run ")
    assert "broken.toml" in panel.scenario_result.text() and "Traceback" not in panel.scenario_result.text()
    assert panel.scenario_run.isEnabled()


async def test_compare_modes_runs_a_lab_per_mode_side_by_side_and_stop_ends_both(panel, trainer_lab):
    panel.scenario_pane.scenario_compare.click()
    view = panel.scenario_pane.compare_view
    assert view is not None and view.isVisible()
    assert list(view.columns) == ["ipics", "witness+synchronous-strict"]
    assert not panel.scenario_run.isEnabled() and panel.scenario_stop.isEnabled()
    assert panel.scenario_result.text().startswith("Comparing modes: The earthquake side by side")
    # Both runs under way, each on a lab of its own in the panel lab's folder.
    await wait_until(
        lambda: all(c.steps.item(1).text().startswith("\u2714 2.") for c in view.columns.values()),
        DEADLINE_S * 3,
        "both modes' second step to pass",
    )
    labs = trainer_lab.root / "compare"
    assert sorted(p.parent.name for p in labs.glob("*/lab.json")) == ["ipics", "witness+synchronous-strict"]
    assert all(c.plot.counts()["narration"] >= 2 for c in view.columns.values())  # the timelines, live

    panel.scenario_stop.click()
    await wait_until(lambda: panel.scenario_run.isEnabled(), DEADLINE_S * 2, "the comparison to stop")
    assert view.status.text() == "CANCELLED: ipics cancelled, witness+synchronous-strict cancelled"
    assert panel.scenario_result.text() == f"Compare modes: {view.status.text()}"
    assert not list(labs.glob("*/lab.json"))  # both labs stopped
    view.close()
