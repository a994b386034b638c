"""Render the telephone panel into PNGs in docs/ (run under Xvfb for real fonts):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/telephone_screenshots.py [--out docs]

It starts a real HA pair on loopback with the demo data (in a temporary folder, at a
small time scale), dials in from a telephone panel, logs in as Dan with tones and joins
Fire (``telephone-connected.png``), then kills the active server: the call drops
(``telephone-dropped.png``).  The pair is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ipics_clients.telephone import State, Telephone
from ipics_desktop.telephone.panel import TelephonePanel
from ipics_lab.seed import seed_demo_data
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.dial.pstn import PstnDirectory

TIME_SCALE = 0.01
PASSWORD = "Demo-Pass-2026"
PIN = "246810"


async def grab(panel: TelephonePanel, path: Path) -> None:
    await asyncio.sleep(0.2)  # let the loop paint (never processEvents() inside a task: qasync re-enters it)
    panel.grab().save(str(path))
    print(f"wrote {path}")


async def tones(panel: TelephonePanel, keys: str) -> None:
    for key in keys:
        panel.keys[key].click()  # a click at a time, as a finger would
        await asyncio.sleep(0.02)


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="telephone-shots-") as tmp:
        pair = LabPair(Path(tmp), time_scale=TIME_SCALE)
        try:
            await pair.up(interval_s=5, missed_count=5)
            async with await pair.admin(pair.primary) as admin:
                await seed_demo_data(admin, PASSWORD, PIN)
            await pair.wait_ready()
            await shoot(pair, out)
        finally:
            pair.stop()


async def shoot(pair: LabPair, out: Path) -> None:
    telephone = Telephone("5551234", [pair.primary.url, pair.secondary.url])
    panel = TelephonePanel(telephone=telephone)
    await telephone.connect_to(PstnDirectory(pair.pstn_directory))
    try:
        panel.show()
        panel.call_button.click()
        await wait_until(lambda: any("user ID" in s for s in telephone.heard), 15, "the voice menu")
        await tones(panel, f"1001#{PIN}#")
        await wait_until(lambda: any("press 1" in s for s in telephone.heard), 15, "the list")
        await tones(panel, "2#")  # Fire
        await wait_until(lambda: panel.display_label.text() == "Fire", 15, "Fire joined")
        await grab(panel, out / "telephone-connected.png")

        pair.primary.kill()  # kill -9: the chapter's server falling out of the rack
        await wait_until(
            lambda: telephone.state == State.DROPPED and panel.state_label.text() == "Call dropped",
            15,
            "the call to drop",
        )
        await grab(panel, out / "telephone-dropped.png")
    finally:
        panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        panel.close()
        await telephone.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.out))
