"""``ipics-lab replay FILE``: the replay window as a command (``replay_window`` is the
window).  Qt is imported only when the window opens, so ``ipics-lab`` on a server host
without PySide6 still lists and runs its other commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", type=Path, metavar="FILE", help="a run's recording (.ipicsrec)")
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def run(ns: argparse.Namespace) -> int:
    """Exit 0 once the window is closed, 2 for a refused file."""
    from ipics_desktop.shared.startup import run_window

    return run_window(
        "ipics-lab replay",
        "IPICS HA Lab replay",
        lambda: ns.recording.expanduser(),
        lambda path, running: _main(path, running),
        report_shown=ns.report_shown,
    )


async def _main(path: Path, running) -> int:
    from PySide6.QtWidgets import QMessageBox

    from ipics_desktop.trainer.replay_window import open_recording

    opened = await open_recording(path)
    if isinstance(opened, QMessageBox):
        running.warn(opened.text().split("\n\n", 1)[-1])
        await running.until_closed(opened.finished, opened.close)
        return 2
    running.report_shown("replay_shown_s", lambda: {"events": len(opened.replay.events)})
    await running.until_closed(opened.closed, opened.close)
    return 0


if __name__ == "__main__":
    from ipics_desktop.shared.startup import command_main

    sys.exit(command_main("ipics-lab replay", __doc__ or "", add_arguments, run, None))
