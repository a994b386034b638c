"""The IDC console window: channels and VTGs with push-to-talk, incidents with their
photos and videos, the connection banner, and a status bar with server, role and state.

It renders the session and forwards input.  When the link breaks the last
configuration stays on screen and usable (PTT included) under an "offline" banner;
the session reconnects by itself and the banner says so.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.session import ConsoleSession, Notice, State
from ipics_clients.talk import TalkFloor
from ipics_clients.tasks import Tasks
from ipics_clients.wording import sentence
from ipics_desktop.idc.talk_group import TalkGroupRow
from ipics_desktop.shared.bridge import NoticeBridge
from ipics_desktop.shared.style import IDLE, OFFLINE, ONLINE, TALKING, banner_css
from ipics_desktop.shared.thumbnails import Thumbnails

STATE_WORDS = {
    State.ONLINE: ("Online", ONLINE),
    State.OFFLINE: ("Offline - reconnecting", OFFLINE),
    State.CONNECTING: ("Connecting", OFFLINE),
    State.LOGGED_OUT: ("Logged out", IDLE),
}
BANNER_NOTICES = ("online", "offline", "reconnected", "redirected", "paused", "error")


class ConsoleWindow(QMainWindow):
    #: the dispatcher asked to log out
    logout_requested = Signal()
    #: the window was closed
    closed = Signal()

    def __init__(self, session: ConsoleSession, bridge: NoticeBridge, floor: TalkFloor, parent=None):
        super().__init__(parent)
        self.session, self.floor = session, floor
        self.tasks = Tasks()
        self.rows: dict[str, TalkGroupRow] = {}
        self._incident_id: str | None = None
        self.setObjectName("consoleWindow")
        self.setAccessibleName("IPICS Dispatch Console")
        self.resize(1200, 760)  # fits 1280x800 with room for a panel and decorations

        # -- top: who is logged in, the connection banner, log out
        self.user_label = QLabel(objectName="consoleUser")
        self.user_label.setProperty("role", "heading")
        # Labels whose text changes get no accessible name: a screen reader reads the text.
        self.now_talking = QLabel(objectName="nowTalking")
        self.logout_button = QPushButton("Log &Out", objectName="logoutButton")
        self.logout_button.setAccessibleName("Log out")
        self.logout_button.clicked.connect(self.logout_requested)
        top = QHBoxLayout()
        top.addWidget(self.user_label)
        top.addStretch(1)
        top.addWidget(self.now_talking)
        top.addSpacing(16)
        top.addWidget(self.logout_button)
        self.banner = QLabel(objectName="connectionBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        # -- left: channels and VTGs
        self.channels_box, self.channel_rows = _group_box("Channels", "channelList")
        self.vtgs_box, self.vtg_rows = _group_box("Virtual Talk Groups (VTGs)", "vtgList")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.channels_box)
        left_layout.addWidget(self.vtgs_box)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        # -- right: incidents, their photos and videos, and the activity log
        self.incident_list = QListWidget(objectName="incidentList")
        self.incident_list.setAccessibleName("Incidents")
        self.incident_list.currentItemChanged.connect(self._incident_chosen)
        self.incident_detail = QLabel(objectName="incidentDetail")
        self.incident_detail.setWordWrap(True)
        self.incident_files = QListWidget(objectName="incidentFiles")
        self.incident_files.setAccessibleName("Incident photos and videos")
        self.thumbnails = Thumbnails(self.incident_files, self.tasks)  # kept while offline
        incidents = QGroupBox("Incidents")
        inc_layout = QVBoxLayout(incidents)
        inc_layout.addWidget(self.incident_list, 1)
        inc_layout.addWidget(self.incident_detail)
        inc_layout.addWidget(QLabel("Photos and videos:"))
        inc_layout.addWidget(self.incident_files, 2)
        self.activity = QListWidget(objectName="activityLog")
        self.activity.setAccessibleName("Activity log")
        self.activity.setWordWrap(True)
        self.activity.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        activity = QGroupBox("Activity")
        QVBoxLayout(activity).addWidget(self.activity)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(incidents)
        right.addWidget(activity)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self.setCentralWidget(central)

        # -- status bar: server, role, connection state
        self.status_server = QLabel(objectName="statusServer")
        self.status_role = QLabel(objectName="statusRole")
        self.status_connection = QLabel(objectName="statusConnection")
        bar = QStatusBar(objectName="statusBar")
        bar.addWidget(self.status_server, 1)
        bar.addPermanentWidget(self.status_role)
        bar.addPermanentWidget(self.status_connection)
        self.setStatusBar(bar)

        bridge.changed.connect(self._on_session_change)
        self._unsubscribe = floor.subscribe(self._on_talker)
        self.redraw()

    # ----------------------------------------------------------------- render
    def redraw(self) -> None:
        s = self.session
        self.setWindowTitle(f"IPICS Dispatch Console - {s.username or 'not logged in'}")
        self.user_label.setText(f"{(s.user or {}).get('full_name') or s.username or ''}")
        self._render_groups(self.channel_rows, "channel", s.config.channels)
        self._render_groups(self.vtg_rows, "vtg", s.config.vtgs)
        self._render_incidents()
        self._render_status()
        self._render_now_talking()

    def _render_groups(self, layout: QVBoxLayout, kind: str, groups: list[dict]) -> None:
        wanted = [(f"{kind}:{g['id']}", g) for g in groups]
        keys = {k for k, _ in wanted}
        for key in [k for k in self.rows if k.startswith(kind + ":") and k not in keys]:
            gone = self.rows.pop(key)  # gone from the server's configuration (Ursula's Fire)
            gone.release()
            layout.removeWidget(gone)
            gone.deleteLater()
        for index, (key, group) in enumerate(wanted):
            row = self.rows.get(key)
            # A row talks as the user it was built for: another user gets new rows.
            if row is None or row.name != group["name"] or row.me != (self.session.username or ""):
                if row is not None:
                    layout.removeWidget(row)
                    row.deleteLater()
                row = self.rows[key] = TalkGroupRow(kind, group, self.floor, self.session.username or "")
            layout.insertWidget(index, row)  # re-inserting keeps the server's order
        box = layout.parentWidget()  # _group_box made the layout on its box, with this label
        empty = box.findChild(QLabel, f"{layout.objectName()}Empty") if box is not None else None
        assert empty is not None
        empty.setVisible(not groups)

    def _render_incidents(self) -> None:
        incidents = self.session.config.incidents
        self.incident_list.blockSignals(True)
        self.incident_list.clear()
        for incident in incidents:
            item = QListWidgetItem(incident["name"])
            item.setData(Qt.ItemDataRole.UserRole, incident["id"])
            self.incident_list.addItem(item)
            if incident["id"] == self._incident_id:
                self.incident_list.setCurrentItem(item)
        self.incident_list.blockSignals(False)
        if self.incident_list.currentItem() is None and incidents:
            self.incident_list.setCurrentRow(0)  # emits: shows the first one
        else:
            self._show_incident(self._incident_id)

    def _incident_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        self._incident_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        self._show_incident(self._incident_id)

    def _show_incident(self, incident_id: str | None) -> None:
        incident = next((i for i in self.session.config.incidents if i["id"] == incident_id), None)
        self.incident_files.clear()
        if incident is None:
            self.incident_detail.setText("No incident." if not self.session.config.incidents else "")
            return
        people = ", ".join(incident.get("participants", []))
        self.incident_detail.setText(f"{incident.get('description', '')}\nParticipants: {people}")
        for f in incident.get("files", []):
            self._add_file_item(incident["id"], f)
        if not incident.get("files"):
            self.incident_files.addItem("No photos or videos yet.")

    def _add_file_item(self, incident_id: str, f: dict) -> None:
        kind = (
            "photo"
            if f["content_type"].startswith("image/")
            else ("video" if f["content_type"].startswith("video/") else "file")
        )
        size = f"{f['size'] / 1024:.0f} KB"
        item = QListWidgetItem(f"{f['name']}  ({kind}, {size}, from {f.get('uploaded_by', '?')})")
        item.setData(Qt.ItemDataRole.UserRole, f["id"])
        if not f.get("available", True):
            item.setText(
                f"{f['name']}  ({kind}): not on this server; it did not replicate before the failover, upload it again"
            )
            item.setForeground(Qt.GlobalColor.darkRed)
        elif kind == "photo":
            icon = self.thumbnails.icon(f["id"], lambda: self.session.file_content(incident_id, f["id"]))
            if icon is not None:
                item.setIcon(icon)
        self.incident_files.addItem(item)

    def _render_status(self) -> None:
        line = self.session.status_line()
        words, colour = STATE_WORDS[self.session.state]
        known = self.session.known.get(line["server"]) if line["server"] else None
        which = f" ({known.server})" if known and known.server else ""
        self.status_server.setText(f"Server: {line['server'] or '-'}{which}")
        last = " (last known)" if self.session.state == State.OFFLINE else ""
        self.status_role.setText(f"Role: {line['role'] or '-'}{last}")
        self.status_connection.setText(words)
        self.status_connection.setStyleSheet(f"color: {colour}; font-weight: bold; padding: 0 8px;")

    def _render_now_talking(self) -> None:
        talking = [
            (row.name, self.floor.talker(row.group_id)) for row in self.rows.values() if self.floor.talker(row.group_id)
        ]
        text = ", ".join(f"{who} on {name}" for name, who in talking)
        self.now_talking.setText(f"Talking: {text}" if text else "Nobody is talking")
        self.now_talking.setStyleSheet(f"color: {TALKING if text else IDLE}; font-weight: bold; font-size: 11pt;")

    # ----------------------------------------------------------------- events
    def _on_session_change(self, notice: Notice | None) -> None:
        if notice is not None:
            stamp = time.strftime("%H:%M:%S")
            self.activity.insertItem(0, f"{stamp}  {notice.text}")
            if notice.kind in BANNER_NOTICES:
                self.show_banner(notice.kind, notice.text)
        self.redraw()

    def show_banner(self, kind: str, text: str) -> None:
        self.banner.setStyleSheet(banner_css(kind))
        self.banner.setText(sentence(text))
        self.banner.show()
        # Screen readers announce it, as they would an alert.
        QAccessible.updateAccessibility(QAccessibleEvent(self.banner, QAccessible.Event.Alert))

    def _on_talker(self, group_id: str, _talker: str | None) -> None:
        for row in self.rows.values():
            if row.group_id == group_id:
                row.show_talker(self.floor.talker(group_id))
        self._render_now_talking()

    def closeEvent(self, event) -> None:
        self.tasks.cancel_all()
        self.floor.release_all(self.session.username or "")
        self._unsubscribe()
        super().closeEvent(event)
        self.closed.emit()


def _group_box(title: str, name: str) -> tuple[QGroupBox, QVBoxLayout]:
    box = QGroupBox(title)
    box.setAccessibleName(title)
    layout = QVBoxLayout(box)
    layout.setObjectName(name)
    empty = QLabel("None assigned to you.", objectName=f"{name}Empty")
    empty.setStyleSheet(f"color: {IDLE};")
    layout.addWidget(empty)
    return box, layout
