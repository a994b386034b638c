"""The trainer panel: a thin window over the Qt-free trainer core (``ipics_lab.trainer``).

What a trainer shows a room: both servers side by side (``ServerCard``: role in large
words, HA state, Standby Server Status, heartbeats, the transaction-log gauge, clock,
services, the modes, the HA loop's last sentence, messages, a takeover's progress) with
one button per fault under each; the witness under them when the pair has one
(``witness_box.WitnessBox``: who holds its vote, who voted for whom); a loud banner
during a split brain; the administrator's actions
(Failover Now, Go Standby, REPAIR, rsync, Unconfigure, Configure) with a progress bar;
the network between the sites (``network_box.NetworkBox``: packet loss, the clients'
site isolated, heal) and the topology the lab runs in;
more consoles, phones, mobile clients and telephones opened as named users; a live
timeline plot, exportable as PNG; the time scale; and a scenario pane whose narration
is shown step by step.  The panel owns the boxes on its right: the administrator's
actions (``actions_box.ActionsBox``), the devices (``devices_box.DevicesBox``) and the
scenario pane (``scenario_pane.ScenarioPane``); their outcomes are sentences
(``sentences``).

What this lab cannot make (``lab.offers``: the kernel's faults on loopback, power off
and on on a pair it did not start) is greyed out, with the reason beside it.

Every fault and action runs as a task on the loop (``Tasks``): the window never waits.
A refusal (``ActionRefused``) or any other failure is shown as a sentence, never a
traceback.  The monitor's views and the timeline's events arrive by subscription; the
views are drawn once per turn of the loop.

Signals:
    closed: the window was closed (the trainer app stops everything it started on it).
    rendered: the servers' cards were drawn again from new views.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.tasks import Tasks
from ipics_desktop.shared.file_dialog import ask_open_file
from ipics_desktop.shared.style import ERROR, INFO, ONLINE
from ipics_desktop.trainer.actions_box import ActionsBox
from ipics_desktop.trainer.devices_box import DevicesBox
from ipics_desktop.trainer.exercise_pane import ExercisePane
from ipics_desktop.trainer.gameday_pane import GameDayPane
from ipics_desktop.trainer.network_box import NetworkBox
from ipics_desktop.trainer.report_export import ReportExport
from ipics_desktop.trainer.scenario_pane import ScenarioPane
from ipics_desktop.trainer.sentences import refusal, say
from ipics_desktop.trainer.server_card import ServerCard
from ipics_desktop.trainer.timeline_plot import TimelinePlot
from ipics_desktop.trainer.witness_box import WitnessBox
from ipics_lab.trainer.lab import describe_scale
from ipics_lab.trainer.witness_view import witness_view

SERVERS = ("primary", "secondary")
#: the time-scale control: real seconds per emulated second
TIME_SCALES = (("Real time (1x)", 1.0), ("10x faster", 0.1), ("60x faster", 1 / 60), ("100x faster", 0.01))
FAULT_WORDS = {
    "power_off": "Powering off",
    "power_on": "Powering on",
    "crash_tomcat": "Crashing tomcat",
    "cut_link": "Cutting the link",
    "heal_link": "Healing the link",
    "skew_clock": "Skewing the clock",
    "fill_txlog": "Filling the transaction log",
}

PANEL_STYLE = f"""
QLabel#trainerTitle {{ font-size: 16pt; font-weight: bold; color: #1c2630; }}
QLabel#splitBrainBanner {{
    font-size: 15pt; font-weight: bold; color: white; background: {ERROR}; border: 3px solid #7f0000;
    border-radius: 6px; padding: 3px 10px;
}}
QLabel#timeScaleShown {{ color: {INFO}; font-weight: bold; }}
QLabel#scenarioSay {{ font-size: 13pt; font-weight: bold; color: #1c2630; background: #fffbe6;
    border: 1px solid #e0c36b; border-radius: 6px; padding: 6px; }}
