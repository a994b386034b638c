"""The side-by-side view of a scenario run in several modes (``compareView``): a
column per mode with its split brain (yes or no), its writes acknowledged, refused
and lost, its timeline (the panel's ``TimelinePlot``), its steps as they run, and the
scenario's narration of what the mode changed.

A thin view over ``ipics_lab.scenario.compare``: ``begin`` lays out the columns for a
scenario, ``on_step`` marks a step as it starts and ends, ``watch`` feeds a mode's
plot live, and ``set_report`` shows a finished ``CompareReport`` (from a run, or read
back from ``ipics-lab scenario run NAME --json``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ipics_desktop.shared.style import ERROR, IDLE, ONLINE, restyle
from ipics_desktop.trainer.timeline_plot import TimelinePlot

#: the step list's words for a step's state
MARKS = {"ok": "\u2714", "FAILED": "\u2718", "running": "\u25b6", "not run": "\u00b7", "stopped": "\u25a0"}


class ModeColumn(QFrame):
    """One mode: what it is, the verdicts, the timeline, the steps, the narration."""

    def __init__(self, mode: str, parent=None):
        super().__init__(parent, objectName=f"compareColumn:{mode}")
        self.mode = mode
        self._words: dict[int, str] = {}  # each step's words, without its mark
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(mode, objectName=f"compareMode:{mode}")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.title.setFont(font)
        self.split_brain = self._label(f"compareSplitBrain:{mode}", "Split brain: \u2026")
        self.writes = self._label(f"compareWrites:{mode}", "Writes: \u2026")
        self.plot = TimelinePlot(self)
        self.plot.setObjectName(f"compareTimeline:{mode}")
        self.plot.setAccessibleName(f"Timeline of the run in {mode} mode")
        self.plot.setMinimumSize(420, 240)
        self.steps = QListWidget(objectName=f"compareSteps:{mode}")
        self.steps.setAccessibleName(f"Steps in {mode} mode")
        self.steps.setWordWrap(True)
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.explanation = self._label(f"compareExplanation:{mode}", "")
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 6, 8, 6)
        for widget in (self.title, self.split_brain, self.writes):
            column.addWidget(widget)
        column.addWidget(self.plot, 4)
        column.addWidget(self.steps, 2)
        column.addWidget(self.explanation)

    @staticmethod
    def _label(name: str, text: str) -> QLabel:
        label = QLabel(text, objectName=name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    def set_steps(self, steps) -> None:
        """``steps``: the scenario's steps (or their reports), each as ``n. words``."""
        self.steps.clear()
        self._words = {}
        for step in steps:
            words = step.say or (step.action_text() if hasattr(step, "action_text") else step.action)
            self._words[step.index] = f"{step.index}. {_first_sentence(words)}"
            self.steps.addItem(QListWidgetItem(f"{MARKS['not run']} {self._words[step.index]}"))

    def mark(self, step, *, finished: bool = False) -> None:
        """A step's report: running, or ended ok (a refused write said so) or FAILED;
        ``finished``: the run is over, so a step still running was stopped."""
        item = self.steps.item(step.index - 1)
        if item is None:
            return
        word = step.status_word()
        if finished and word == "running":
            word = "stopped"
        text = f"{MARKS.get(word, '')} {self._words.get(step.index, step.index)}"
        if any(d.startswith("refused:") for d in step.details):
            text += "  (write refused)"
        failed = [d for d in step.details if "FAILED" in d]
        if failed:
            text += f"\n    {failed[0]}"
        item.setText(text)
        item.setForeground(QColor(ERROR if word == "FAILED" else ONLINE if word == "ok" else IDLE))
        item.setToolTip("\n".join([step.action, *step.details]).strip())

    def show_run(self, run) -> None:
        """A mode's finished run (``ipics_lab.scenario.compare.ModeRun``)."""
        self.title.setText(f"{run.mode}  \u2014  {run.label}")
        self.split_brain.setText(f"Split brain: {run.split_brain_words()}")
        self.split_brain.setProperty("verdict", "bad" if run.split_brain else "good")
        self.split_brain.setStyleSheet(f"color: {ERROR if run.split_brain else ONLINE}; font-weight: bold;")
        self.writes.setText(
            f"Writes: {run.acknowledged} acknowledged  \u00b7  {run.refused} refused  \u00b7  {run.lost} lost"
        )
        self.writes.setProperty("verdict", "bad" if run.lost else "good")
        self.writes.setStyleSheet(f"color: {ERROR if run.lost else ONLINE}; font-weight: bold;")
        lost = [f"lost: {w.user}'s {w.what} on the {w.server}" for w in run.report.writes if w.lost]
        refused = [f"refused: {w.user}'s {w.what} ({w.reason})" for w in run.report.writes if w.outcome == "refused"]
        self.writes.setToolTip("\n".join(lost + refused))
        self.plot.set_events(run.timeline())
        self.set_steps(run.report.steps)
        for step in run.report.steps:
            self.mark(step, finished=True)
        checks = "\n".join(f"{MARKS['ok' if ok else 'FAILED']} outcome: {line}" for ok, line in run.outcome)
        self.explanation.setText("\n\n".join(part for part in (run.explanation, checks) if part))
        for label in (self.split_brain, self.writes):
            restyle(label)


