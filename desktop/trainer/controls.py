"""The trainer panel's buttons, made one way: a name tests and outside checks find
(``docs/widgets.md``), an accessible name, and never the dialog's default button (Enter
in a field must not press Start or Power off)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QPushButton


def button(text: str, name: str, accessible: str, slot: Callable[[], object] | None = None) -> QPushButton:
    b = QPushButton(text, objectName=name)
    b.setAccessibleName(accessible)
    b.setAutoDefault(False)
    if slot is not None:
        b.clicked.connect(slot)
    return b