QLabel#scenarioResult[result="passed"] {{ color: white; background: {ONLINE}; font-weight: bold; padding: 4px; }}
QLabel#scenarioResult[result="failed"] {{ color: white; background: {ERROR}; font-weight: bold; padding: 4px; }}
QLabel#scenarioResult[result="running"] {{ color: {INFO}; font-weight: bold; padding: 4px; }}
QPushButton[urgent="true"] {{ border: 3px solid {ERROR}; font-weight: bold; color: {ERROR}; }}
QProgressBar#actionProgress::chunk {{ background: {INFO}; }}
"""


class TrainerPanel(QMainWindow):
    closed = Signal()
    rendered = Signal()

    def __init__(self, lab, actions, monitor, launcher=None, parent=None):
        super().__init__(parent)
        # lab_actions: QWidget.actions() is Qt's own
        self.lab, self.lab_actions, self.monitor, self.launcher = lab, actions, monitor, launcher
        self.tasks = Tasks()
        # Before its first poll the monitor holds placeholders (nothing reachable): the
        # cards wait for real news rather than show both servers DOWN.
        views = dict(getattr(monitor, "views", {}) or {})
        self.views: dict = views if any(v.reachable for v in views.values()) else {}
        self._faults_running: dict[str, object] = {}
        self._unsubscribe: list = []
        self.setObjectName("trainerPanel")
        self.setAccessibleName("IPICS HA Lab trainer panel")
        self.setWindowTitle("IPICS HA Lab \u2014 Trainer")
        self.setStyleSheet(PANEL_STYLE)
        self.resize(1260, 780)  # fits 1280x800 with the window's decorations

        #: what this lab can make, and why not the rest (greyed out, saying why)
        self.offers = lab.offers
        self.cards = {name: ServerCard(name) for name in SERVERS}
        for card in self.cards.values():
            card.set_offers(self.offers)
            card.fault_requested.connect(self.on_fault_requested)
        cards = QHBoxLayout()
        cards.setSpacing(8)
        for card in self.cards.values():
            cards.addWidget(card, 1)
        # The cards take what they need; the timeline takes the rest.
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.setSpacing(6)
        left_column.addLayout(cards, 0)
        self.witness_box = WitnessBox()  # shown when the pair has a witness
        left_column.addWidget(self.witness_box, 0)
        left_column.addWidget(self._timeline_box(), 1)

        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self._actions_box(actions))
        self.network_box = NetworkBox(actions, self.tasks, self.offers, lab.summary)
        right_column.addWidget(self.network_box)
        right_column.addWidget(self._devices_box(launcher))
        right_column.addWidget(self._training_tabs(lab, monitor), 1)
        right.setFixedWidth(350)
        body = QHBoxLayout()
        body.setSpacing(8)
        body.addWidget(left, 1)
        body.addWidget(right, 0)

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(6)
        column.addLayout(self._top_bar())
        column.addWidget(self.lab_attached)
        self.split_banner = QLabel(objectName="splitBrainBanner")
        self.split_banner.setWordWrap(True)
        self.split_banner.setTextFormat(Qt.TextFormat.RichText)
        self.split_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.split_banner.hide()
        column.addWidget(self.split_banner)
        column.addLayout(body, 1)
        self.setCentralWidget(central)

        # Views come in per poll, events one by one: draw once per turn of the loop.
        self._render_soon = QTimer(self, singleShot=True, interval=0)
        self._render_soon.timeout.connect(self.redraw)
        self._unsubscribe.append(monitor.subscribe(self._on_views))
        timeline = lab.timeline
        self.plot.set_events(timeline.events)
        self._unsubscribe.append(timeline.subscribe(self.plot.add_event))
        self.redraw()

    # ================================================================= layout
    def _top_bar(self) -> QHBoxLayout:
        title = QLabel("IPICS HA Lab \u2014 Trainer", objectName="trainerTitle")
        self.time_scale = QComboBox(objectName="timeScale")
        self.time_scale.setAccessibleName("Time scale")
        self.time_scale.setToolTip(
            "How fast emulated time runs: real time for realism, faster for a quick "
            "demo (the servers and the lab clock change together)"
        )
        for words, scale in TIME_SCALES:
            self.time_scale.addItem(words, scale)
        self._select_scale(self.lab.clock.time_scale)
        self.time_scale.currentIndexChanged.connect(self.on_time_scale_chosen)
        self._time_scale_not_here = self.offers.why_not("time_scale")
        if self._time_scale_not_here:
            self.time_scale.setEnabled(False)
            self.time_scale.setToolTip(self._time_scale_not_here)
        self.time_scale_shown = QLabel(objectName="timeScaleShown")
        summary = self.lab.summary
        topology = summary.get("topology") or "loopback"
        words = f"Topology: {topology}"
        if summary.get("sites"):
            words += f" ({summary['sites'].get('network', '?')})"
        self.lab_topology = QLabel(words, objectName="labTopology")
        self.lab_topology.setToolTip(
            "loopback: every process on this host, the network faults made by the servers; "
            "sites: each server, the media router and the clients in a network namespace "
            "of its own, the network faults made by the kernel; unknown: attached by address "
            "off this host's loopback, the sites are not known here"
        )
        self.lab_attached = QLabel(objectName="labAttached")
        self.lab_attached.setTextFormat(Qt.TextFormat.PlainText)
        if summary.get("attached"):
            words = f"Attached to {summary['attached']}: closing this panel stops nothing"
            if summary.get("power"):
                words += f"; power off and on: {summary['power']}"
            self.lab_attached.setText(words)
            self.lab_attached.setWordWrap(True)
        self.lab_attached.setVisible(bool(summary.get("attached")))
        bar = QHBoxLayout()
        bar.addWidget(title)
        bar.addSpacing(16)
        bar.addWidget(self.lab_topology)
        bar.addStretch(1)
        bar.addWidget(QLabel("Speed:"))
        bar.addWidget(self.time_scale)
        bar.addWidget(self.time_scale_shown)
        return bar

    def _timeline_box(self) -> QFrame:
        box = QFrame(objectName="timelineBox")
        self.plot = TimelinePlot()
        self.timeline_axis = QComboBox(objectName="timelineAxis")
        self.timeline_axis.setAccessibleName("Timeline time axis")
        self.timeline_axis.addItem("Emulated seconds", "emulated")
        self.timeline_axis.addItem("Real seconds", "real")
        self.timeline_axis.currentIndexChanged.connect(lambda _i: self.plot.set_axis(self.timeline_axis.currentData()))
        self.export_button = QPushButton("Export PNG\u2026", objectName="timelineExport")
        self.export_button.setAccessibleName("Export the timeline as PNG")
        self.export_button.setAutoDefault(False)
        self.export_button.clicked.connect(self.on_export_clicked)
        # a run recorded earlier (or on another machine), replayed beside the live lab
        self.open_recording_button = QPushButton("Open recording\u2026", objectName="openRecording")
        self.open_recording_button.setAccessibleName("Open a recorded run and replay it")
        self.open_recording_button.setAutoDefault(False)
        self.open_recording_button.clicked.connect(self.on_open_recording_clicked)
        self.timeline_message = QLabel(objectName="timelineMessage")
        self.timeline_message.setTextFormat(Qt.TextFormat.PlainText)
        title = QLabel("Timeline of the run")
        title.setStyleSheet("font-weight: bold;")
        bar = QHBoxLayout()
        bar.addWidget(title)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Time axis:"))
        bar.addWidget(self.timeline_axis)
        bar.addWidget(self.timeline_message, 1)
        bar.addWidget(self.export_button)
        self.report_export = ReportExport(self, self.lab, self.tasks, self.timeline_message)
        bar.addWidget(self.report_export.button)
        bar.addWidget(self.open_recording_button)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(bar)
        column.addWidget(self.plot, 1)
        return box

    def _actions_box(self, actions) -> ActionsBox:
        self.actions_box = ActionsBox(actions, self.tasks)
        self.actions_box.set_offers(self.offers)
        # Its controls by the names the tests and scripts know them by.
        self.action_buttons = self.actions_box.action_buttons
        self.action_progress = self.actions_box.action_progress
        self.action_message = self.actions_box.action_message
        return self.actions_box

    def _devices_box(self, launcher) -> DevicesBox:
        self.devices_box = DevicesBox(launcher, unavailable=self.offers.why_not("devices"))
        self.device_kind, self.device_user = self.devices_box.device_kind, self.devices_box.device_user
        self.device_open, self.device_message = self.devices_box.device_open, self.devices_box.device_message
        return self.devices_box

    def _scenario_pane(self, lab) -> ScenarioPane:
        pane = self.scenario_pane = ScenarioPane(lab, self.tasks)
        if reason := self.offers.why_not("scenario"):
            pane.set_unavailable(reason)
        self.scenario_picker, self.scenario_open = pane.scenario_picker, pane.scenario_open
        self.scenario_run, self.scenario_stop = pane.scenario_run, pane.scenario_stop
        self.scenario_say, self.scenario_result = pane.scenario_say, pane.scenario_result
        self.scenario_narration = pane.scenario_narration
        self.add_scenario_file, self.narration = pane.add_scenario_file, pane.narration
        return pane

    def _training_tabs(self, lab, monitor) -> QTabWidget:
        """The scenario, exercise and game day panes, one over the other in tabs: the
        panel still fits a 1280x800 screen."""
        tabs = self.training_tabs = QTabWidget(objectName="trainingTabs")
        tabs.setAccessibleName("Scenarios, exercises and game days")
        tabs.addTab(self._scenario_pane(lab), "Scenario")
        tabs.addTab(self._exercise_pane(lab, monitor), "Exercise")
        tabs.addTab(self._gameday_pane(lab), "Game day")
        return tabs

    def _gameday_pane(self, lab) -> GameDayPane:
        pane = self.gameday_pane = GameDayPane(lab, self.tasks)
        if reason := self.offers.why_not("scenario"):  # a game day makes its faults on this lab's own pair
            pane.setEnabled(False)
            pane.setToolTip(reason)
        pane.exercise_mode.connect(self.on_exercise_mode)
        return pane

    def _exercise_pane(self, lab, monitor) -> ExercisePane:
        pane = self.exercise_pane = ExercisePane(lab, self.tasks, monitor)
        if reason := self.offers.why_not("scenario"):  # an exercise makes its setup on this lab's own pair
            pane.setEnabled(False)
            pane.setToolTip(reason)
        pane.exercise_mode.connect(self.on_exercise_mode)
        return pane

    def on_exercise_mode(self, running: bool) -> None:
        """Exercise mode: the administrator's buttons are hidden; the trainee works
        through the real interfaces, and the timeline shows what the servers saw."""
        self.actions_box.setVisible(not running)

    @property
    def action_running(self) -> str | None:
        return self.actions_box.action_running

    def run_action(self, method: str, title: str, **kwargs) -> None:
        """Start one of the administrator's actions; the others wait until it ends."""
        self.actions_box.run_action(method, title, **kwargs)

    # ================================================================= live state
    def _on_views(self, views: dict) -> None:
        self.views = dict(views)
        self._render_soon.start()

    def redraw(self) -> None:
        for name, card in self.cards.items():
            view = self.views.get(name)
            if view is not None:
                card.set_view(view)
        if any(v.reachable for v in self.views.values()):  # with both down, what was known stays
            self.witness_box.set_view(witness_view(self.views))
        self._render_split_brain()
        self._render_time_scale()
        self.rendered.emit()

    def _render_split_brain(self) -> None:
        split = [v for v in self.views.values() if v.reachable and v.split_brain]
        self.actions_box.set_urgent(bool(split))
        if not split:
            self.split_banner.hide()
            return
        info = next((v.status.get("split") for v in split if (v.status or {}).get("split")), None) or {}
        words = "\u26a0 SPLIT BRAIN: both servers are active"
        if info.get("duration"):
            words += f" (for {info['duration']})"
        # The server's words are escaped: the banner is rich text only for its two sizes.
        text = html.escape(words)
        if info.get("recommendation"):
            text += f"<br><span style='font-size: 10pt'>Recommended: {html.escape(str(info['recommendation']))}</span>"
        self.split_banner.setText(text)
        self.split_banner.setAccessibleDescription(
            words + (f". Recommended: {info['recommendation']}" if info.get("recommendation") else "")
        )
        self.split_banner.show()

    def _render_time_scale(self) -> None:
        shown = ((v.status or {}).get("time_scale") for v in self.views.values() if v.reachable)
        scales: set[float] = {s for s in shown if s is not None}
        if not scales:
            self.time_scale_shown.setText(f"lab clock {describe_scale(self.lab.clock.time_scale)}")
            return
        self.time_scale_shown.setText("servers: " + ", ".join(describe_scale(s) for s in sorted(scales)))
        if len(scales) == 1 and (self.time_scale.isEnabled() or self._time_scale_not_here):
            self._select_scale(scales.pop())  # changed elsewhere (a scenario): the control follows

    # ================================================================= faults
    def on_fault_requested(self, server: str, fault: str, argument) -> None:
        if server in self._faults_running:
            return
        card = self.cards[server]
        words = FAULT_WORDS.get(fault, fault)
        card.set_busy(True, f"{words} on the {server}\u2026")
        self._faults_running[server] = self.tasks.start(self._run_fault(server, fault, argument))

    async def _run_fault(self, server: str, fault: str, argument) -> None:
        card = self.cards[server]
        method = getattr(self.lab_actions, fault)
        try:
            if fault == "cut_link":
                sentence = await method(server, argument or "both")
            elif fault == "fill_txlog":
                sentence = await method(
                    server, argument, progress=lambda _f, text: card.show_result(f"Filling: {text}\u2026", "busy")
                )
            elif fault == "skew_clock":
                sentence = await method(server, argument)
            else:
                sentence = await method(server)
            card.show_result(str(sentence or "done"), "ok")
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            card.show_result(refusal(exc), "refused")
        finally:
            self._faults_running.pop(server, None)
            card.set_busy(False)

    # ================================================================= time scale
    def _select_scale(self, scale: float) -> None:
        index = next(
            (i for i in range(self.time_scale.count()) if abs(self.time_scale.itemData(i) - scale) <= 1e-6 * scale), -1
        )
        if index < 0:
            self.time_scale.addItem(f"{describe_scale(scale)} (custom)", scale)
            index = self.time_scale.count() - 1
        self.time_scale.blockSignals(True)
        self.time_scale.setCurrentIndex(index)
        self.time_scale.blockSignals(False)

    def on_time_scale_chosen(self, _index: int) -> None:
        scale = self.time_scale.currentData()
        self.time_scale.setEnabled(False)
        self.time_scale_shown.setText(f"changing to {describe_scale(scale)}\u2026")
        self.tasks.start(self._set_time_scale(scale))

    async def _set_time_scale(self, scale: float) -> None:
        try:
            await self.lab.set_time_scale(scale)
        except Exception as exc:  # noqa: BLE001
            self._select_scale(self.lab.clock.time_scale)
            self.time_scale_shown.setText(f"not changed: {refusal(exc)}")
            return
        finally:
            self.time_scale.setEnabled(not self._time_scale_not_here)
        self._render_time_scale()

    # ================================================================= timeline
    def on_export_clicked(self) -> None:
        dialog = QFileDialog(
            self, "Export the timeline as PNG", str(Path.home() / "timeline.png"), "PNG images (*.png)"
        )
        dialog.setObjectName("timelineExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("png")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_png)
        dialog.open()  # no nested event loop: qasync keeps running

    def export_png(self, path: str | Path) -> Path | None:
        """Write the timeline plot to ``path``; the outcome is written beside the button."""
        try:
            written = self.plot.export_png(path)
        except OSError as exc:
            say(self.timeline_message, f"Not exported: {exc}", "refused")
            return None
        say(self.timeline_message, f"Exported to {written}", "ok")
        return written

    def on_open_recording_clicked(self) -> None:
        root = getattr(self.lab, "root", None)  # an attached lab may have none here
        folder = root / "recordings" if root is not None else Path.home()
        folder = folder if folder.is_dir() else Path.home()
        ask_open_file(
            self, "Open a recording", folder, "Recordings (*.ipicsrec)", "openRecordingDialog", self.open_recording
        )

    def open_recording(self, path: str | Path):
        """Replay ``path`` in its own window (read off the loop; a refusal in a message box)."""
        from ipics_desktop.trainer.replay_window import open_recording

        return self.tasks.start(open_recording(Path(path), self))

    # ================================================================= misc
    def closeEvent(self, event) -> None:
        self.scenario_pane.cancel()
        self.exercise_pane.cancel()
        self.gameday_pane.cancel()
        self.tasks.cancel_all()
        self._render_soon.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        super().closeEvent(event)
        self.closed.emit()