class CompareView(QWidget):
    """The modes side by side (a window of its own), with the run's status on top."""

    def __init__(self, parent=None):
        super().__init__(parent, objectName="compareView")
        self.setWindowTitle("Compare modes")
        self.setWindowFlag(Qt.WindowType.Window)
        self.resize(1400, 900)
        self.heading = QLabel(objectName="compareTitle")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.status = QLabel(objectName="compareStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.columns: dict[str, ModeColumn] = {}
        self._row = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)
        layout.addLayout(self._row, 1)
        self._unsubscribe: list = []

    def begin(self, scenario) -> None:
        """A column per mode of ``scenario``, each step not run yet."""
        self.heading.setText(scenario.title)
        self.setWindowTitle(f"Compare modes: {scenario.title}")
        self._columns(scenario.compare)
        for column in self.columns.values():
            column.set_steps(scenario.steps)
            column.plot.fixed_span = None  # live: each its own, until the report
            column.plot.set_events([])
        self.set_status(f"Starting a lab per mode: {', '.join(scenario.compare)}\u2026", "running")

    def watch(self, mode: str, timeline) -> None:
        """Draw the mode's lab timeline as it grows (until ``set_report``)."""
        column = self.columns.get(mode)
        if column is not None:
            self._unsubscribe.append(timeline.subscribe(column.plot.add_event))

    def on_step(self, mode: str, step) -> None:
        column = self.columns.get(mode)
        if column is not None:
            column.mark(step)

    def set_status(self, text: str, kind: str) -> None:
        self.status.setText(text)
        self.status.setProperty("result", kind)
        colour = {"passed": ONLINE, "failed": ERROR}.get(kind, IDLE)
        self.status.setStyleSheet(f"color: {colour};" + (" font-weight: bold;" if kind != "running" else ""))
        restyle(self.status)

    def set_report(self, report) -> None:
        """A finished ``CompareReport``: every column's verdicts, timeline and narration."""
        self.stop_watching()
        self.heading.setText(report.title)
        self._columns([r.mode for r in report.runs])
        for run in report.runs:
            self.columns[run.mode].show_run(run)
        # One time axis for every mode: the same emulated minute under each other.
        ends = [max((e.emulated for e in c.plot.events), default=0.0) for c in self.columns.values()]
        span = (-max(ends, default=0.0) * 0.01, max(max(ends, default=0.0), 10.0) * 1.03)
        for column in self.columns.values():
            column.plot.fixed_span = span
            column.plot.update()
        lines = report.lines()
        self.set_status(lines[-1], "passed" if report.passed else "failed")
        self.status.setToolTip("\n".join(lines))

    def stop_watching(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _columns(self, modes) -> None:
        if list(self.columns) == list(modes):
            return
        for column in self.columns.values():
            self._row.removeWidget(column)
            column.deleteLater()
        self.columns = {mode: ModeColumn(mode, self) for mode in modes}
        for column in self.columns.values():
            self._row.addWidget(column, 1)

    def closeEvent(self, event) -> None:
        self.stop_watching()  # a run going on keeps going; the pane's Stop ends it
        super().closeEvent(event)

    def summary(self) -> dict[str, dict[str, str]]:
        """What each column says (for tests and the accessible description)."""
        return {
            mode: {"split_brain": c.split_brain.text(), "writes": c.writes.text(), "explanation": c.explanation.text()}
            for mode, c in self.columns.items()
        }


def _first_sentence(text: str) -> str:
    head = text.split(". ", 1)[0]
    return head if len(head) <= 90 else head[:89] + "\u2026"
