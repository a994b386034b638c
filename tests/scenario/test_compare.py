"""The same faults in two modes side by side, headless, on real pairs:
``ipics-lab scenario run earthquake-side-by-side --json``.  IPICS mode splits (both
servers active) and loses an acknowledged write; with a witness and strict synchronous
replication there is no second active and nothing acknowledged is lost: the writes
are refused instead."""

from __future__ import annotations

import json

import pytest

from ipics_lab.scenario import load_scenario

from .conftest import TIME_SCALE, run_cli

NAME = "earthquake-side-by-side"


@pytest.mark.pair
async def test_ipics_splits_and_loses_a_write_where_the_witness_and_strict_synchronous_refuse_it(tmp_path):
    run = await run_cli("run", NAME, "--time-scale", str(TIME_SCALE), "--json", data_dir=tmp_path / "labs")
    assert run.code == 0, run.err[-6000:]
    report = json.loads(run.out)  # stdout is the JSON alone; the progress went to stderr
    steps = len(load_scenario(NAME).steps)
    ipics, strict = report["runs"]
    assert (ipics["mode"], strict["mode"]) == ("ipics", "witness+synchronous-strict")
    assert report["passed"] and ipics["passed"] and strict["passed"]
    for run_ in (ipics, strict):
        assert [s["passed"] for s in run_["report"]["steps"]] == [True] * steps

    # IPICS: the standby took the active role while the primary was still active.
    assert ipics["split_brain"] and ipics["split_brain_from_s"] < ipics["split_brain_until_s"]
    roles = [e["text"] for e in ipics["events"] if e["kind"] == "role"]
    assert "secondary: transitioning (configured) -> active (configured)" in roles
    assert "split brain: both servers are active" in roles
    # Both of Adam's writes acknowledged, one on each side; the primary's never reached
    # the secondary and was discarded when the primary came back as the standby.
    writes = {w["what"]: w for w in ipics["report"]["writes"]}
    fire, shelter = writes["assign-channel Fire to ursula as adam"], writes["create-channel 'Shelter Liaison' as adam"]
    assert (fire["outcome"], fire["server"], fire["kept"]) == ("acknowledged", "primary", False)
    assert (shelter["outcome"], shelter["server"], shelter["kept"]) == ("acknowledged", "secondary", True)
    assert (ipics["acknowledged"], ipics["refused"], ipics["lost"]) == (2, 0, 1)

    # Witness + strict synchronous: the standby never became active while the primary
    # was; the active refused both writes (nothing acknowledged, nothing lost).
    assert not strict["split_brain"]
    assert "split brain: both servers are active" not in [e["text"] for e in strict["events"]]
    assert "the witness's vote: secondary" in [e["text"] for e in strict["events"]]
    assert [(w["outcome"], w["server"]) for w in strict["report"]["writes"]] == [("refused", "primary")] * 2
    assert all("strict synchronous replication" in w["reason"] for w in strict["report"]["writes"])
    assert (strict["acknowledged"], strict["refused"], strict["lost"]) == (0, 2, 0)
    assert ipics["final_active"] == strict["final_active"] == ["secondary"]

    # The side-by-side report, with the narration in the chapter's words.
    table = run.err[run.err.rindex(f"Scenario {NAME}:") :]
    for row in (
        "split brain         yes",
        "writes acknowledged 2",
        "writes refused      0",
        "writes lost         1",
    ):
        assert row in table, table
    assert "PASSED: ipics passed, witness+synchronous-strict passed" in table
    assert "Go Standby" in ipics["explanation"] and "witness's vote" in strict["explanation"]
    # Every lab stopped: no lab file left in either mode's folder.
    assert not list((tmp_path / "labs").glob("*/lab.json"))
