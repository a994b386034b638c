"""``ipics-lab report RECORDING [--out FILE]``: the after-action report of any recording.

Also what the other commands say after ``--report FILE`` (``say_written``).  Exit
status: 0 the report written (the HTML at least: without Chromium the command says in
one sentence why there is no PDF), 2 a recording that cannot be read (the sentence
says why) or a report that cannot be written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ipics_lab.recording import RecordingError

if TYPE_CHECKING:
    from ipics_lab.report.pdf import Printer

EXIT_WRITTEN, EXIT_UNUSABLE = 0, 2


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", type=Path, metavar="RECORDING", help="a run's recording (.ipicsrec)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="the HTML report to write (the PDF beside it); default: the recording's name with .html",
    )


def report_option(parser: argparse.ArgumentParser) -> None:
    """``--report FILE`` of the commands that run something."""
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the run's after-action report to FILE (HTML; the PDF beside it) and keep the run's "
        "recording beside it (FILE with .ipicsrec)",
    )


def recording_beside(report: Path) -> Path:
    """Where a run given ``--report FILE`` keeps its recording: FILE with ``.ipicsrec``."""
    from ipics_lab.recording import SUFFIX

    return report.with_suffix(SUFFIX)


def report_file_refusal(report: Path, *, makes_folder: bool = False) -> str | None:
    """Why a report cannot be written to ``report`` (``--report``, ``--out``), in one
    sentence said before anything starts; None if it can.  ``makes_folder``: the
    command makes the report's folder itself (a game day's debrief folder)."""
    from ipics_lab.recording import SUFFIX

    if report.suffix.lower() in (".pdf", SUFFIX):
        return f"name the HTML report (FILE.html); the PDF and the recording are written beside it, not {report}"
    if report.is_dir():
        return f"{report} is a folder: name the report's file"
    if not makes_folder and not report.parent.is_dir():
        return f"{report.parent} is not a folder: the report cannot be written there"
    return None


def say_written(paths: list[Path], out: TextIO) -> None:
    print(f"After-action report written: {', '.join(str(p) for p in paths)}", file=out, flush=True)
    why = getattr(paths, "why_no_pdf", None)
    if why:
        print(f"The report has {why[0].lower()}{why[1:]}.", file=out, flush=True)


@contextlib.asynccontextmanager
async def report_printer(report: Path | None) -> AsyncIterator[Printer | None]:
    """For a run given ``--report``: its Chromium (``pdf.Printer``), closed on the way
    out however the run ends; None without ``--report``.  Call ``start_soon()`` once the
    lab is up (not while it starts: two cores), so the PDF at the run's end is a page
    load and a print (``write_run_report``)."""
    if report is None:
        yield None
        return
    from ipics_lab.report.pdf import Printer

    printer = Printer()
    try:
        yield printer
    finally:
        await printer.close()


async def write_run_report(recording: Path, report: Path, out: TextIO, printer=None) -> bool:
    """The after-action report of a run that just ended, from its recording (kept: a
    trainer replays it), said on ``out``; a report that cannot be written is said on
    stderr (False).  ``printer``: ``report_printer``'s, started with the run."""
    from ipics_lab.report import write_report_async

    try:
        say_written(await write_report_async(recording, report, printer=printer), out)
        return True
    except RecordingError as exc:
        print(f"no report: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"no report: {report} cannot be written ({exc.strerror or exc})", file=sys.stderr)
    return False


def run(ns: argparse.Namespace) -> int:
    from ipics_lab.report import write_report

    out = ns.out or ns.recording.with_suffix(".html")
    refusal = report_file_refusal(out)
    if refusal:
        print(f"--out: {refusal}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        paths = write_report(ns.recording, out)
    except RecordingError as exc:
        print(f"no report: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as exc:
        print(f"no report: {out} cannot be written ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_UNUSABLE
    say_written(paths, sys.stdout)
    return EXIT_WRITTEN
