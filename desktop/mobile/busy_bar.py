"""The mobile client's busy bar: a thin bar without a percent under a button while its
request runs (logging in, uploading); hidden until then."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


def busy_bar(name: str, accessible: str) -> QProgressBar:
    bar = QProgressBar(objectName=name)
    bar.setAccessibleName(accessible)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setMaximumHeight(6)
    bar.hide()
    return bar
