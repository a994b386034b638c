"""Render the replay window into docs/screenshots/trainer-replay.png (under Xvfb for real fonts):

    ipics-lab scenario run earthquake --time-scale 0.01 --record /tmp/earthquake.ipicsrec
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/replay_screenshot.py /tmp/earthquake.ipicsrec

The recording is opened as ``ipics-lab replay`` does (no server runs) and scrubbed to
``--at`` real seconds, by default a little after the secondary was first seen active:
the cards at that time, the run's timeline with the cursor, the narration so far.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtWidgets import QApplication

from ipics_desktop.shared.style import STYLE_SHEET
from ipics_desktop.trainer.replay_window import ReplayWindow, open_recording


async def main(recording: Path, at: float | None, out: Path) -> None:
    window = await open_recording(recording)
    if not isinstance(window, ReplayWindow):
        raise SystemExit(f"refused: {window.text()}")
    replay = window.replay
    if at is None:
        track = replay.tracks["secondary"]
        at = next(t for t, v in zip(track.view_at, track.views, strict=True) if v.get("role") == "active") + 3.0
    window.resize(1400, 900)
    window.seek(at)
    await asyncio.sleep(0.5)  # let the loop paint
    window.grab().save(str(out))
    print(f"wrote {out}: {window.time_label.text()}; cards {window.card_roles()}")
    window.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--at", type=float, default=None, help="real seconds of the run to show")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "trainer-replay.png",
    )
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.recording, args.at, args.out))
