"""The 12-key keypad of the IP phone and of the desk telephone: one widget, drawn by
the window's own style sheet (a dark phone, a light desk set).

Each key is a button with the digit and, under it, the letters printed on it
(``ipics_clients.keypad``).  Its objectName is the window's prefix and the key
(``phoneKey1``, ``telephoneKeyStar``: docs/widgets.md), its accessible name
``Key 2 (ABC)``; property ``keypad`` and the labels ``keypadDigit`` and
``keypadLetters`` are what the style sheets match.  What a key does is the window's.

Signals:
    key_clicked(str): a key was clicked (``"1"`` ... ``"#"``).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ipics_clients.keypad import KEYPAD, PRINTED_LETTERS, key_name, key_words, position


class Keypad(QWidget):
    key_clicked = Signal(str)

    def __init__(
        self, *, prefix: str, key_size: QSize, spacing: QSize, tooltip: str = "", shortcuts: bool = False, parent=None
    ):
        """``prefix`` starts each key's objectName; ``spacing`` is between columns (width)
        and rows (height); ``tooltip`` is formatted with the ``key``; ``shortcuts``: the
        computer's keyboard presses the keys (else the window reads the keyboard)."""
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(spacing.width())
        grid.setVerticalSpacing(spacing.height())
        self.keys: dict[str, QPushButton] = {}
        for index, key in enumerate(KEYPAD):
            button = _key_button(key, f"{prefix}{key_name(key)}", key_size)
            if tooltip:
                button.setToolTip(tooltip.format(key=key))
            if shortcuts:
                button.setShortcut(QKeySequence(key))
            button.clicked.connect(lambda _=False, k=key: self.key_clicked.emit(k))
            grid.addWidget(button, *position(index))
            self.keys[key] = button

    def centred(self) -> QHBoxLayout:
        """The keypad in a row of its own, in the middle."""
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self)
        row.addStretch(1)
        return row


def _key_button(key: str, name: str, size: QSize) -> QPushButton:
    button = QPushButton(objectName=name)
    button.setProperty("keypad", True)
    button.setAutoDefault(False)
    button.setAccessibleName(key_words(key))
    button.setFixedSize(size)
    digit = QLabel(key, objectName="keypadDigit")
    letters = QLabel(PRINTED_LETTERS[key], objectName="keypadLetters")
    layout = QVBoxLayout(button)
    layout.setContentsMargins(0, 3, 0, 3)
    layout.setSpacing(0)
    for label in (digit, letters):
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout.addWidget(label)
    return button
