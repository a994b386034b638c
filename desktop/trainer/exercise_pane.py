"""The trainer panel's exercise pane (``exerciseBox``): pick a graded exercise, Start it,
release its hints, end the trainee's turn, and read the grade.

While an exercise runs the panel is in exercise mode (``exercise_mode`` is emitted):
the administrator's action buttons are hidden, so the trainee works through the real
interfaces only (the Administration Console in a browser, the server shell over SSH,
the IDC, the phone).  What the trainee does appears on the timeline as the servers
record it (the ``Recorder`` the run holds); a hint released is a narration event on it.

The run is a task on the loop (``ipics_lab.exercise.runner.ExerciseRun``): the window
never waits.

Signals:
    exercise_mode(bool): an exercise began (True) or ended (False).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QVBoxLayout

from ipics_clients.tasks import Tasks
from ipics_desktop.trainer.controls import button
from ipics_desktop.trainer.sentences import refusal, say

if TYPE_CHECKING:
    from ipics_lab.exercise.runner import ExerciseRun

log = logging.getLogger("ipics.trainer")

#: the folder, in the lab's, of the exercises' recordings
RECORDINGS = "recordings"


class ExercisePane(QGroupBox):
    """Picker, Start, Done, the hints with Release hint, the state (``exerciseStatus``)
    and the grade (``exerciseGrade``)."""

    exercise_mode = Signal(bool)

    def __init__(self, lab, tasks: Tasks, monitor=None, parent=None):
        super().__init__("Exercise", parent, objectName="exerciseBox")
        self.lab, self.tasks, self.monitor = lab, tasks, monitor
        self.run: ExerciseRun | None = None
        self._task: asyncio.Task | None = None
        self.exercise_picker = QComboBox(objectName="exercisePicker")
        self.exercise_picker.setAccessibleName("Exercise")
        self.exercise_start = button("\u25b6 Start", "exerciseStart", "Start the exercise", self.on_start_clicked)
        self.exercise_done = button("\u25a0 Done", "exerciseDone", "End the trainee's turn", self.on_done_clicked)
        self.exercise_done.setEnabled(False)
        self.exercise_hints = QComboBox(objectName="exerciseHints")
        self.exercise_hints.setAccessibleName("The exercise's hints")
        self.exercise_hints.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.exercise_hints.setMinimumContentsLength(10)
        self.exercise_release = button(
            "Release hint", "exerciseReleaseHint", "Release the hint selected", self.on_release_clicked
        )
        self.exercise_release.setEnabled(False)
        self.exercise_status = QLabel(objectName="exerciseStatus")
        self.exercise_status.setWordWrap(True)
        self.exercise_status.setTextFormat(Qt.TextFormat.PlainText)
        self.exercise_grade = QListWidget(objectName="exerciseGrade")
        self.exercise_grade.setAccessibleName("The grade, with the chapter's words")
        self.exercise_grade.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.exercise_picker, 1)
        row.addWidget(self.exercise_start)
        row.addWidget(self.exercise_done)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        hints = QHBoxLayout()
        hints.addWidget(self.exercise_hints, 1)
        hints.addWidget(self.exercise_release)
        column.addLayout(row)
        column.addLayout(hints)
        column.addWidget(self.exercise_status)
        column.addWidget(self.exercise_grade, 1)
        try:
            from ipics_lab.exercise import builtin_names, load_exercise

            for name in builtin_names():
                self.exercise_picker.addItem(load_exercise(name).title, name)
        except Exception as exc:  # noqa: BLE001 (the panel runs without exercises)
            log.warning("exercises unavailable: %s", exc)
            self.exercise_start.setEnabled(False)
            say(self.exercise_status, f"Exercises are not available: {exc}", "refused")

    # ------------------------------------------------------------------ slots
    def on_start_clicked(self) -> None:
        if self._task is not None or self.lab.pair is None:
            return
        from ipics_lab.exercise import load_exercise
        from ipics_lab.exercise.runner import ExerciseRun

        name = self.exercise_picker.currentData()
        try:
            exercise = load_exercise(name)
        except Exception as exc:  # noqa: BLE001 - said on the pane
            say(self.exercise_status, refusal(exc), "refused")
            return
        recording = self.lab.root / RECORDINGS / f"exercise-{name}-{time.strftime('%Y%m%d-%H%M%S')}.ipicsrec"
        self.run = ExerciseRun(
            self.lab,
            exercise,
            recording=recording,
            monitor=self.monitor,
            on_event=lambda text: say(self.exercise_status, text, "info"),
        )
        self.exercise_hints.clear()
        for hint in exercise.hints:
            self.exercise_hints.addItem(f"{hint.index}. {hint.text}")
            self.exercise_hints.setItemData(hint.index - 1, hint.text, Qt.ItemDataRole.ToolTipRole)
        self.exercise_grade.clear()
        self._busy(True)
        self._task = self.tasks.start(self._run(self.run))

    def on_done_clicked(self) -> None:
        if self.run is not None:
            self.run.stop()

    def on_release_clicked(self) -> None:
        if self.run is None:
            return
        row = self.exercise_hints.currentIndex()
        try:
            self.run.release_hint(row + 1)
        except ValueError as exc:
            say(self.exercise_status, str(exc), "refused")
            return
        text = self.exercise_hints.itemText(row)
        if not text.startswith("\u2713"):
            self.exercise_hints.setItemText(row, "\u2713 " + text)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # ---------------------------------------------------------------- the run
    async def _run(self, run: ExerciseRun) -> None:
        try:
            grade = await run.run()
        except asyncio.CancelledError:
            say(self.exercise_status, "exercise cancelled", "refused")
            raise
        except Exception as exc:
            log.exception("exercise %s", run.exercise.name)
            say(self.exercise_status, refusal(exc), "refused")
        else:
            for line in grade.lines():
                self.exercise_grade.addItem(line)
            say(self.exercise_status, f"{grade.score}/100, {'passed' if grade.passed else 'failed'}", "info")
        finally:
            self._task = None
            self._busy(False)

    def _busy(self, running: bool) -> None:
        self.exercise_start.setEnabled(not running)
        self.exercise_picker.setEnabled(not running)
        self.exercise_done.setEnabled(running)
        self.exercise_release.setEnabled(running)
        self.exercise_mode.emit(running)
