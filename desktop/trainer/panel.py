"""The trainer panel: a thin window over the Qt-free trainer core (``ipics_lab.trainer``).

What a trainer shows a room: both servers side by side (``ServerCard``: role in large
words, HA state, Standby Server Status, heartbeats, the transaction-log gauge, clock,
services, the HA loop's last sentence, messages, a takeover's progress) with one button
per fault under each; a loud banner during a split brain; the administrator's actions
(Failover Now, Go Standby, REPAIR, rsync, Unconfigure, Configure) with a progress bar;
more consoles, phones, mobile clients and telephones opened as named users; a live
timeline plot, exportable as PNG; the time scale; and a scenario pane whose narration
is shown step by step.

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
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.tasks import Tasks
from ipics_desktop.shared.style import ERROR, IDLE, INFO, OFFLINE, ONLINE, restyle
from ipics_desktop.trainer.server_card import ServerCard
from ipics_desktop.trainer.timeline_plot import TimelinePlot
from ipics_lab.seed import DEMO_USERS
from ipics_lab.trainer.lab import describe_scale
from ipics_server.core.commands import REPAIR, RSYNC, short

log = logging.getLogger("ipics.trainer")

SERVERS = ("primary", "secondary")
#: the time-scale control: real seconds per emulated second
TIME_SCALES = (("Real time (1x)", 1.0), ("10x faster", 0.1), ("60x faster", 1 / 60), ("100x faster", 0.01))
DEVICE_KINDS = ("console", "phone", "mobile", "telephone")
#: the administrator's actions: (method, button text, objectName, accessible name, keyword arguments)
ACTIONS: tuple[tuple[str, str, str, str, dict[str, str]], ...] = (
    ("failover_now", "Failover Now", "actionFailoverNow", "Failover Now: the standby takes over", {}),
    ("go_standby", "Go Standby", "actionGoStandby", "Go Standby on the secondary", {"server": "secondary"}),
    ("repair", "REPAIR database", "actionRepair", short(REPAIR), {}),
    ("rsync", "rsync files", "actionRsync", short(RSYNC), {}),
    (
        "unconfigure",
        "Unconfigure HA (primary)",
        "actionUnconfigure",
        "Unconfigure HA on the primary",
        {"server": "primary"},
    ),
    ("configure", "Configure HA", "actionConfigure", "Configure HA", {}),
)
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
        self._action_running: str | None = None
        self._faults_running: dict[str, object] = {}
        self._runner = None
        self._scenario_task = None
        self._step_items: dict[int, QListWidgetItem] = {}
        self._unsubscribe: list = []
        self.setObjectName("trainerPanel")
        self.setAccessibleName("IPICS HA Lab trainer panel")
        self.setWindowTitle("IPICS HA Lab \u2014 Trainer")
        self.setStyleSheet(PANEL_STYLE)
        self.resize(1260, 780)  # fits 1280x800 with the window's decorations

        self.cards = {name: ServerCard(name) for name in SERVERS}
        for card in self.cards.values():
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
        left_column.addWidget(self._timeline_box(), 1)

        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self._actions_box())
        right_column.addWidget(self._devices_box())
        right_column.addWidget(self._scenario_box(), 1)
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
        self.time_scale_shown = QLabel(objectName="timeScaleShown")
        bar = QHBoxLayout()
        bar.addWidget(title)
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
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(bar)
        column.addWidget(self.plot, 1)
        return box

    def _actions_box(self) -> QGroupBox:
        box = QGroupBox("Administrator's actions", objectName="actionsBox")
        grid = QGridLayout(box)
        grid.setSpacing(4)
        self.action_buttons: dict[str, QPushButton] = {}
        for i, (method, text, name, accessible, kwargs) in enumerate(ACTIONS):
            button = QPushButton(text, objectName=name)
            button.setAccessibleName(accessible)
            button.setAutoDefault(False)
            button.setMinimumHeight(30)
            button.clicked.connect(lambda _=False, m=method, t=text, k=kwargs: self.run_action(m, t, **k))
            grid.addWidget(button, i // 2, i % 2)
            self.action_buttons[method] = button
        self.action_buttons["go_standby"].setToolTip(
            "Split brain recovery, Method 1: the secondary goes "
            "standby (the server allows it only in a split brain); "
            "then REPAIR, then rsync"
        )
        self.action_progress = QProgressBar(objectName="actionProgress")
        self.action_progress.setAccessibleName("Progress of the running action")
        self.action_progress.setRange(0, 1000)
        self.action_progress.setValue(0)
        self.action_progress.setTextVisible(True)
        self.action_progress.setFormat("no action running")
        self.action_message = QLabel(objectName="actionMessage")
        self.action_message.setWordWrap(True)
        self.action_message.setTextFormat(Qt.TextFormat.PlainText)
        rows = (len(ACTIONS) + 1) // 2
        grid.addWidget(self.action_progress, rows, 0, 1, 2)
        grid.addWidget(self.action_message, rows + 1, 0, 1, 2)
        return box

    def _devices_box(self) -> QGroupBox:
        box = QGroupBox("Open a device as a user", objectName="devicesBox")
        self.device_kind = QComboBox(objectName="deviceKind")
        self.device_kind.setAccessibleName("Device kind")
        for kind in _device_kinds():
            self.device_kind.addItem(kind.capitalize(), kind)
        self.device_user = QComboBox(objectName="deviceUser")
        self.device_user.setAccessibleName("User")
        self.device_user.setEditable(True)
        for username, _role, full_name in DEMO_USERS:
            self.device_user.addItem(username, username)
            self.device_user.setItemData(self.device_user.count() - 1, full_name, Qt.ItemDataRole.ToolTipRole)
        self.device_open = QPushButton("Open", objectName="deviceOpen")
        self.device_open.setAccessibleName("Open the device")
        self.device_open.setAutoDefault(False)
        self.device_open.clicked.connect(self.on_open_device)
        self.device_message = QLabel(objectName="deviceMessage")
        self.device_message.setWordWrap(True)
        self.device_message.setTextFormat(Qt.TextFormat.PlainText)
        row = QHBoxLayout()
        row.addWidget(self.device_kind)
        row.addWidget(self.device_user, 1)
        row.addWidget(self.device_open)
        column = QVBoxLayout(box)
        column.setContentsMargins(6, 4, 6, 4)
        column.addLayout(row)
        column.addWidget(self.device_message)
        if self.launcher is None:
            for widget in (self.device_kind, self.device_user, self.device_open):
                widget.setEnabled(False)
            self._message(self.device_message, "No device launcher in this lab.", "info")
        return box

    def _scenario_box(self) -> QGroupBox:
        box = QGroupBox("Scenario", objectName="scenarioBox")
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
        column = QVBoxLayout(box)
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
            self._message(self.scenario_result, f"Scenarios are not available: {exc}", "refused")
            names = []
        for name in names:
            self.scenario_picker.addItem(name, name)
        return box

    # ================================================================= live state
    def _on_views(self, views: dict) -> None:
        self.views = dict(views)
        self._render_soon.start()

    def redraw(self) -> None:
        for name, card in self.cards.items():
            view = self.views.get(name)
            if view is not None:
                card.set_view(view)
        self._render_split_brain()
        self._render_time_scale()
        self.rendered.emit()

    def _render_split_brain(self) -> None:
        split = [v for v in self.views.values() if v.reachable and v.split_brain]
        self.action_buttons["go_standby"].setProperty("urgent", bool(split))
        restyle(self.action_buttons["go_standby"])
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
        if len(scales) == 1 and self.time_scale.isEnabled():
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
            card.show_result(_refusal(exc), "refused")
        finally:
            self._faults_running.pop(server, None)
            card.set_busy(False)

    # ================================================================= actions
    def run_action(self, method: str, title: str, **kwargs) -> None:
        """Start one of the administrator's actions; the others wait until it ends."""
        if self._action_running is not None:
            return
        self._action_running = method
        for button in self.action_buttons.values():
            button.setEnabled(False)
        self.action_progress.setRange(0, 0)  # busy until the first progress report
        self.action_progress.setFormat(f"{title}\u2026")
        self._message(self.action_message, f"{title}: running\u2026", "info")
        self.tasks.start(self._run_action(method, title, kwargs))

    async def _run_action(self, method: str, title: str, kwargs: dict) -> None:
        def progress(fraction: float | None, text: str) -> None:
            self.on_action_progress(title, fraction, text)

        try:
            sentence = await getattr(self.lab_actions, method)(progress=progress, **kwargs)
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(1000)
            self.action_progress.setFormat(f"{title}: done")
            self._message(self.action_message, f"{title}: {sentence or 'done'}", "ok")
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(0)
            self.action_progress.setFormat(f"{title}: not done")
            self._message(self.action_message, f"{title}: {_refusal(exc)}", "refused")
        finally:
            self._action_running = None
            for button in self.action_buttons.values():
                button.setEnabled(True)

    def on_action_progress(self, title: str, fraction: float | None, text: str) -> None:
        if fraction is None:
            self.action_progress.setRange(0, 0)
        else:
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.action_progress.setFormat(f"{text} %p%" if fraction is not None else text)
        self._message(self.action_message, f"{title}: {text}", "info")

    @property
    def action_running(self) -> str | None:
        return self._action_running

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
            self.time_scale_shown.setText(f"not changed: {_refusal(exc)}")
            return
        finally:
            self.time_scale.setEnabled(True)
        self._render_time_scale()

    # ================================================================= devices
    def on_open_device(self) -> None:
        kind = self.device_kind.currentData()
        user = self.device_user.currentText().strip().lower()
        if not user:
            self._message(self.device_message, "Pick or type a user name first.", "refused")
            return
        try:
            window = self.launcher.open(kind, user)
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            self._message(self.device_message, f"{kind} for {user} not opened: {_refusal(exc)}", "refused")
            return
        if window is not None and not window.isVisible():
            window.show()
        opened = len(getattr(self.launcher, "opened", []) or [])
        self._message(self.device_message, f"Opened a {kind} for {user} ({opened} devices open).", "ok")

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
            self._message(self.timeline_message, f"Not exported: {exc}", "refused")
            return None
        self._message(self.timeline_message, f"Exported to {written}", "ok")
        return written

    # ================================================================= scenarios
    def on_scenario_open_clicked(self) -> None:
        dialog = QFileDialog(self, "Open a scenario file", str(Path.home()), "Scenario files (*.toml);;All files (*)")
        dialog.setObjectName("scenarioFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.add_scenario_file)
        dialog.open()

    def add_scenario_file(self, path: str | Path) -> None:
        path = str(path)
        index = self.scenario_picker.findData(path)
        if index < 0:
            self.scenario_picker.addItem(f"{Path(path).name} (file)", path)
            index = self.scenario_picker.count() - 1
        self.scenario_picker.setCurrentIndex(index)

    def on_scenario_run(self) -> None:
        if self._scenario_task is not None:
            return
        name = self.scenario_picker.currentData()
        if not name:
            self._message(self.scenario_result, "Pick a scenario first.", "refused")
            return
        from ipics_lab.scenario import ScenarioRunner, load_scenario

        try:
            scenario = load_scenario(name)
        except Exception as exc:  # noqa: BLE001 (ScenarioError and unreadable files alike)
            self._message(self.scenario_result, f"Cannot run {name}: {_refusal(exc)}", "refused")
            return
        self.scenario_narration.clear()
        self._step_items.clear()
        self._narrate(f"{scenario.title}", bold=True)
        if scenario.description:
            self._narrate(scenario.description, colour=IDLE)
        self._runner = ScenarioRunner(self.lab, scenario, on_step=self.on_scenario_step)
        self.scenario_run.setEnabled(False)
        self.scenario_stop.setEnabled(True)
        self.scenario_picker.setEnabled(False)
        self._set_result(f"Running: {scenario.title}", "running")
        self._scenario_task = self.tasks.start(self._run_scenario(self._runner))

    async def _run_scenario(self, runner) -> None:
        try:
            report = await runner.run()
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            self._set_result(f"Scenario stopped: {_refusal(exc)}", "failed")
        else:
            lines = report.lines()
            # The steps are on screen already: the report's last line sums them up.
            self._narrate(lines[-1], colour=ONLINE if report.passed else ERROR, bold=True)
            self._set_result(lines[-1], "passed" if report.passed else "failed")
            self.scenario_result.setToolTip("\n".join(lines))
            self.scenario_say.hide()
        finally:
            self._runner = self._scenario_task = None
            self.scenario_run.setEnabled(True)
            self.scenario_stop.setEnabled(False)
            self.scenario_picker.setEnabled(True)

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
        if self._runner is not None:
            self._runner.cancel()
            self._set_result("Stopping\u2026", "running")

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

    # ================================================================= misc
    def _message(self, label: QLabel, text: str, kind: str) -> None:
        colours = {"ok": ONLINE, "refused": ERROR, "info": INFO, "warn": OFFLINE}
        label.setText(text)
        label.setStyleSheet(f"color: {colours.get(kind, IDLE)};" + (" font-weight: bold;" if kind == "refused" else ""))
        label.setProperty("kind", kind)

    def closeEvent(self, event) -> None:
        if self._runner is not None:
            self._runner.cancel()
        self.tasks.cancel_all()
        self._render_soon.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        super().closeEvent(event)
        self.closed.emit()


def _device_kinds() -> tuple[str, ...]:
    try:
        from ipics_desktop.trainer.devices import DEVICE_KINDS as kinds
    except ImportError:
        return DEVICE_KINDS
    return tuple(kinds)


def _refusal(exc: BaseException) -> str:
    """A failure as the sentence the trainer reads: the reason of a refusal, else what failed."""
    if type(exc).__name__ == "ActionRefused":
        return f"refused: {exc}"
    if isinstance(exc, ValueError) or type(exc).__name__ == "ScenarioError":
        return str(exc)  # bad input, said by whoever checked it
    if isinstance(exc, TimeoutError):
        return f"timed out: {exc}" if str(exc) else "timed out"
    log.warning("trainer action failed", exc_info=exc)
    return f"failed: {exc}" if str(exc) else f"failed ({type(exc).__name__})"
