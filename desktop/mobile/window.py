"""The IPICS mobile client: one phone-sized window over ``MobileClient``.

Pages: log in (server selector, user, password), the user's incidents, one incident
with its photos (thumbnails) and videos and the Upload photo / Upload video buttons.
Above the pages, always in view: the status line (Online / Offline - reconnecting,
server and role), the connection banner (the failover and the switch to the new active)
and the missing-uploads panel with an Upload again button per missing file.

It renders the client and forwards taps; network work runs as tasks on the qasync
loop, and the file dialog is opened without a nested event loop. The incident page (its
files and uploads) is a widget of its own (``incident_page.IncidentPage``).

Signals: ``closed`` (the window was closed and the client logged out).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.login import LoginForm
from ipics_clients.mobile import MobileClient, Upload
from ipics_clients.session import Notice, State, UploadError
from ipics_clients.tasks import Tasks
from ipics_clients.wording import sentence
from ipics_desktop.mobile.busy_bar import busy_bar
from ipics_desktop.mobile.incident_page import IncidentPage
from ipics_desktop.shared.bridge import NoticeBridge
from ipics_desktop.shared.server_selector import LoginFields, ServerSelector
from ipics_desktop.shared.style import ERROR, IDLE, OFFLINE, ONLINE, banner_css

log = logging.getLogger("ipics.mobile")

PHONE = QSize(390, 780)
STATE_WORDS = {
    State.ONLINE: ("Online", ONLINE),
    State.OFFLINE: ("Offline - reconnecting", OFFLINE),
    State.CONNECTING: ("Connecting", OFFLINE),
    State.LOGGED_OUT: ("Not logged in", IDLE),
}
# Bigger touch targets than the desktop's; colours from style.py.
PHONE_CSS = f"""
QWidget#mobileWindow QPushButton {{ min-height: 2.4em; padding: 0 12px; }}
QPushButton#mobileLoginButton, QPushButton[upload="true"] {{
    font-weight: bold; color: white; background: {ONLINE}; border: none; border-radius: 6px; }}
