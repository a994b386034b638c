"""Asking for a file to open without a nested event loop (qasync keeps running)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget


def ask_open_file(
    parent: QWidget, title: str, folder: Path, filters: str, name: str, chosen: Callable[[str], object]
) -> QFileDialog:
    """A window-modal dialog for an existing file (objectName ``name``); ``chosen(path)``
    once the user picks one.  Returns the dialog, already open."""
    dialog = QFileDialog(parent, title, str(folder), filters)
    dialog.setObjectName(name)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(chosen)
    dialog.open()
    return dialog
