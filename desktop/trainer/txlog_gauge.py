"""The transaction-log gauge: how full the active's database transaction log is.

Chapter, "Reestablishing HA Configuration After Prolonged Server Downtime": a message at
75 % of capacity, another at 90 % with HA unconfigured automatically, DDRBLOCK at 100 %.
The bar is green below 75 %, amber from 75 %, red from 90 %; both marks are drawn and
labelled, and the fill is written in words beside the bar (colour is never the only cue).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ipics_desktop.shared.style import ERROR, IDLE, OFFLINE, ONLINE

WARN_PERCENT = 75.0
UNCONFIGURE_PERCENT = 90.0
MARKS = (WARN_PERCENT, UNCONFIGURE_PERCENT)
TRACK = "#eceff1"
TEXT = "#1c2630"


def fill_colour(percent: float) -> str:
    """Green below 75 %, amber from 75 %, red from 90 %."""
    if percent >= UNCONFIGURE_PERCENT:
        return ERROR
    if percent >= WARN_PERCENT:
        return OFFLINE
    return ONLINE


def gauge_words(percent: float, state: str | None) -> str:
    """The fill in words: ``12 % of the transaction log``, with the chapter's state."""
    words = f"{percent:.0f} %"
    if state and state not in ("normal",):
        words += f"  ({state})"
    return words


class TxlogGauge(QWidget):
    """A horizontal bar with the 75 % and 90 % marks; ``set_percent`` moves it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.percent = 0.0
        self.state: str | None = None
        self.known = True  # False: the server does not answer, the bar is greyed
        self.setObjectName("txlogGauge")
        self.setMinimumSize(180, 30)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(260, 32)

    def set_percent(self, percent: float, state: str | None = None, *, known: bool = True) -> None:
        percent = max(0.0, min(100.0, float(percent or 0.0)))
        if (percent, state, known) == (self.percent, self.state, self.known):
            return
        self.percent, self.state, self.known = percent, state, known
        self._describe()
        self.update()

    @property
    def colour(self) -> str:
        return fill_colour(self.percent) if self.known else IDLE

    def text(self) -> str:
        if not self.known:
            return "transaction log: unknown (server unreachable)"
        return f"transaction log {gauge_words(self.percent, self.state)}"

    def _describe(self) -> None:
        self.setAccessibleName("Transaction log fill")
        self.setAccessibleDescription(self.text())
        self.setToolTip(
            f"{self.text()}\nAt 75 % a message; at 90 % HA is unconfigured automatically; at 100 % DDRBLOCK."
        )

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        words = gauge_words(self.percent, self.state) if self.known else "unknown"
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        text_w = max(70, p.fontMetrics().horizontalAdvance(words) + 10)
        mark_h = p.fontMetrics().height() - 2
        bar = QRectF(1, mark_h, max(10, self.width() - text_w - 4), self.height() - mark_h - 2)
        p.setPen(QPen(QColor("#9aa3ad"), 1))
        p.setBrush(QColor(TRACK))
        p.drawRoundedRect(bar, 4, 4)
        if self.known and self.percent > 0:
            filled = QRectF(bar.left(), bar.top(), bar.width() * self.percent / 100.0, bar.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(self.colour))
            p.drawRoundedRect(filled, 4, 4)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        p.setFont(small)
        for mark in MARKS:
            x = bar.left() + bar.width() * mark / 100.0
            p.setPen(QPen(QColor(fill_colour(mark)), 2))
            p.drawLine(int(x), int(bar.top()) - 2, int(x), int(bar.bottom()))
            p.setPen(QColor(IDLE))
            p.drawText(QRectF(x - 20, 0, 40, mark_h), Qt.AlignmentFlag.AlignCenter, f"{mark:.0f}%")
        p.setFont(font)
        p.setPen(QColor(self.colour if self.percent >= WARN_PERCENT else TEXT))
        p.drawText(
            QRectF(bar.right() + 6, bar.top() - 4, text_w, bar.height() + 8),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            words,
        )
        p.end()
