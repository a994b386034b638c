"""The administrator's actions on the trainer panel (``actionsBox``): Failover Now, Go
Standby, REPAIR, rsync, Unconfigure, Configure, one at a time, with a progress bar and
the outcome as a sentence.

Each action is a method of the lab's ``Actions`` (``ipics_lab.trainer.actions``), run
as a task on the loop: the window never waits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QPushButton

from ipics_clients.tasks import Tasks
from ipics_desktop.shared.style import restyle
from ipics_desktop.trainer.sentences import refusal, say
from ipics_server.core.commands import REPAIR, RSYNC, short

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


class ActionsBox(QGroupBox):
    """The actions' buttons, progress bar (``actionProgress``) and sentence (``actionMessage``)."""

    def __init__(self, lab_actions, tasks: Tasks, parent=None):
        super().__init__("Administrator's actions", parent, objectName="actionsBox")
        self.lab_actions, self.tasks = lab_actions, tasks
        self._action_running: str | None = None
        #: action -> why this lab cannot run it (greyed out for good)
        self.unavailable: dict[str, str] = {}
        grid = QGridLayout(self)
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

    def set_offers(self, offers) -> None:
        """Grey out for good the actions this lab cannot run (``Offers``), saying why."""
        self.unavailable = {m: r for m, *_ in ACTIONS if (r := offers.why_not(m))}
        for method, reason in self.unavailable.items():
            self.action_buttons[method].setToolTip(reason)
        self._enable()
        if self.unavailable:
            names = ", ".join(self.action_buttons[m].text() for m in self.unavailable)
            say(self.action_message, f"{names}: {next(iter(self.unavailable.values()))}", "info")

    def _enable(self) -> None:
        for method, button in self.action_buttons.items():
            button.setEnabled(self._action_running is None and method not in self.unavailable)

    def set_urgent(self, split_brain: bool) -> None:
        """During a split brain Go Standby (Method 1) gets its red border."""
        self.action_buttons["go_standby"].setProperty("urgent", split_brain)
        restyle(self.action_buttons["go_standby"])

    def run_action(self, method: str, title: str, **kwargs) -> None:
        """Start one of the administrator's actions; the others wait until it ends."""
        if self._action_running is not None:
            return
        self._action_running = method
        self._enable()
        self.action_progress.setRange(0, 0)  # busy until the first progress report
        self.action_progress.setFormat(f"{title}\u2026")
        say(self.action_message, f"{title}: running\u2026", "info")
        self.tasks.start(self._run_action(method, title, kwargs))

    async def _run_action(self, method: str, title: str, kwargs: dict) -> None:
        def progress(fraction: float | None, text: str) -> None:
            self.on_action_progress(title, fraction, text)

        try:
            sentence = await getattr(self.lab_actions, method)(progress=progress, **kwargs)
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(1000)
            self.action_progress.setFormat(f"{title}: done")
            say(self.action_message, f"{title}: {sentence or 'done'}", "ok")
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(0)
            self.action_progress.setFormat(f"{title}: not done")
            say(self.action_message, f"{title}: {refusal(exc)}", "refused")
        finally:
            self._action_running = None
            self._enable()

    def on_action_progress(self, title: str, fraction: float | None, text: str) -> None:
        if fraction is None:
            self.action_progress.setRange(0, 0)
        else:
            self.action_progress.setRange(0, 1000)
            self.action_progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.action_progress.setFormat(f"{text} %p%" if fraction is not None else text)
        say(self.action_message, f"{title}: {text}", "info")

    @property
    def action_running(self) -> str | None:
        return self._action_running
