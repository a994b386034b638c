"""The IPICS mobile client: one phone-sized window over ``MobileClient``.

Pages: log in (server selector, user, password), the user's incidents, one incident
with its photos (thumbnails) and videos and the Upload photo / Upload video buttons.
Above the pages, always in view: the status line (Online / Offline - reconnecting,
server and role), the connection banner (the failover and the switch to the new active)
and the missing-uploads panel with an Upload again button per missing file.

It renders the client and forwards taps; network work runs as tasks on the qasync
loop, and the file dialog is opened without a nested event loop.

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
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.login import LoginForm
from ipics_clients.mobile import MediaError, MobileClient, Upload, dialog_filter
from ipics_clients.session import Notice, State, UploadError
from ipics_clients.tasks import Tasks
from ipics_clients.wording import sentence
from ipics_desktop.shared.bridge import NoticeBridge
from ipics_desktop.shared.server_selector import LoginFields, ServerSelector
from ipics_desktop.shared.style import ERROR, IDLE, OFFLINE, ONLINE, banner_css
from ipics_desktop.shared.thumbnails import Thumbnails

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
        self.incident_id: str | None = None
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
        self.incident_page = self._build_incident_page()
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
        self.login_progress = _busy_bar("mobileLoginProgress", "Logging in")

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

    def _build_incident_page(self) -> QWidget:
        page = QWidget(objectName="mobileIncidentPage")
        self.back_button = QPushButton("< Incidents", objectName="mobileBackButton")
        self.back_button.setAccessibleName("Back to my incidents")
        self.back_button.clicked.connect(self.show_incidents)
        self.incident_title = QLabel(objectName="mobileIncidentTitle")
        self.incident_title.setProperty("role", "heading")
        self.incident_title.setWordWrap(True)
        self.incident_detail = QLabel(objectName="mobileIncidentDetail")
        self.incident_detail.setWordWrap(True)
        self.file_list = QListWidget(objectName="mobileFileList")
        self.file_list.setAccessibleName("Photos and videos")
        self.thumbnails = Thumbnails(self.file_list, self.tasks)
        self.file_list.setWordWrap(True)
        self.upload_photo_button = QPushButton("Upload photo", objectName="mobileUploadPhotoButton")
        self.upload_photo_button.setAccessibleName("Upload photo")
        self.upload_video_button = QPushButton("Upload video", objectName="mobileUploadVideoButton")
        self.upload_video_button.setAccessibleName("Upload video")
        for button, kind in ((self.upload_photo_button, "photo"), (self.upload_video_button, "video")):
            button.setProperty("upload", True)
            button.clicked.connect(lambda _checked=False, k=kind: self.choose_file(k))
        buttons = QHBoxLayout()
        buttons.addWidget(self.upload_photo_button)
        buttons.addWidget(self.upload_video_button)
        self.upload_progress = _busy_bar("mobileUploadProgress", "Uploading")
        self.upload_message = QLabel(objectName="mobileUploadMessage")
        self.upload_message.setWordWrap(True)
        self.upload_message.hide()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.incident_title)
        layout.addWidget(self.incident_detail)
        layout.addWidget(QLabel("Photos and videos"))
        layout.addWidget(self.file_list, 1)
        layout.addWidget(self.upload_progress)
        layout.addWidget(self.upload_message)
        layout.addLayout(buttons)
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
        self.incident_id = None
        self.banner.hide()
        self.pages.setCurrentWidget(self.login_page)
        self.refresh_selector(self.session.known.active())
        self._login_message("logged-out", "Logged out. The active server is selected.")
        self.redraw()

    # ------------------------------------------------------------- navigation
    def show_incidents(self) -> None:
        self.incident_id = None
        self.pages.setCurrentWidget(self.incidents_page)
        self.redraw()

    def show_incident(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.upload_message.hide()
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
            self._render_incident()

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

    def _render_incident(self) -> None:
        incident = self.client.incident(self.incident_id)
        self.file_list.clear()
        if incident is None:  # gone from this server's listing
            self.incident_title.setText("Incident not on this server")
            self.incident_detail.setText("It is not in your incidents any more.")
            self._uploads_enabled(False)
            return
        self._uploads_enabled(True)
        self.incident_title.setText(incident["name"])
        detail = incident.get("description") or ""
        people = ", ".join(incident.get("participants", []))
        self.incident_detail.setText(f"{detail}\nParticipants: {people}".strip())
        files = sorted(self.client.files(incident), key=lambda f: f.get("uploaded_at", 0), reverse=True)
        for f in files:  # the newest first, as a phone's gallery
            self.file_list.addItem(self._file_item(incident["id"], f))
        if not files:
            self.file_list.addItem("No photos or videos yet.")

    def _file_item(self, incident_id: str, f: dict) -> QListWidgetItem:
        photo = f["content_type"].startswith("image/")
        size = f"{f['size'] / 1024:.0f} KB"
        who = "you" if f.get("uploaded_by") == self.session.username else f.get("uploaded_by", "?")
        item = QListWidgetItem(f"{f['name']}\n{'photo' if photo else 'video'} · {size} · from {who}")
        item.setData(Qt.ItemDataRole.UserRole, f["id"])
        mine = self.client.upload_for(f["id"])
        if not f.get("available", True):
            action = "Upload again (above)" if mine and mine.kept else f"ask {who} to upload it again"
            item.setText(f"{f['name']}\nMISSING on this server: it did not replicate before the failover. {action}")
            item.setForeground(Qt.GlobalColor.darkRed)
        if not photo:
            item.setIcon(self.thumbnails.video())
            return item
        icon = self.thumbnails.icon(f["id"], lambda: self._photo(incident_id, f, mine))
        if icon is not None:
            item.setIcon(icon)
        return item

    async def _photo(self, incident_id: str, f: dict, mine: Upload | None) -> bytes | None:
        if f.get("available", True):
            return await self.session.file_content(incident_id, f["id"])
        # The user's own missing photo: from the copy kept for Upload again.
        return await self.client.local_copy(mine) if mine else None

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
    def choose_file(self, kind: str) -> None:
        """Upload photo / Upload video: a file dialog, opened without a nested loop."""
        dialog = QFileDialog(self, f"Upload {kind}", str(Path.home()), dialog_filter(kind))
        dialog.setObjectName("mobileFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.upload_path(Path(path), kind))
        dialog.open()

    def upload_path(self, path: Path, kind: str | None = None) -> asyncio.Task:
        """Upload a file to the incident shown (what the file dialog does)."""
        return self._upload(self.client.upload_path(self.incident_id, Path(path), kind), Path(path).name)

    def upload_bytes(self, name: str, content: bytes, kind: str | None = None) -> asyncio.Task:
        return self._upload(self.client.upload(self.incident_id, name, content, kind), name)

    def _upload(self, coro, name: str) -> asyncio.Task:
        self._uploads_enabled(False)
        self.upload_progress.show()
        self._upload_message("redirected", f"Uploading {name} ...")
        return self.tasks.start(self._run_upload(coro, name))

    async def _run_upload(self, coro, name: str) -> None:
        try:
            await coro
        except (MediaError, UploadError) as exc:
            self._upload_message("error", f"Not uploaded: {exc}.")
        except Exception as exc:  # a disk error keeping the copy: say so, stay usable
            log.warning("upload failed", exc_info=True)
            self._upload_message("error", f"Not uploaded: {type(exc).__name__}: {exc}")
        else:
            self._upload_message("online", f"{name} uploaded.")
        finally:
            self.upload_progress.hide()
            self._uploads_enabled(self.client.incident(self.incident_id) is not None)

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

    def _uploads_enabled(self, enabled: bool) -> None:
        for button in (self.upload_photo_button, self.upload_video_button):
            button.setEnabled(enabled)

    def _upload_message(self, kind: str, text: str) -> None:
        self.upload_message.setStyleSheet(banner_css(kind))
        self.upload_message.setText(text)
        self.upload_message.show()

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


def _busy_bar(name: str, accessible: str) -> QProgressBar:
    bar = QProgressBar(objectName=name)
    bar.setAccessibleName(accessible)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(6)
    bar.hide()
    return bar
