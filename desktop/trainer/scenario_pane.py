"""The trainer panel's scenario pane (``scenarioBox``): pick a scenario (built in or a
``*.toml`` file), Run it against the lab, its narration step by step (each step marked
passed or failed, with its details), the report's last line; Stop cancels the run.

Compare modes runs a scenario that compares modes (the one picked, else the built-in
``earthquake-side-by-side``) on a lab per mode of its own, beside this one, at this
lab's time scale, and shows them side by side (``compare_view.CompareView``).

The run is a task on the loop (``ipics_lab.scenario.ScenarioRunner``, ``CompareRun``):
the window never waits.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from ipics_clients.tasks import Tasks
from ipics_desktop.shared.file_dialog import ask_open_file
from ipics_desktop.shared.style import ERROR, IDLE, ONLINE, restyle
from ipics_desktop.trainer.compare_view import CompareView
from ipics_desktop.trainer.sentences import refusal, say

if TYPE_CHECKING:
    from ipics_lab.scenario import ScenarioRunner
    from ipics_lab.scenario.compare import CompareRun

log = logging.getLogger("ipics.trainer")

#: what Compare modes runs when the scenario picked compares no modes
COMPARE_SCENARIO = "earthquake-side-by-side"
#: the folder, in the lab's, of the labs a comparison starts
COMPARE_FOLDER = "compare"


class ScenarioPane(QGroupBox):
    """Picker, Open file, Run, Stop, the current step (``scenarioSay``), the result
    (``scenarioResult``) and the narration (``scenarioNarration``)."""

    def __init__(self, lab, tasks: Tasks, parent=None):
        super().__init__("Scenario", parent, objectName="scenarioBox")
        self.lab, self.tasks = lab, tasks
        self._runner: ScenarioRunner | None = None
        self._scenario_task: asyncio.Task | None = None
        self._step_items: dict[int, QListWidgetItem] = {}
        self._compare: CompareRun | None = None
        self.compare_view: CompareView | None = None
        self.scenario_picker = QComboBox(objectName="scenarioPicker")
        self.scenario_picker.setAccessibleName("Scenario")
        self.scenario_open = QPushButton("Open file\u2026", objectName="scenarioOpenFile")
        self.scenario_open.setAccessibleName("Open a scenario file")
        self.scenario_open.setAutoDefault(False)
        self.scenario_open.clicked.connect(self.on_scenario_open_clicked)
        self.scenario_run = QPushButton("\u25b6 Run", objectName="scenarioRun")
        self.scenario_run.setAccessibleName("Run the scenario")
        self.scenario_run.setAutoDefault(False)
        self.scenario_run.clicked.connect(self.on_scenario_run)
        self.scenario_stop = QPushButton("\u25a0 Stop", objectName="scenarioStop")
        self.scenario_stop.setAccessibleName("Stop the scenario")
        self.scenario_stop.setAutoDefault(False)
        self.scenario_stop.setEnabled(False)
        self.scenario_stop.clicked.connect(self.on_scenario_stop)
        self.scenario_compare = QPushButton("\u21c4 Compare modes", objectName="scenarioCompare")
        self.scenario_compare.setAccessibleName("Run the scenario in each mode, side by side")
        self.scenario_compare.setToolTip(
            "The same faults on a pair per mode (IPICS, and a witness with strict synchronous replication), "
            "side by side: both timelines, split brain or not, writes acknowledged, refused and lost"
        )
        self.scenario_compare.setAutoDefault(False)
        self.scenario_compare.clicked.connect(self.on_scenario_compare)
        self.scenario_say = QLabel(objectName="scenarioSay")
        self.scenario_say.setWordWrap(True)
        self.scenario_say.setTextFormat(Qt.TextFormat.PlainText)
        self.scenario_say.hide()
        self.scenario_result = QLabel(objectName="scenarioResult")
        self.scenario_result.setWordWrap(True)
        self.scenario_result.setTextFormat(Qt.TextFormat.PlainText)
        self.scenario_narration = QListWidget(objectName="scenarioNarration")
        self.scenario_narration.setAccessibleName("Scenario narration and results")
        self.scenario_narration.setWordWrap(True)
        self.scenario_narration.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        pick = QHBoxLayout()
        pick.addWidget(self.scenario_picker, 1)
        pick.addWidget(self.scenario_open)
        buttons = QHBoxLayout()
        buttons.addWidget(self.scenario_run)
        buttons.addWidget(self.scenario_stop)
        buttons.addWidget(self.scenario_compare)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        column.addLayout(pick)
        column.addLayout(buttons)
        column.addWidget(self.scenario_say)
        column.addWidget(self.scenario_result)
        column.addWidget(self.scenario_narration, 1)
        try:
            from ipics_lab.scenario import builtin_names

            names = builtin_names()
        except Exception as exc:  # noqa: BLE001 (the panel runs without scenarios)
            log.warning("scenarios unavailable: %s", exc)
            self.scenario_run.setEnabled(False)
            self.scenario_open.setEnabled(False)
            self.scenario_compare.setEnabled(False)
            say(self.scenario_result, f"Scenarios are not available: {exc}", "refused")
            names = []
        for name in names:
            self.scenario_picker.addItem(name, name)

    def set_unavailable(self, reason: str) -> None:
        """No scenario runs on this lab (an attached one): greyed out, saying why."""
        for widget in (self.scenario_picker, self.scenario_open, self.scenario_run, self.scenario_compare):
            widget.setEnabled(False)
            widget.setToolTip(reason)
        say(self.scenario_result, f"Scenarios: {reason}", "info")

    def on_scenario_open_clicked(self) -> None:
        ask_open_file(
            self,
            "Open a scenario file",
            Path.home(),
            "Scenario files (*.toml);;All files (*)",
            "scenarioFileDialog",
            self.add_scenario_file,
        )

    def add_scenario_file(self, path: str | Path) -> None:
        path = str(path)
        index = self.scenario_picker.findData(path)
        if index < 0:
            self.scenario_picker.addItem(f"{Path(path).name} (file)", path)
            index = self.scenario_picker.count() - 1
        self.scenario_picker.setCurrentIndex(index)

    def _load(self, name: str):
        from ipics_lab.scenario import load_scenario

        try:
            return load_scenario(name)
        except Exception as exc:  # noqa: BLE001 (ScenarioError and unreadable files alike)
            say(self.scenario_result, f"Cannot run {name}: {refusal(exc)}", "refused")
            return None

    def on_scenario_run(self) -> None:
        if self._scenario_task is not None:
            return
        name = self.scenario_picker.currentData()
        if not name:
            say(self.scenario_result, "Pick a scenario first.", "refused")
            return
        from ipics_lab.scenario import ScenarioRunner

        scenario = self._load(name)
        if scenario is None:
            return
        if scenario.compare:  # it runs on a lab per mode, not on this one
            self._start_compare(scenario)
            return
        self.scenario_narration.clear()
        self._step_items.clear()
        self._narrate(f"{scenario.title}", bold=True)
        if scenario.description:
            self._narrate(scenario.description, colour=IDLE)
        self._runner = ScenarioRunner(self.lab, scenario, on_step=self.on_scenario_step)
        self._busy(True)
        self._set_result(f"Running: {scenario.title}", "running")
        self._scenario_task = self.tasks.start(self._run_scenario(self._runner))

    def _busy(self, running: bool) -> None:
        self.scenario_run.setEnabled(not running)
        self.scenario_compare.setEnabled(not running)
        self.scenario_picker.setEnabled(not running)
        self.scenario_stop.setEnabled(running)

    def on_scenario_compare(self) -> None:
        """The picked scenario if it compares modes, else the built-in comparison."""
        if self._scenario_task is not None:
            return
        picked = self.scenario_picker.currentData()
        scenario = self._load(picked) if picked else None
        if scenario is None or not scenario.compare:
            scenario = self._load(COMPARE_SCENARIO)
        if scenario is not None:
            self._start_compare(scenario)

    def _start_compare(self, scenario) -> None:
        from ipics_lab.scenario.compare import CompareRun

        if self.compare_view is None:
            self.compare_view = CompareView()
        view = self.compare_view
        view.begin(scenario)
        try:
            run = CompareRun(
                scenario,
                Path(self.lab.root) / COMPARE_FOLDER,
                time_scale=self.lab.time_scale,
                on_step=view.on_step,
                on_started=lambda mode: view.set_status(f"{mode}: the lab is up", "running"),
            )
        except ValueError as exc:
            say(self.scenario_result, f"Cannot compare: {refusal(exc)}", "refused")
            return
        for mode, lab in run.labs.items():
            view.watch(mode, lab.timeline)
        view.show()
        view.raise_()
        self._compare = run
        self._busy(True)
        self._set_result(f"Comparing modes: {scenario.title}", "running")
        self._narrate(f"Compare modes ({', '.join(scenario.compare)}): {scenario.title}", bold=True)
        self._scenario_task = self.tasks.start(self._run_compare(run, view))

    async def _run_compare(self, run: CompareRun, view: CompareView) -> None:
        try:
            report = await run.run()
        except Exception as exc:  # noqa: BLE001 (a lab that does not start: a sentence)
            view.stop_watching()
            why = f"Compare modes stopped: {refusal(exc)}"
            view.set_status(why, "failed")
            self._set_result(why, "failed")
        else:
            view.set_report(report)
            last = report.lines()[-1]
            self._narrate(last, colour=ONLINE if report.passed else ERROR, bold=True)
            for r in report.runs:
                self._narrate(f"      {r.mode}: {r.facts()}", colour=IDLE)
            self._set_result(f"Compare modes: {last}", "passed" if report.passed else "failed")
        finally:
            self._compare = self._scenario_task = None
            self._busy(False)

    async def _run_scenario(self, runner) -> None:
        try:
            report = await runner.run()
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            self._set_result(f"Scenario stopped: {refusal(exc)}", "failed")
        else:
            lines = report.lines()
            # The steps are on screen already: the report's last line sums them up.
            self._narrate(lines[-1], colour=ONLINE if report.passed else ERROR, bold=True)
            self._set_result(lines[-1], "passed" if report.passed else "failed")
            self.scenario_result.setToolTip("\n".join(lines))
            self.scenario_say.hide()
        finally:
            self._runner = self._scenario_task = None
            self._busy(False)

    def on_scenario_step(self, step) -> None:
        """A step started (``passed`` None: its narration) or ended (pass/fail and details)."""
        if step.passed is None:
            self.scenario_say.setText(f"Step {step.index}: {step.say}" if step.say else f"Step {step.index}")
            self.scenario_say.show()
            words = step.say or step.action
            self._step_items[step.index] = self._narrate(f"{step.index}. {words}", tooltip=step.action)
            return
        mark, colour = ("\u2714", ONLINE) if step.passed else ("\u2718", ERROR)  # check mark, cross
        item = self._step_items.get(step.index)
        if item is not None:
            item.setText(f"{mark} {item.text()}")
            item.setForeground(QColor(colour))
        else:
            self._narrate(f"{mark} {step.index}. {step.say or step.action}", colour=colour)
        for detail in step.details:
            self._narrate(f"      {detail}", colour=ERROR if "FAILED" in detail else IDLE)

    def on_scenario_stop(self) -> None:
        for running in (self._runner, self._compare):
            if running is not None:
                running.cancel()
                self._set_result("Stopping\u2026", "running")

    def cancel(self) -> None:
        """The window closes: the running scenario, if any, is cancelled; the labs a
        comparison started are stopped now (the loop may not run their task again)."""
        if self._runner is not None:
            self._runner.cancel()
        if self._compare is not None:
            self._compare.cancel()
            self._compare.stop()
        if self.compare_view is not None:
            self.compare_view.close()

    def _narrate(
        self, text: str, *, colour: str | None = None, bold: bool = False, tooltip: str | None = None
    ) -> QListWidgetItem:
        item = QListWidgetItem(text)
        if colour:
            item.setForeground(QColor(colour))
        if bold:
            font = QFont(self.scenario_narration.font())
            font.setBold(True)
            item.setFont(font)
        if tooltip:
            item.setToolTip(tooltip)
        self.scenario_narration.addItem(item)
        self.scenario_narration.scrollToBottom()
        return item

    def _set_result(self, text: str, kind: str) -> None:
        self.scenario_result.setText(text)
        self.scenario_result.setStyleSheet("")
        self.scenario_result.setProperty("result", kind)
        restyle(self.scenario_result)

    def narration(self) -> list[str]:
        return [self.scenario_narration.item(i).text() for i in range(self.scenario_narration.count())]
