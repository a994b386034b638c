"""The mobile client's incident page (``mobileIncidentPage``): one incident with its
photos (thumbnails) and videos, the newest first, what is missing on this server after
a failover, and the Upload photo / Upload video buttons with the upload's progress and
outcome.

Uploads run as tasks on the loop; the file dialog opens without a nested event loop.

Signals: ``back`` (the "< Incidents" button: the window shows the list again).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.mobile import MediaError, MobileClient, Upload, dialog_filter
from ipics_clients.session import UploadError
from ipics_clients.tasks import Tasks
from ipics_desktop.mobile.busy_bar import busy_bar
from ipics_desktop.shared.style import banner_css
from ipics_desktop.shared.thumbnails import Thumbnails

log = logging.getLogger("ipics.mobile")


class IncidentPage(QWidget):
    back = Signal()

    def __init__(self, client: MobileClient, tasks: Tasks, parent=None):
        super().__init__(parent, objectName="mobileIncidentPage")
        self.client, self.session, self.tasks = client, client.session, tasks
        self.incident_id: str | None = None
        self.back_button = QPushButton("< Incidents", objectName="mobileBackButton")
        self.back_button.setAccessibleName("Back to my incidents")
        self.back_button.clicked.connect(self.back)
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
        self.upload_progress = busy_bar("mobileUploadProgress", "Uploading")
        self.upload_message = QLabel(objectName="mobileUploadMessage")
        self.upload_message.setWordWrap(True)
        self.upload_message.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.incident_title)
        layout.addWidget(self.incident_detail)
        layout.addWidget(QLabel("Photos and videos"))
        layout.addWidget(self.file_list, 1)
        layout.addWidget(self.upload_progress)
        layout.addWidget(self.upload_message)
        layout.addLayout(buttons)

    def open(self, incident_id: str) -> None:
        """Show ``incident_id`` (drawn by ``redraw``); the last upload's outcome is old news."""
        self.incident_id = incident_id
        self.upload_message.hide()

    # ----------------------------------------------------------------- render
    def redraw(self) -> None:
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

    def _uploads_enabled(self, enabled: bool) -> None:
        for button in (self.upload_photo_button, self.upload_video_button):
            button.setEnabled(enabled)

    def _upload_message(self, kind: str, text: str) -> None:
        self.upload_message.setStyleSheet(banner_css(kind))
        self.upload_message.setText(text)
        self.upload_message.show()
