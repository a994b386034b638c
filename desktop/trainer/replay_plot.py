"""The replay's timeline: the whole run's events, drawn once, with a cursor at the
replayed time and what comes after it dimmed.

Scrubbing a two-hour run moves the cursor many times a second: the events are painted
into an image once (again only when the size or the axis changes) and each move only
draws that image, the dimmed future and the cursor line.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from ipics_desktop.shared.style import ERROR
from ipics_desktop.trainer.timeline_plot import TimelinePlot


class ReplayPlot(TimelinePlot):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("replayTimeline")
        self.setAccessibleName("Timeline of the recorded run")
        #: the replayed time on the plot's axis (emulated or real seconds)
        self.replayed: tuple[float, float] = (0.0, 0.0)  # (real, emulated)
        self._image: QImage | None = None
        self._image_key: tuple | None = None

    def set_events(self, events) -> None:
        self._image = None
        super().set_events(events)

    def set_axis(self, axis: str) -> None:
        self._image = None
        super().set_axis(axis)

    def set_cursor(self, at: float, emulated: float) -> None:
        if (at, emulated) != self.replayed:
            self.replayed = (at, emulated)
            self.update()

    def cursor_x(self) -> float:
        """The cursor's x in the widget (for tests and the overlay)."""
        t = self.replayed[1] if self.axis == "emulated" else self.replayed[0]
        return self._x(self._plot_rect(self.size()), t, self._span())

    def paintEvent(self, _event) -> None:
        size = self.size()
        key = (size.width(), size.height(), self.axis, len(self.events))
        if self._image is None or self._image_key != key:
            self._image, self._image_key = self.render_image(size), key
        p = QPainter(self)
        p.drawImage(0, 0, self._image)
        plot = self._plot_rect(size)
        x = min(max(self.cursor_x(), plot.left()), plot.right())
        p.fillRect(QRectF(x, plot.top(), plot.right() - x, plot.height()), QColor(255, 255, 255, 150))
        p.setPen(QPen(QColor(ERROR), 2))
        p.drawLine(QPointF(x, plot.top() - 4), QPointF(x, plot.bottom() + 4))
        p.end()
