"""The panel's exercise mode: Start hides the administrator's buttons, a hint released
goes on the timeline, what the trainee does in the Administration Console appears on the
timeline live, and the grade is shown at the end."""

from __future__ import annotations

from ipics_lab.supervisor import wait_until

from ..exercise.test_exercise_run import console_action
from .conftest import DEADLINE_S


async def test_an_exercise_from_the_panel_hides_the_buttons_and_shows_the_grade(make_panel, trainer_lab):
    panel = await make_panel()
    pane = panel.exercise_pane
    panel.training_tabs.setCurrentWidget(pane)
    pane.exercise_picker.setCurrentIndex(pane.exercise_picker.findData("failover-before-maintenance"))
    assert panel.actions_box.isVisible()
    pane.exercise_start.click()
    await wait_until(lambda: pane.run is not None and pane.run.started, DEADLINE_S, "the trainee's turn")
    assert not panel.actions_box.isVisible() and not pane.exercise_start.isEnabled()

    pane.exercise_hints.setCurrentIndex(0)
    pane.exercise_release.click()  # hint 1 is for after 2 emulated minutes: not yet
    assert "may be released" in pane.exercise_status.text()

    await console_action(trainer_lab, "primary", "failover")  # the trainee: Failover Now in the console
    await wait_until(
        lambda: any("Administration Console: failover-now" in e.text for e in trainer_lab.timeline.events),
        DEADLINE_S,
        "the trainee's action on the timeline",
    )
    await wait_until(lambda: pane.exercise_grade.count() > 0, DEADLINE_S, "the grade")
    assert pane.exercise_grade.item(0).text().startswith("Grade: 100/100, PASSED")
    assert panel.actions_box.isVisible() and pane.exercise_start.isEnabled()
    assert pane.exercise_status.text() == "100/100, passed"
