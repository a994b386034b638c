"""The replay window: a recorded run, played back without any server, for a debrief.

A thin window over ``ipics_lab.replay``: both servers' cards as they were at the
replayed time (the panel's ``ServerCard``, its fault buttons hidden), the whole run's
timeline with a cursor at that time (``replay_plot.ReplayPlot``), the narration, faults,
administrators' actions and expectations up to that time (at their emulated time, as
the plot's axis), a time slider to scrub,
Play/Pause and the speed (1x to 60x the run's own real pace).

The file is read and indexed off the event loop (``open_recording``); a damaged or
foreign file is refused in a message box with the reader's sentence, and nothing else
opens.  Scrubbing looks the state up by time (binary searches) and redraws only what
changed: a card when its server's view or heartbeats changed, the list by the rows
added or taken away, the plot's cursor over an image drawn once.

``ipics-lab replay FILE`` opens one (``run``); the trainer panel's "Open recording..."
too.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ipics_desktop.shared.style import ERROR, IDLE, INFO, ONLINE, restyle
from ipics_desktop.trainer.replay_plot import ReplayPlot
from ipics_desktop.trainer.server_card import ServerCard
from ipics_lab.recording import RecordingError
from ipics_lab.replay import SPEEDS, Player, Replay, ServerState, State, describe_speed
from ipics_lab.trainer.lab import describe_scale
from ipics_lab.trainer.monitor import ServerView

#: how often a playing replay moves on (real ms): 20 frames a second
TICK_MS = 50
#: the slider's steps per recorded second (ms: a two-hour run is 7.2 million, an int)
SLIDER_PER_S = 1000
KIND_COLOURS = {"fault": ERROR, "action": INFO, "narration": IDLE}
SERVERS = ("primary", "secondary")
#: room in each card for the lines a view may add (a message, a takeover's progress bar)
CARD_HEADROOM_PX = 48

#: the windows open in this process (a window without a parent is kept by nothing else)
_open_windows: set[QWidget] = set()


def clock_words(seconds: float) -> str:
    """``1:02:03`` for a long run, ``2:03`` for a short one."""
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def server_view(name: str, state: ServerState) -> ServerView | None:
    """The card's ``ServerView`` from a recorded view (the recorded fields; the rest
    as a view that says nothing of them)."""
    v = state.view
    if v is None:
        return None
    return ServerView(
        name=name,
        url="",
        reachable=bool(v.get("reachable")),
        role=v.get("role"),
        ha=v.get("ha"),
        standby_server_status=v.get("standby_server_status"),
        heartbeats_sent=state.heartbeats_sent,
        heartbeats_missed=state.heartbeats_missed,
        missed_now=int(v.get("missed_now") or 0),
        missed_count=int(v.get("missed_count") or 0),
        txlog_percent=float(v.get("txlog_percent") or 0.0),
        txlog_state=v.get("txlog_state"),
        split_brain=bool(v.get("split_brain")),
        services=dict(v.get("services") or {}),
        last_log=str(v.get("last_log") or ""),
    )


class ListedModel(QAbstractListModel):
    """The narration, faults, actions and expectations up to the replayed time: the
    rows are the recording's, shown up to a count that scrubbing moves."""

    def __init__(self, replay: Replay, parent=None):
        super().__init__(parent)
        self.events, self.count = replay.listed, 0

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else self.count

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= self.count:
            return None
        event = self.events[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            mark = "" if event.ok is None else ("  \u2714" if event.ok else "  \u2718")
            return f"{clock_words(event.emulated)}  {event.kind:<11} {event.text}{mark}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{event.emulated:.0f} s emulated, {event.at:.1f} s real\n{event.text}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if event.ok is not None:
                return QColor(ONLINE if event.ok else ERROR)
            return QColor(KIND_COLOURS.get(event.kind, "#1c2630"))
        return None

    def set_count(self, count: int) -> None:
        """Show the first ``count`` rows: only the rows added or taken away are told."""
        count = max(0, min(count, len(self.events)))
        if count > self.count:
            self.beginInsertRows(QModelIndex(), self.count, count - 1)
            self.count = count
            self.endInsertRows()
        elif count < self.count:
            self.beginRemoveRows(QModelIndex(), count, self.count - 1)
            self.count = count
            self.endRemoveRows()


class ReplayWindow(QWidget):
    """One recording replayed.  ``shown_state`` is the state drawn last."""

    closed = Signal()
    #: the replayed time moved and was drawn (seconds of the recording's real time)
    moved = Signal(float)

    def __init__(self, replay: Replay, parent=None):
        super().__init__(parent)
        self.replay = replay
        self.player = Player(replay)
        self.shown_state: State | None = None
        self._drawn: dict[str, tuple] = {}  # server -> what its card shows (view index, heartbeats)
        h = replay.header
        self.setObjectName("replayWindow")
        self.setWindowTitle(f"Replay: {h.name} ({h.kind}) \u2014 IPICS HA Lab")
        self.setAccessibleName("Replay of a recorded run")
        self.resize(1280, 860)

        recorded = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(h.started_at))
        self.title = QLabel(
            f"Replay of the {h.kind} \u201c{h.name}\u201d, recorded {recorded}; "
            f"time scale {describe_scale(h.time_scale)}; {h.topology} topology; modes {h.modes}",
            objectName="replayTitle",
        )
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold;")

        self.cards: dict[str, ServerCard] = {}
        cards_row = QWidget(objectName="replayCards")
        cards = QHBoxLayout(cards_row)
        cards.setContentsMargins(0, 0, 0, 0)
        for name in SERVERS:
            card = self.cards[name] = ServerCard(name)
            faults = card.findChild(QWidget, f"faultsBox:{name}")
            if faults is not None:
                faults.hide()  # nothing to inject into a recording
            card.url_label.hide()  # the recording keeps no address: the servers may be long gone
            card.modes.setText(h.modes)
            cards.addWidget(card)
        # The cards' height is fixed: a card growing by a line (a message, a takeover's
        # bar) while scrubbing would lay out the whole window and repaint the timeline.
        cards_row.setFixedHeight(cards_row.sizeHint().height() + CARD_HEADROOM_PX)

        self.plot = ReplayPlot()
        self.plot.set_events(replay.events)
        self.listed = ListedModel(replay, self)
        self.list = QListView(objectName="replayNarration")
        self.list.setAccessibleName("Narration, faults and administrators' actions up to the replayed time")
        self.list.setUniformItemSizes(True)  # a long run's list lays out without measuring each row
        self.list.setModel(self.listed)
        self.list.setMinimumWidth(360)

        self.play_button = QPushButton("Play", objectName="replayPlay")
        self.play_button.setAccessibleName("Play or pause the replay")
        self.play_button.setAutoDefault(False)
        self.play_button.clicked.connect(self.toggle)
        self.speed = QComboBox(objectName="replaySpeed")
        self.speed.setAccessibleName("Replay speed")
        for s in SPEEDS:
            self.speed.addItem(describe_speed(s), s)
        self.speed.setToolTip("Times the run's own real pace")
        self.speed.currentIndexChanged.connect(lambda _i: self.player.set_speed(self.speed.currentData()))
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="replaySlider")
        self.slider.setAccessibleName("Replayed time")
        self.slider.setRange(int(replay.start_s * SLIDER_PER_S), int(replay.duration_s * SLIDER_PER_S))
        self.slider.setPageStep(max(1, self.slider.maximum() // 20))
        self.slider.valueChanged.connect(self._on_slider)
        self.time_label = QLabel(objectName="replayTime")
        self.time_label.setTextFormat(Qt.TextFormat.PlainText)
        # as wide as its longest text: a new time never lays the controls out again
        widest = f"{clock_words(replay.duration_s)} of {clock_words(replay.duration_s)} real  \u00b7  "
        widest += f"{clock_words(replay.emulated_at(replay.duration_s))} emulated"
        self.time_label.setFixedWidth(self.time_label.fontMetrics().horizontalAdvance(widest) + 12)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(QLabel("Speed:"))
        controls.addWidget(self.speed)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(self.list)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        column = QVBoxLayout(self)
        column.addWidget(self.title)
        column.addWidget(cards_row)
        column.addWidget(split, 1)
        column.addLayout(controls)

        self.ticker = QTimer(self, objectName="replayTicker")
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)
        self.show_state(replay.state_at(replay.start_s))

    # ------------------------------------------------------------------ control
    def toggle(self) -> None:
        self.player.toggle()
        self._playing_changed()
        self.show_state(self.player.state())  # paused: where it stopped; played again: from the start

    def _playing_changed(self) -> None:
        playing = self.player.playing
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self.ticker.start()
        else:
            self.ticker.stop()

    def seek(self, t: float) -> None:
        """Go to real second ``t`` of the recording (as the slider does)."""
        self.show_state(self.replay.state_at(self.player.seek(t)))

    def _on_slider(self, value: int) -> None:
        if self.shown_state is not None and round(self.shown_state.at * SLIDER_PER_S) == value:
            return  # the slider followed the player: drawn already
        self.seek(value / SLIDER_PER_S)

    def _tick(self) -> None:
        self.player.tick()
        self.show_state(self.player.state())
        if not self.player.playing:  # the end
            self._playing_changed()

    # ------------------------------------------------------------------ drawing
    def show_state(self, state: State) -> None:
        """Draw ``state``: only what differs from the state drawn before."""
        self.shown_state = state
        for name, card in self.cards.items():
            server = state.servers.get(name)
            if server is None:
                continue
            key = (server.index, server.heartbeats_sent, server.heartbeats_missed)
            if self._drawn.get(name) != key:
                self._drawn[name] = key
                view = server_view(name, server)
                card.set_view(view)
                if view is None:  # before the server's first recorded view
                    card.role_label.setText("\u2014")
                    card.role_label.setProperty("state", "")
                    restyle(card.role_label)
                    card.subline.setText("no status recorded yet")
        self.listed.set_count(state.listed)
        if self.player.playing and state.listed:
            self.list.scrollToBottom()  # playing: the newest line in sight
        self.plot.set_cursor(state.at, state.emulated)
        self.time_label.setText(
            f"{clock_words(state.at)} of {clock_words(self.replay.duration_s)} real  \u00b7  "
            f"{clock_words(state.emulated)} emulated"
        )
        value = round(state.at * SLIDER_PER_S)
        if self.slider.value() != value:
            self.slider.setValue(value)  # _on_slider sees it is drawn already
        self.moved.emit(state.at)

    def card_roles(self) -> dict[str, str]:
        """Each card's big word (for tests and the accessible description)."""
        return {name: card.role_label.text() for name, card in self.cards.items()}

    def closeEvent(self, event) -> None:
        self.ticker.stop()
        super().closeEvent(event)
        self.closed.emit()


# ---------------------------------------------------------------------- opening
async def load_replay(path: Path) -> Replay:
    """Read and index the recording in a worker thread: the GUI keeps going."""
    return await asyncio.to_thread(Replay.load, path)


def refusal_box(path: Path, why: str, parent: QWidget | None = None) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, "Recording refused", f"This recording cannot be replayed.\n\n{why}")
    box.setObjectName("replayRefused")
    box.setParent(parent, box.windowFlags())
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # no nested event loop: qasync keeps running
    return box


async def open_recording(path: Path, parent: QWidget | None = None) -> ReplayWindow | QMessageBox:
    """The replay window on ``path``, shown; or, for a file that is not a recording
    this lab can replay, a message box saying why (and nothing else)."""
    try:
        replay = await load_replay(path)
    except RecordingError as exc:
        return refusal_box(path, str(exc), parent)
    window = ReplayWindow(replay)
    _open_windows.add(window)
    window.closed.connect(lambda: _open_windows.discard(window))
    window.show()
    return window
