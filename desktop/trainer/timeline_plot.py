"""The timeline plot: the run's events in lanes, on emulated or real seconds.

One lane per kind of ``ipics_lab.trainer.timeline`` event (heartbeats, misses, role
changes, clients, faults, actions, messages, narration, expectations); the lane names
on the left are the legend, with the two servers' colours below the axis.  Primary
events sit in the upper half of a lane, secondary ones in the lower half.  Faults,
actions and role changes carry a short label where there is room; every marker has its
sentence as a tooltip.  ``export_png`` draws the same picture into a file.

The plot keeps its own list of events (``add_event``/``set_events``): it never holds
the timeline, so it can be drawn from a test's hand-made events too.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ipics_desktop.shared.style import ERROR, IDLE, OFFLINE, ONLINE
from ipics_lab.trainer.lanes import (
    AXES,
    LABELLED,
    LANES,
    OPTIONAL,
    SERVER_COLOURS,
    Lane,
    axis_step,
    client_colour,
    format_seconds,
    short_label,
)
from ipics_lab.trainer.lanes import server_colour as _server_colour

LEFT, RIGHT, TOP, BOTTOM = 150, 16, 10, 46
HIT_PX = 7

#: as many events as the timeline keeps
MAX_EVENTS = 20_000


class TimelinePlot(QWidget):
    """A painted plot of timeline events; hover a marker for its sentence."""

    def __init__(self, parent=None):
        super().__init__(parent)
        # Bounded like the timeline; the lane counts and the hover positions are kept
        # up to date as events come, so neither a new event nor a mouse move walks
        # 20,000 events on the GUI loop.
        self.events: deque = deque(maxlen=MAX_EVENTS)
        self._counts: Counter = Counter()
        self._positions: tuple[tuple, list] | None = None  # (size, span, axis, count) -> positions
        self.axis = "emulated"
        #: a time axis (low, high) of its own instead of the events' span: two runs compared
        self.fixed_span: tuple[float, float] | None = None
        self.setObjectName("timelinePlot")
        self.setAccessibleName("Timeline of the run")
        self.setMouseTracking(True)
        self.setMinimumSize(480, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(900, 300)

    # ------------------------------------------------------------------ data
    def add_event(self, event) -> None:
        if len(self.events) == self.events.maxlen:
            self._counts[self.events[0].kind] -= 1  # the oldest drops out
        self.events.append(event)
        self._counts[event.kind] += 1
        self._positions = None
        self._describe()
        self.update()

    def set_events(self, events) -> None:
        self.events = deque(events, maxlen=MAX_EVENTS)
        self._counts = Counter(e.kind for e in self.events)
        self._positions = None
        self._describe()
        self.update()

    def set_axis(self, axis: str) -> None:
        if axis not in AXES:
            raise ValueError(f"unknown time axis {axis!r}; one of {', '.join(AXES)}")
        self.axis = axis
        self.update()

    def time_of(self, event) -> float:
        return event.emulated if self.axis == "emulated" else event.at

    def counts(self) -> dict[str, int]:
        """How many events each lane holds (for tests and the accessible description)."""
        return {lane.kind: self._counts[lane.kind] for lane in LANES}

    def lanes(self) -> tuple[Lane, ...]:
        """The lanes drawn: every one but the modes' lanes that hold no event."""
        return tuple(lane for lane in LANES if lane.kind not in OPTIONAL or self._counts[lane.kind])

    def _describe(self) -> None:
        shown = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n)
        self.setAccessibleDescription(f"{len(self.events)} events" + (f": {shown}" if shown else ""))

    # ------------------------------------------------------------------ geometry
    def _span(self) -> tuple[float, float]:
        """From the first event (the lab's start-up is not part of the run) to the last."""
        if self.fixed_span is not None:
            return self.fixed_span
        # Events come in time order: the first and the last are the extremes.
        low = self.time_of(self.events[0]) if self.events else 0.0
        high = max(low + 10.0, self.time_of(self.events[-1]) if self.events else 0.0)
        return low - (high - low) * 0.01, high + (high - low) * 0.03

    def _plot_rect(self, size: QSize) -> QRectF:
        return QRectF(LEFT, TOP, max(10, size.width() - LEFT - RIGHT), max(10, size.height() - TOP - BOTTOM))

    def _lane_rect(self, plot: QRectF, index: int) -> QRectF:
        h = plot.height() / len(self.lanes())
        return QRectF(plot.left(), plot.top() + index * h, plot.width(), h)

    def _x(self, plot: QRectF, t: float, span: tuple[float, float]) -> float:
        low, high = span
        return plot.left() + (t - low) / (high - low) * plot.width()

    def _y(self, lane: QRectF, server: str | None) -> float:
        if server == "primary":
            return lane.top() + lane.height() * 0.32
        if server == "secondary":
            return lane.top() + lane.height() * 0.68
        return lane.center().y()

    def marker_positions(self, size: QSize | None = None) -> list[tuple[QPointF, object]]:
        size = size or self.size()
        plot, span = self._plot_rect(size), self._span()
        lanes = self.lanes()
        key = (size.width(), size.height(), span, self.axis, len(self.events), len(lanes))
        if self._positions is not None and self._positions[0] == key:
            return self._positions[1]
        index = {lane.kind: i for i, lane in enumerate(lanes)}
        found = []
        for event in self.events:
            if event.kind not in index:
                continue
            lane = self._lane_rect(plot, index[event.kind])
            found.append((QPointF(self._x(plot, self.time_of(event), span), self._y(lane, event.server)), event))
        self._positions = (key, found)
        return found

    def event_at(self, pos: QPointF):
        """The event whose marker is under ``pos`` (within a few pixels), or None."""
        best, best_d = None, float(HIT_PX)
        for point, event in self.marker_positions():
            d = math.hypot(point.x() - pos.x(), point.y() - pos.y())
            if d <= best_d:
                best, best_d = event, d
        return best

    def tooltip_for(self, event) -> str:
        where = f" ({event.server})" if event.server else ""
        result = "" if event.ok is None or event.kind != "expectation" else ("  PASSED" if event.ok else "  FAILED")
        return f"{event.emulated:.0f} s emulated, {event.at:.1f} s real\n{event.kind}{where}: {event.text}{result}"

    def mouseMoveEvent(self, event) -> None:
        found = self.event_at(event.position())
        if found is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_for(found), self)
        super().mouseMoveEvent(event)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        self.paint(p, self.size())
        p.end()

    def render_image(self, size: QSize | None = None) -> QImage:
        size = size or QSize(max(self.width(), 1200), max(self.height(), 420))
        image = QImage(size, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        p = QPainter(image)
        self.paint(p, size)
        p.end()
        return image

    def export_png(self, path: str | Path, size: QSize | None = None) -> Path:
        """Write the plot as a PNG (at least 1200x420 pixels); OSError if it cannot be written."""
        path = Path(path)
        if not self.render_image(size).save(str(path), "PNG"):
            raise OSError(f"cannot write {path}")
        return path

    def paint(self, p: QPainter, size: QSize) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        plot, span = self._plot_rect(size), self._span()
        font = QFont(self.font())
        p.setFont(font)
        metrics = p.fontMetrics()
        # lanes and their names (the legend)
        lanes = self.lanes()
        for i, lane in enumerate(lanes):
            rect = self._lane_rect(plot, i)
            if i % 2 == 0:
                p.fillRect(rect, QColor("#f6f8fa"))
            p.setPen(QColor(lane.colour))
            p.drawText(
                QRectF(6, rect.top(), LEFT - 12, rect.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                lane.title,
            )
        # time axis
        low, high = span
        # Whole minutes on a long run: 1, 2, 5, 10... minutes between grid lines.
        step = axis_step(high - low)
        p.setPen(QPen(QColor("#d0d4d9"), 1))
        t = math.ceil(low / step) * step
        while t <= high:
            x = self._x(plot, t, span)
            p.setPen(QPen(QColor("#d0d4d9"), 1))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.setPen(QColor(IDLE))
            p.drawText(
                QRectF(x - 40, plot.bottom() + 2, 80, metrics.height()),
                Qt.AlignmentFlag.AlignCenter,
                format_seconds(round(t, 6), high - low),
            )
            t += step
        p.setPen(QPen(QColor("#9aa3ad"), 1))
        p.drawRect(plot)
        axis_y = plot.bottom() + metrics.height() + 4
        p.setPen(QColor(IDLE))
        unit = AXES[self.axis] + (" (m:ss)" if high - low >= 300 else "")
        p.drawText(
            QRectF(plot.left(), axis_y, plot.width() / 2, metrics.height()), Qt.AlignmentFlag.AlignLeft, f"time: {unit}"
        )
        legend_x = plot.right()
        for server in ("secondary", "primary"):
            words = f"\u25cf {server}"
            w = metrics.horizontalAdvance(words) + 14
            legend_x -= w
            p.setPen(QColor(SERVER_COLOURS[server]))
            p.drawText(QRectF(legend_x, axis_y, w, metrics.height()), Qt.AlignmentFlag.AlignLeft, words)
        # markers
        index = {lane.kind: i for i, lane in enumerate(lanes)}
        label_end: dict[tuple[str, str | None], float] = {}  # per lane and half: labels never overlap
        p.setClipRect(plot.adjusted(-6, -2, 6, 2))
        small = QFont(font)  # marker labels: a primary's and a secondary's share a lane
        small.setPointSizeF(font.pointSizeF() * 0.85)
        p.setFont(small)
        metrics = p.fontMetrics()
        for event in self.events:
            if event.kind not in index:
                continue
            lane_def = lanes[index[event.kind]]
            lane_rect = self._lane_rect(plot, index[event.kind])
            x, y = self._x(plot, self.time_of(event), span), self._y(lane_rect, event.server)
            r = max(3.0, min(6.0, lane_rect.height() * 0.22))
            self._marker(p, event, lane_def, QPointF(x, y), r)
            row = (event.kind, event.server)
            if event.kind in LABELLED and x > label_end.get(row, -1e9) + 4:
                label = short_label(event.text)
                w = metrics.horizontalAdvance(label)
                p.setPen(QColor(_server_colour(event.server, lane_def.colour)))
                left = x + r + 3
                if left + w > plot.right() and x - r - 3 - w > label_end.get(row, -1e9) + 4:
                    left = x - r - 3 - w  # near the right edge: the label goes before its marker
                p.drawText(
                    QRectF(left, y - metrics.height() / 2, w + 2, metrics.height()),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    label,
                )
                label_end[row] = max(x, left + w)
        p.setClipping(False)

    def _marker(self, p: QPainter, event, lane: Lane, at: QPointF, r: float) -> None:
        kind = event.kind
        colour = QColor(_server_colour(event.server, lane.colour))
        if kind == "heartbeat":
            p.setPen(QPen(colour, 2))
            p.drawLine(QPointF(at.x(), at.y() - r), QPointF(at.x(), at.y() + r))
            return
        if kind == "missed":
            p.setPen(QPen(QColor(OFFLINE), 2.5))
            p.drawLine(QPointF(at.x() - r, at.y() - r), QPointF(at.x() + r, at.y() + r))
            p.drawLine(QPointF(at.x() - r, at.y() + r), QPointF(at.x() + r, at.y() - r))
            return
        if kind == "expectation":
            colour = QColor(ONLINE if event.ok else ERROR if event.ok is False else IDLE)
        elif kind == "client":
            colour = QColor(client_colour(event.text, lane.colour))
        elif kind in ("fault", "message", "narration"):
            colour = QColor(lane.colour)
        elif kind in OPTIONAL:  # ok: a vote granted, writes safe; not ok: refused, unanswered, unsafe
            colour = QColor(lane.colour if event.ok is None else ONLINE if event.ok else ERROR)
        p.setPen(QPen(colour.darker(130), 1))
        p.setBrush(colour)
        if kind == "fault":  # a triangle pointing down: something was done to a server
            p.drawPolygon(
                QPolygonF(
                    [QPointF(at.x() - r, at.y() - r), QPointF(at.x() + r, at.y() - r), QPointF(at.x(), at.y() + r)]
                )
            )
        elif kind == "role":
            path = QPainterPath()
            path.moveTo(at.x(), at.y() - r)
            path.lineTo(at.x() + r, at.y())
            path.lineTo(at.x(), at.y() + r)
            path.lineTo(at.x() - r, at.y())
            path.closeSubpath()
            p.drawPath(path)
        elif kind in ("action", "narration"):
            p.drawRect(QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r))
        else:
            p.drawEllipse(at, r, r)
