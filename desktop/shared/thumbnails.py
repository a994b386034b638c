"""Photos' thumbnails in a list of an incident's files (the IDC's incident pane, the
mobile client's incident page): each fetched once, in the background, and kept while
offline with the last configuration; fetched again only when a fetch found nothing
(offline, or a file that never replicated), with the next listing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygon
from PySide6.QtWidgets import QListWidget

from ipics_clients.tasks import Tasks

SIZE = QSize(96, 72)


class Thumbnails:
    """The icons of ``files``' photos; an item's data is its file's id."""

    def __init__(self, files: QListWidget, tasks: Tasks):
        self.files, self.tasks = files, tasks
        files.setIconSize(SIZE)
        self._icons: dict[str, QIcon] = {}
        self._asked: set[str] = set()  # fetched or being fetched: not again on every pushed change
        self._video: QIcon | None = None

    def icon(self, file_id: str, content: Callable[[], Awaitable[bytes | None]]) -> QIcon | None:
        """The photo's icon when it is here; else None, and ``content()`` is fetched once
        (the item gets its icon when it arrives)."""
        if file_id in self._icons:
            return self._icons[file_id]
        if file_id not in self._asked:
            self._asked.add(file_id)
            self.tasks.start(self._load(file_id, content))
        return None

    def video(self) -> QIcon:
        """A play symbol where a photo has its thumbnail: the names line up."""
        if self._video is None:
            canvas = QPixmap(SIZE)
            canvas.fill(Qt.GlobalColor.transparent)
            painter = QPainter(canvas)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(canvas.rect().adjusted(2, 2, -2, -2), QColor("#3c4043"))
            w, h = SIZE.width(), SIZE.height()
            painter.setBrush(QColor("white"))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPolygon(
                QPolygon(
                    [QPoint(w // 2 - 10, h // 2 - 14), QPoint(w // 2 - 10, h // 2 + 14), QPoint(w // 2 + 14, h // 2)]
                )
            )
            painter.end()
            self._video = QIcon(canvas)
        return self._video

    async def _load(self, file_id: str, content: Callable[[], Awaitable[bytes | None]]) -> None:
        data = await content()
        if data is None:
            self._asked.discard(file_id)  # offline: try again with the next listing
            return
        pixmap = QPixmap()
        if not pixmap.loadFromData(data):
            return
        # Scaled for the screen's pixel density: sharp on a high-DPI screen too.
        ratio = self.files.devicePixelRatioF()
        thumb = pixmap.scaled(
            SIZE * ratio, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        thumb.setDevicePixelRatio(ratio)
        icon = self._icons[file_id] = QIcon(thumb)
        for i in range(self.files.count()):
            item = self.files.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == file_id:
                item.setIcon(icon)