QPushButton#mobileLoginButton:disabled, QPushButton[upload="true"]:disabled {{ background: #9aa0a6; }}
QFrame#mobileMissingPanel {{ border: 2px solid {ERROR}; border-radius: 6px; background: #fce8e6; }}
QListWidget {{ font-size: 11pt; }}
"""


class MobileWindow(LoginFields, QWidget):
    closed = Signal()

    def __init__(self, client: MobileClient, parent=None):
        super().__init__(parent)
        self.client, self.session = client, client.session
        self.tasks = Tasks()
        self.form = LoginForm(
            self.session,
            login=client.login,
            say=self._login_message,
            busy=self.set_login_busy,
            select=self.refresh_selector,
            start=self.tasks.start,
            logged_in=self._logged_in,
        )
        self._missing_shown: tuple | None = None
        self.close_task: asyncio.Task | None = None
        self.setObjectName("mobileWindow")
        self.setAccessibleName("IPICS mobile client")
        self.setWindowTitle("IPICS Mobile")
        self.setStyleSheet(PHONE_CSS)
        self.resize(PHONE)

        self.status = QLabel(objectName="mobileStatus")
        self.status.setWordWrap(True)
        self.banner = QLabel(objectName="mobileBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.missing_panel = QFrame(objectName="mobileMissingPanel")
        self.missing_text = QLabel(objectName="mobileMissingText")
        self.missing_text.setWordWrap(True)
        self.missing_rows = QVBoxLayout()
        panel = QVBoxLayout(self.missing_panel)
        panel.addWidget(self.missing_text)
        panel.addLayout(self.missing_rows)
        self.missing_panel.hide()

        self.pages = QStackedWidget(objectName="mobilePages")
        self.login_page = self._build_login_page()
        self.incidents_page = self._build_incidents_page()
        self.incident_page = self._build_incident_page(client)
        for page in (self.login_page, self.incidents_page, self.incident_page):
            self.pages.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addWidget(self.missing_panel)
        layout.addWidget(self.pages, 1)

        self.bridge = NoticeBridge(client, self)
        self.bridge.changed.connect(self._on_change)
        self.refresh_selector()
        self.redraw()

    # ------------------------------------------------------------------ pages
    def _build_login_page(self) -> QWidget:
        page = QWidget(objectName="mobileLoginPage")
        heading = QLabel("IPICS Mobile")
        heading.setProperty("role", "heading")
        # The phone's width, not the longest label's.
        self.selector = ServerSelector(object_name="mobileServerSelector", accessible_name="Server", width_chars=20)
        self.selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.username = QLineEdit(objectName="mobileUserName")
        self.username.setAccessibleName("User name")
        self.password = QLineEdit(objectName="mobilePassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.start_login)
        self.login_button = QPushButton("Log In", objectName="mobileLoginButton")
        self.login_button.setAccessibleName("Log in")
        self.login_button.clicked.connect(self.start_login)
        self.login_message = QLabel(objectName="mobileLoginMessage")
        self.login_message.setWordWrap(True)
        self.login_message.hide()
        self.login_progress = busy_bar("mobileLoginProgress", "Logging in")

        layout = QVBoxLayout(page)
        layout.addWidget(heading)
        for text, widget in (("&Server", self.selector), ("&User name", self.username), ("&Password", self.password)):
            label = QLabel(text)
            label.setBuddy(widget)
            layout.addWidget(label)
            layout.addWidget(widget)
        layout.addSpacing(8)
        layout.addWidget(self.login_button)
        layout.addWidget(self.login_progress)
        layout.addWidget(self.login_message)
        layout.addStretch(1)
        return page

    def _build_incidents_page(self) -> QWidget:
        page = QWidget(objectName="mobileIncidentsPage")
        self.user_label = QLabel(objectName="mobileUser")
        self.user_label.setProperty("role", "heading")
        self.logout_button = QPushButton("Log Out", objectName="mobileLogoutButton")
        self.logout_button.setAccessibleName("Log out")
        self.logout_button.clicked.connect(self.logout)
        top = QHBoxLayout()
        top.addWidget(self.user_label, 1)
        top.addWidget(self.logout_button)
        self.incident_list = QListWidget(objectName="mobileIncidentList")
        self.incident_list.setAccessibleName("My incidents")
        self.incident_list.setWordWrap(True)
        self.incident_list.setSpacing(4)
        self.incident_list.itemClicked.connect(self._incident_tapped)
        self.incident_list.itemActivated.connect(self._incident_tapped)
        self.incidents_empty = QLabel("You take part in no incident.", objectName="mobileIncidentsEmpty")
        self.incidents_empty.setStyleSheet(f"color: {IDLE};")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(QLabel("My incidents"))
        layout.addWidget(self.incident_list, 1)
        layout.addWidget(self.incidents_empty)
        return page

    def _build_incident_page(self, client: MobileClient) -> IncidentPage:
        page = IncidentPage(client, self.tasks)
        page.back.connect(self.show_incidents)
        # Its widgets by the names the tests and the device launcher know.
        self.back_button, self.file_list = page.back_button, page.file_list
        self.incident_title, self.incident_detail = page.incident_title, page.incident_detail
        self.upload_photo_button, self.upload_video_button = page.upload_photo_button, page.upload_video_button
        self.upload_progress, self.upload_message = page.upload_progress, page.upload_message
        return page

    # ------------------------------------------------------------------- login
    async def _logged_in(self, _user: str, _password: str) -> None:
        self.password.clear()
        self.login_message.hide()
        self.show_incidents()

    def set_login_busy(self, busy: bool) -> None:
        for widget in (self.selector, self.username, self.password, self.login_button):
            widget.setEnabled(not busy)
        self.login_progress.setVisible(busy)

    def _login_message(self, kind: str, text: str) -> None:
        self.login_message.setStyleSheet(banner_css(kind))
        self.login_message.setText(text)
        self.login_message.show()

    def logout(self) -> None:
        self.tasks.start(self._logout())

    async def _logout(self) -> None:
        await self.client.logout()
        self.incident_page.incident_id = None
        self.banner.hide()
        self.pages.setCurrentWidget(self.login_page)
        self.refresh_selector(self.session.known.active())
        self._login_message("logged-out", "Logged out. The active server is selected.")
        self.redraw()

    # ------------------------------------------------------------- navigation
    def show_incidents(self) -> None:
        self.incident_page.incident_id = None
        self.pages.setCurrentWidget(self.incidents_page)
        self.redraw()

    def show_incident(self, incident_id: str) -> None:
        self.incident_page.open(incident_id)
        self.pages.setCurrentWidget(self.incident_page)
        self.redraw()

    def _incident_tapped(self, item: QListWidgetItem) -> None:
        self.show_incident(item.data(Qt.ItemDataRole.UserRole))

    # ----------------------------------------------------------------- render
    def redraw(self) -> None:
        self._render_status()
        self._render_missing()
        if self.session.state == State.LOGGED_OUT:
            return
        self.user_label.setText((self.session.user or {}).get("full_name") or self.session.username or "")
        self._render_incidents()
        if self.pages.currentWidget() is self.incident_page:
            self.incident_page.redraw()

    def _render_status(self) -> None:
        s = self.session
        words, colour = STATE_WORDS[s.state]
        known = s.known.get(s.server) if s.server else None
        parts = [words]
        if s.server:
            role = known.role if known and known.role else "role not known"
            which = f"{known.server}, " if known and known.server else ""
            last = "last known " if s.state == State.OFFLINE else ""
            parts.append(f"{s.server} ({which}{last}{role})")
        self.status.setText("  ·  ".join(parts))
        self.status.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def _render_incidents(self) -> None:
        incidents = self.client.incidents()
        self.incident_list.clear()
        for incident in incidents:
            files = self.client.files(incident)
            photos = sum(f["content_type"].startswith("image/") for f in files)
            videos = len(files) - photos
            missing = sum(not f.get("available", True) for f in files)
            summary = f"{photos} photo{'s' * (photos != 1)}, {videos} video{'s' * (videos != 1)}"
            if missing:
                summary += f" - {missing} missing on this server"
            item = QListWidgetItem(f"{incident['name']}\n{summary}")
            item.setData(Qt.ItemDataRole.UserRole, incident["id"])
            self.incident_list.addItem(item)
        self.incidents_empty.setVisible(not incidents)

    def _render_missing(self) -> None:
        missing = self.client.missing if self.session.state != State.LOGGED_OUT else []
        shown = tuple((u.local_id, u.kept, u.problem) for u in missing) + (self.session.state,)
        if shown == self._missing_shown:
            return  # unchanged: keep the buttons (and the keyboard focus on them)
        self._missing_shown = shown
        while self.missing_rows.count():
            item = self.missing_rows.takeAt(0)  # not None: the layout has one
            row = item.widget() if item is not None else None  # every item is a row's widget
            if row is not None:
                row.setParent(None)  # gone now, not at the next loop turn
        self.missing_panel.setVisible(bool(missing))
        if not missing:
            return
        count = f"{len(missing)} upload{'s' * (len(missing) != 1)}"
        self.missing_text.setText(
            f"{count} missing on this server. They did not reach it before the failover; your phone still has them:"
        )
        self.missing_text.setStyleSheet(f"color: {ERROR}; font-weight: bold;")
        for upload in missing:
            self.missing_rows.addWidget(self._missing_row(upload))
        QAccessible.updateAccessibility(QAccessibleEvent(self.missing_text, QAccessible.Event.Alert))

    def _missing_row(self, upload: Upload) -> QWidget:
        row = QWidget(objectName="mobileMissingRow")
        label = QLabel(f"{upload.name} ({upload.kind}, {upload.incident_name})")
        label.setWordWrap(True)
        label.setToolTip(upload.problem or "")
        button = QPushButton("Upload again", objectName=f"mobileUploadAgain:{upload.name}")
        button.setAccessibleName(f"Upload {upload.name} again")
        button.setEnabled(self.session.state == State.ONLINE and upload.kept)
        if not upload.kept:
            button.setToolTip("The copy on this device is gone: choose the file again")
        button.clicked.connect(lambda _checked=False, u=upload: self.upload_again(u))
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label, 1)
        layout.addWidget(button)
        return row

    # ----------------------------------------------------------------- upload
    @property
    def incident_id(self) -> str | None:
        """The incident shown (None: the list or the login page)."""
        return self.incident_page.incident_id

    def upload_path(self, path: Path, kind: str | None = None) -> asyncio.Task:
        """Upload a file to the incident shown (what the file dialog does)."""
        return self.incident_page.upload_path(path, kind)

    def upload_bytes(self, name: str, content: bytes, kind: str | None = None) -> asyncio.Task:
        return self.incident_page.upload_bytes(name, content, kind)

    def upload_again(self, upload: Upload) -> asyncio.Task:
        for button in self.missing_panel.findChildren(QPushButton):
            button.setEnabled(False)
        return self.tasks.start(self._run_upload_again(upload))

    async def _run_upload_again(self, upload: Upload) -> None:
        try:
            await self.client.upload_again(upload)
        except UploadError as exc:
            self.show_banner("error", f"{upload.name} not uploaded again: {exc}.")
        else:
            self.show_banner("reconnected", f"{upload.name} uploaded again to {self.session.server}.")
        finally:
            self._missing_shown = None  # rebuilt: the buttons enabled again
            self.redraw()

    # ----------------------------------------------------------------- events
    def _on_change(self, notice: Notice | None) -> None:
        if notice is not None:
            self._show_notice(notice)
        self.redraw()

    def _show_notice(self, notice: Notice) -> None:
        s = self.session
        if self.pages.currentWidget() is self.login_page:
            self.form.on_notice(notice)
            return
        if notice.kind in ("offline", "reconnected"):
            self.upload_message.hide()  # an upload's outcome before the switch: old news
        if notice.kind == "offline":
            self.show_banner(
                "offline",
                f"Offline: {s.server} does not answer. Your incidents stay on screen; "
                "the phone switches to the new active server by itself.",
            )
        elif notice.kind == "reconnected":
            self.show_banner("reconnected", sentence(notice.text, full_stop=True))
        elif notice.kind == "error":
            self.show_banner("error", sentence(notice.text, full_stop=True))

    def show_banner(self, kind: str, text: str) -> None:
        self.banner.setStyleSheet(banner_css(kind))
        self.banner.setText(text)
        self.banner.show()
        QAccessible.updateAccessibility(QAccessibleEvent(self.banner, QAccessible.Event.Alert))

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        if self.close_task is None:
            self.tasks.cancel_all()
            self.close_task = asyncio.get_event_loop().create_task(self._close())

    async def _close(self) -> None:
        try:
            await self.client.close()
        except Exception:  # closing anyway: say why the logout did not finish
            log.warning("logout on close failed", exc_info=True)
        finally:
            self.closed.emit()
