"""The after-action report of a run: one self-contained HTML file and a PDF of it.

    write_report(recording, out) -> [out, out.with_suffix(".pdf")]

made from a run's recording only (``ipics_lab.recording``), so a report is made during
the run's debrief or years later on another machine: the header (what ran, when, how),
the outcome, the timeline plot, the detection, takeover and client reconnect durations,
the grade with the chapter's words beside each deduction, the acknowledged writes lost
and why, the administrators' actions, and each event with its emulated and real time.
docs/reports.md describes the page and its section ids.

``write_report_async`` is the same on a running event loop (the panel, a scenario run):
the page is built in a thread and Chromium printed as a subprocess, so the loop never
waits.  Without Chromium the HTML is still written; the list returned holds it alone
and ``why_no_pdf`` says why.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ipics_lab.recording import RecordingError, read_recording
from ipics_lab.report.facts import facts_of
from ipics_lab.report.page import render
from ipics_lab.report.pdf import PdfUnavailable, Printer, print_pdf

__all__ = ["RecordingError", "ReportPaths", "write_html", "write_report", "write_report_async"]


class ReportPaths(list[Path]):
    """The files written: the HTML, then the PDF when there is one (``why_no_pdf`` if not)."""

    why_no_pdf: str | None = None


def write_html(recording: Path, out: Path) -> Path:
    """The HTML page alone (no Chromium); ``RecordingError`` for a bad recording."""
    page = render(facts_of(read_recording(recording)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # never half a report under the name a reader opens
    return out


async def write_report_async(recording: Path, out: Path, *, printer: Printer | None = None) -> ReportPaths:
    """``printer``: a Chromium started earlier (``pdf.Printer``), else one is started for it."""
    paths = ReportPaths([await asyncio.to_thread(write_html, recording, out)])
    try:
        paths.append(await print_pdf(out, out.with_suffix(".pdf"), printer=printer))
    except PdfUnavailable as exc:
        paths.why_no_pdf = str(exc)
    return paths


def write_report(recording: Path, out: Path) -> ReportPaths:
    """The HTML at ``out`` and its PDF beside it; for code without an event loop
    running in its thread (a CLI, a worker thread); ``RecordingError`` for a bad recording."""
    return asyncio.run(write_report_async(recording, out))
