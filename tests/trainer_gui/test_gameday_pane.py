"""A game day from the panel: Start hides the administrator's buttons, the day's faults
come at their times and reach the timeline, End stops it, and the report is written; the
day is its own run (its own recording), and the session's recording goes on after it."""

from __future__ import annotations

from ipics_lab.gameday.schedule import make_gameday
from ipics_lab.recording import read_recording
from ipics_lab.supervisor import wait_until

from .conftest import DEADLINE_S, TIME_SCALE

SEED = 36


async def test_a_game_day_from_the_panel_runs_its_faults_and_ends_with_the_report(make_panel, trainer_lab):
    panel = await make_panel()
    pane = panel.gameday_pane
    panel.training_tabs.setCurrentWidget(pane)
    session = trainer_lab.recording_path
    pane.seed.setValue(SEED)
    pane.duration.setCurrentText("nonsense")
    pane.start.click()
    assert pane.status.text().startswith("Not started: ") and pane.start.isEnabled()

    pane.duration.setCurrentText("5min")
    pane.start.click()
    await wait_until(lambda: "under way" in pane.status.text(), DEADLINE_S, "the day to begin")
    assert not panel.actions_box.isVisible() and not pane.start.isEnabled() and pane.end.isEnabled()
    schedule = make_gameday(SEED, 300, trainer_lab.topology, trainer_lab.modes)
    assert f"{len(schedule)} fault" in pane.status.text()

    # the first fault comes at its time (never shown before); End stops the day there
    first = f"game day fault 1 of {len(schedule)}:"
    await wait_until(
        lambda: any(e.kind == "fault" and e.text.startswith(first) for e in trainer_lab.timeline.events),
        DEADLINE_S + schedule[0].at_s * TIME_SCALE,
        "the day's first fault",
    )
    pane.end.click()
    await wait_until(lambda: pane.outcome.text() and pane.start.isEnabled(), DEADLINE_S, "the day's end, reported")
    assert "ended early" in pane.status.text()
    assert panel.actions_box.isVisible() and pane.start.isEnabled() and not pane.end.isEnabled()

    days = trainer_lab.root / "gamedays"
    (recording,) = days.glob(f"gameday-{SEED}-*.ipicsrec")
    assert "Report: " in pane.outcome.text() and recording.with_suffix(".html").is_file()
    assert recording.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    day = read_recording(recording)
    assert day.header.kind == "gameday" and day.result["gameday"]["ended"] == "ended early"
    assert day.result["gameday"]["faults"][0]["ok"] is True
    # the session's recording was closed as the day began, and a new one runs after it
    assert read_recording(session).result["outcome"].startswith(f"a game day (seed {SEED}) began")
    assert trainer_lab.recorder is not None and trainer_lab.recording_path not in (session, recording)
