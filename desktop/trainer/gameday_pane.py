"""The trainer panel's game day pane (``gamedayBox``): a seed and a duration, Start, End
early, and the after-action report at the day's end.

What ``ipics-lab gameday`` does at a terminal, on the panel's own lab: the faults drawn
from the catalogue by the seed (the same seed, the same day: ``make_gameday``), made at
their times by ``ipics_lab.gameday.run.GameDay``, never shown in advance; the team works
at the real interfaces, so the administrator's buttons are hidden while the day runs
(``exercise_mode`` is emitted, as the exercise pane does).  The day is its own run: the
lab's session recording is closed when it begins and a new one opened when it ends, and
the day's recording and report go to ``<lab data dir>/gamedays/``.  The report's
Chromium starts with the day (``pdf.Printer``), so the report is there as the day ends.

Signals:
    exercise_mode(bool): a day began (True) or ended (False).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from ipics_clients.tasks import Tasks
from ipics_desktop.trainer.controls import button
from ipics_desktop.trainer.sentences import refusal, say

log = logging.getLogger("ipics.trainer")

#: the folder, in the lab's, of the game days' recordings and reports (as the CLI's)
GAMEDAYS = "gamedays"
DURATIONS = ("10min", "30min", "1h", "2h")
SEED_MAX = 2**31 - 1


class GameDayPane(QGroupBox):
    """Seed (``gamedaySeed``), duration (``gamedayDuration``), Start (``gamedayStart``),
    End (``gamedayEnd``), the state (``gamedayStatus``) and the outcome
    (``gamedayOutcome``)."""

    exercise_mode = Signal(bool)

    def __init__(self, lab, tasks: Tasks, parent=None):
        super().__init__("Game day", parent, objectName="gamedayBox")
        self.lab, self.tasks = lab, tasks
        self.day: Any = None  # the GameDay under way
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self.seed = QSpinBox(objectName="gamedaySeed")
        self.seed.setAccessibleName("Seed: the same seed gives the same game day")
        self.seed.setRange(0, SEED_MAX)
        self.seed.setValue(secrets.randbelow(10_000))
        self.duration = QComboBox(objectName="gamedayDuration")
        self.duration.setAccessibleName("Duration (emulated)")
        self.duration.setEditable(True)
        self.duration.addItems(DURATIONS)
        self.duration.setCurrentText("30min")
        self.duration.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.duration.setMinimumContentsLength(7)
        self.start = button("\u25b6 Start", "gamedayStart", "Start the game day", self.on_start_clicked)
        self.end = button("\u25a0 End", "gamedayEnd", "End the game day now", self.on_end_clicked)
        self.end.setEnabled(False)
        self.status = QLabel(
            "Faults drawn from the catalogue at random times, not shown in advance: the team "
            "handles them at the real interfaces.",
            objectName="gamedayStatus",
        )
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.outcome = QLabel(objectName="gamedayOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed, 1)
        row.addWidget(QLabel("Duration"))
        row.addWidget(self.duration, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start)
        buttons.addWidget(self.end)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        column.addLayout(row)
        column.addLayout(buttons)
        column.addWidget(self.status)
        column.addWidget(self.outcome, 1)

    # ------------------------------------------------------------------ slots
    def on_start_clicked(self) -> None:
        if self._task is not None or self.lab.pair is None:
            return
        from ipics_lab.gameday.schedule import make_gameday
        from ipics_lab.scenario.durations import parse_duration

        seed = self.seed.value()
        try:
            duration_s = parse_duration(self.duration.currentText())
            schedule = make_gameday(seed, duration_s, self.lab.topology, self.lab.modes)
        except ValueError as exc:
            say(self.status, f"Not started: {exc}", "refused")
            return
        self._stop = asyncio.Event()
        self.outcome.clear()
        self._busy(True)
        self._task = self.tasks.start(self._run(seed, duration_s, schedule))

    def on_end_clicked(self) -> None:
        self._stop.set()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # ---------------------------------------------------------------- the day
    async def _run(self, seed: int, duration_s: float, schedule: list) -> None:
        from ipics_lab.gameday.run import GameDay
        from ipics_lab.report import write_report_async
        from ipics_lab.report.pdf import Printer
        from ipics_lab.scenario.durations import describe_duration

        stem = self.lab.root / GAMEDAYS / f"gameday-{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        recording, report = stem.with_suffix(".ipicsrec"), stem.with_suffix(".html")
        printer = Printer()
        printer.start_soon()  # the report's Chromium, ready at the day's end
        cancelled = False
        try:
            stem.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # the day is a run of its own, recorded from its start: the session's recording ends here
            await self.lab.stop_recording({"outcome": f"a game day (seed {seed}) began: it has its own recording"})
            self.day = GameDay(self.lab, schedule, seed=seed, duration_s=duration_s, recording=recording)
            n = len(schedule)
            say(
                self.status,
                f"Game day (seed {seed}) under way: {n} fault{'s' * (n != 1)} in {describe_duration(duration_s)}. "
                "End stops it early.",
                "info",
            )
            await self.day.run(self._stop)
            result = self.day.result.get("gameday", {})
            ended, health = result.get("ended", "over"), result.get("health", "")
            say(self.status, f"Game day (seed {seed}) {ended}: {health}", "info")
            paths = await write_report_async(recording, report, printer=printer)
            written = " and ".join(p.name for p in paths)
            why = f" ({paths.why_no_pdf})" if paths.why_no_pdf else ""
            self.outcome.setText(f"{self.day.result.get('outcome', '')}\nReport: {paths[0].parent}/{written}{why}")
        except asyncio.CancelledError:
            cancelled = True  # the panel closing: nothing more is started
            say(self.status, "game day cancelled", "refused")
            raise
        except Exception as exc:
            log.exception("game day %s", seed)
            say(self.status, refusal(exc), "refused")
        finally:
            await printer.close()
            self._task, self.day = None, None
            self._busy(False)
            if not cancelled and self.lab.pair is not None and self.lab.recorder is None:
                try:  # the session goes on being recorded, in a new file
                    await self.lab.start_recording()
                except Exception:  # the panel goes on without a recording
                    log.exception("the lab's recording did not start again")

    def _busy(self, running: bool) -> None:
        self.start.setEnabled(not running)
        self.seed.setEnabled(not running)
        self.duration.setEnabled(not running)
        self.end.setEnabled(running)
        self.exercise_mode.emit(running)
