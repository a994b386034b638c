"""Each built-in scenario passes headless on a real lab: ``ipics-lab scenario run NAME``."""

from __future__ import annotations

import re

import pytest

from ipics_lab.scenario import load_scenario

from .conftest import TIME_SCALE, run_cli

BUILTINS = ["earthquake", "clock-skew-split-brain", "prolonged-downtime", "manual-failover"]
#: what the audience must read in each run, as it is told
TOLD = {
    "earthquake": [
        ". dan: offline (lost the primary)",
        "expect adam: hears dan on Fire (within 10 s): ok",
        ". dan: reconnected to the secondary",
        "expect ursula: state online, on the secondary, lacks channel Fire (within 2 min): ok",
        ". amy: paused: the primary is no longer the active server",
        "amy chose the primary (selected) in the selector and is online on the secondary",
    ],
    "clock-skew-split-brain": [
        "expect secondary: a message containing 'more than 30 s' (within 2 min): ok",
        "split_brain true (within 2 min): ok",
        "do: go-standby secondary",
        "REPAIR finished: nothing pending, the standby is Ready",
        "ipicsrsync finished",
        "expect adam: has channels Staging Area, Shelter Liaison: ok",
    ],
    "prolonged-downtime": [
        "a message containing '75%', transaction log at least 75 %",
        "expect primary: a message containing '90%' (within 1 min): ok",
        "expect primary: role standalone, ha trusted (within 1 min): ok",
        "HA configured: the primary is active, the standby Ready",
    ],
    "manual-failover": [
        "do: failover-now",
        ". dan: reconnected to the secondary",
        "expect primary: role standby, standby_server_status Ready (within 5 min): ok",
    ],
}


@pytest.mark.pair
@pytest.mark.parametrize("name", BUILTINS)
async def test_the_built_in_scenario_passes_headless(name, tmp_path):
    run = await run_cli("run", name, "--time-scale", str(TIME_SCALE), data_dir=tmp_path / "lab")
    steps = load_scenario(name).steps
    assert run.code == 0, run.out[-4000:] + run.err[-2000:]
    assert f"PASSED: all {len(steps)} steps" in run.out
    report = run.out[run.out.rindex(f"Scenario {name}:") :]
    assert len(re.findall(r"^  step +\d+ ok\b", report, re.MULTILINE)) == len(steps), report
    assert "FAILED" not in run.out
    # As it went: each step's narration and its result, then the report.
    for step in steps:
        assert f"[step {step.index}]" in run.out and f"-> step {step.index} ok" in run.out
    for words in TOLD[name]:
        assert words in run.out, f"{words!r} not in the run's output:\n{run.out[-4000:]}"
    # The lab is stopped and its folder left without a running lab.
    assert not (tmp_path / "lab" / "lab.json").exists()
