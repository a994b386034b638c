"""The panel's Export report\u2026 button: the lab's run so far as its after-action report.

The report is made from the run's recording (``TrainerLab.recorder``, started with the
lab), flushed first so the report holds everything up to the click; the page is built
in a thread and Chromium printed as a subprocess (``ipics_lab.report``), so the panel
never waits.  The outcome is a sentence beside the timeline's buttons.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QWidget

from ipics_clients.tasks import Tasks
from ipics_desktop.trainer.sentences import say
from ipics_lab.recording import RecordingError
from ipics_lab.report import ReportPaths, write_report_async


class ReportExport:
    """``button`` (objectName ``reportExport``) and the dialog it opens (``reportExportDialog``)."""

    def __init__(self, parent: QWidget, lab, tasks: Tasks, message: QLabel):
        self.parent, self.lab, self.tasks, self.message = parent, lab, tasks, message
        self.button = QPushButton("Export report\u2026", objectName="reportExport")
        self.button.setAccessibleName("Export the run's after-action report (HTML and PDF)")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.on_clicked)

    def on_clicked(self) -> None:
        dialog = QFileDialog(
            self.parent, "Export the after-action report", str(Path.home() / "report.html"), "HTML pages (*.html)"
        )
        dialog.setObjectName("reportExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("html")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export)
        dialog.open()  # no nested event loop: qasync keeps running

    def export(self, path: str | Path) -> asyncio.Task:
        """Write the report to ``path`` (the PDF beside it), off the event loop."""
        return self.tasks.start(self._export(Path(path)))

    async def _export(self, path: Path) -> ReportPaths | None:
        recorder = getattr(self.lab, "recorder", None)
        if recorder is None:
            say(self.message, "Not exported: this lab records no run (a lab attached to, or not started)", "refused")
            return None
        if path.suffix.lower() == ".pdf":
            say(self.message, "Not exported: name the HTML report (.html); the PDF is written beside it", "refused")
            return None
        self.button.setEnabled(False)
        say(self.message, "Writing the report\u2026", "info")
        try:
            await recorder.writer.flush()  # everything up to now is in the file the report reads
            paths = await write_report_async(recorder.path, path)
        except (RecordingError, OSError) as exc:
            say(self.message, f"Not exported: {exc}", "refused")
            return None
        finally:
            self.button.setEnabled(True)
        if paths.why_no_pdf:
            say(self.message, f"Report written to {paths[0]}; {paths.why_no_pdf}", "warn")
        else:
            say(self.message, f"Report written to {paths[0]} and {paths[1].name}", "ok")
        return paths
