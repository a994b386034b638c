"""``ipics-lab gameday`` end to end on a real lab: where everything is and how many
faults will come (not which), each fault made at its scheduled emulated time, the
day recorded with its result, and the after-action report beside it."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from ipics_lab.gameday.cli import _watch_for_end
from ipics_lab.gameday.schedule import make_gameday
from ipics_lab.recording import read_recording
from tests.commands import run_ipics_lab

SCALE = 0.01
#: a cut link that heals by itself 2 min later, a tomcat crash, a skewed clock
SEED, DURATION_S, FAULTS = 36, 480.0, 3
#: real seconds a fault may come after its time: the machine's own work (a round trip
#: to the server) does not speed up with the time scale
LATE_S = 0.5


@pytest.mark.pair
async def test_a_short_game_day_makes_its_faults_on_time_and_ends_with_its_recording_and_report(tmp_path):
    schedule = make_gameday(SEED, DURATION_S, faults=FAULTS)
    assert [f.fault for f in schedule] == ["cut-link", "crash-tomcat", "skew-clock"]
    data, report = tmp_path / "lab", tmp_path / "debrief" / "gameday.html"
    done = await run_ipics_lab(
        "gameday",
        *("--seed", str(SEED), "--duration", "8min", "--faults", str(FAULTS)),
        *("--time-scale", str(SCALE), "--data-dir", str(data), "--report", str(report)),
        timeout_s=120,
    )
    assert "Traceback" not in done.stderr, done.stderr

    # before the day: where everything is, and how many faults will come, not which
    before, _, after = done.stdout.partition("The game day is over")
    assert (
        "/admin" in before and "ssh -p " in before and f"ipics-lab shell primary|secondary --lab-dir {data}" in before
    )
    assert "3 faults will come in the next 8 min (seed 36)" in before
    assert not any(word in before for word in ("link cut", "tomcat", "clock set")), before

    recordings = list((data / "gamedays").glob("gameday-36-*.ipicsrec"))
    assert len(recordings) == 1, done.stdout
    rec = read_recording(recordings[0])
    assert (rec.header.kind, rec.header.details["seed"], rec.header.time_scale) == ("gameday", SEED, SCALE)
    began = rec.header.details["began"]["emulated"]
    faults = [r for r in rec.of_type("event") if r["kind"] == "fault"]
    # each fault, and the cut link's repair, at its time on the day's clock
    expected = [(f"game day fault {f.index} of 3:", f.at_s) for f in schedule]
    expected.insert(1, ("game day fault 1 of 3: the link was repaired", schedule[0].at_s + schedule[0].heals_after_s))
    assert len(faults) == len(expected), [e["text"] for e in faults]
    for event, (text, at_s) in zip(faults, expected, strict=True):
        assert event["text"].startswith(text), event
        assert at_s - 0.5 <= event["emulated"] - began <= at_s + LATE_S / SCALE, (event, at_s)

    result = rec.result
    assert result is not None
    day = result["gameday"]
    assert [f["ok"] for f in day["faults"]] == [True, True, True]
    assert day["ended"] == "time up" and day["team_actions"] == [] and day["lab_actions"] == []
    assert result["outcome"].startswith("3 of 3 faults made; the team took 0 actions")
    assert done.returncode == (0 if day["healthy"] else 1), (done.returncode, day["health"])
    assert day["health"] in after

    html = report.read_text(encoding="utf-8")
    assert "game day, seed 36" in html and result["outcome"] in html
    assert f"After-action report written: {report}" in done.stdout


async def test_typing_end_on_stdin_ends_the_day(monkeypatch):
    read_end, write_end = os.pipe()
    with open(read_end, encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        stop = asyncio.Event()
        unwatch = _watch_for_end(asyncio.get_running_loop(), stop)
        try:
            os.write(write_end, b"the endgame\n  End \n")
            await asyncio.wait_for(stop.wait(), 5)
        finally:
            unwatch()
            os.close(write_end)
