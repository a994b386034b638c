"""Render the IDC's screens into PNGs in docs/ (run under Xvfb for real fonts):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshots.py [--out docs]

It starts its own HA pair with the demo data, opens an IDC and logs in as Dan, then
captures: the login dialog, the console after Ursula chose the standby (redirected to
the active, the banner says why), the console online (Adam talking on Fire), the
console offline after the active is killed, and the console reconnected to the new
active.
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
from PySide6.QtWidgets import QApplication

from ipics_clients.credentials import Credentials
from ipics_clients.known_servers import KnownServers
from ipics_clients.session import State
from ipics_desktop.idc.idc import Idc
from ipics_desktop.shared.style import STYLE_SHEET
from ipics_lab.seed import seed_demo_data
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.clock import Clock

TIME_SCALE = 0.02


async def grab(widget, path: Path) -> None:
    await asyncio.sleep(0.2)  # let the loop paint (never processEvents() inside a task: qasync re-enters it)
    widget.grab().save(str(path))
    print(f"wrote {path}")


async def grab_redirected(pair: LabPair, profile: Path, path: Path) -> None:
    """Ursula chooses the standby: the console she lands on says why it is the active."""
    known = KnownServers.load(profile / "servers.json")
    known.add(pair.primary.url)
    known.add(pair.secondary.url)
    idc = Idc(known, Credentials(profile), clock=Clock(TIME_SCALE))
    await idc.session.learn_unknown_roles()
    idc.start()
    idc.dialog.selector.setCurrentIndex(idc.dialog.selector.findData(pair.secondary.url))
    idc.dialog.username.setText("ursula")
    idc.dialog.password.setText("demo-password")
    idc.dialog.login_button.click()
    await wait_until(idc.window.isVisible, 30, "Ursula's console")
    window = idc.window
    window.resize(1280, 800)
    await wait_until(
        lambda: window.incident_files.item(0) and not window.incident_files.item(0).icon().isNull(), 10, "the photo"
    )
    await grab(window, path)
    await idc.aclose()


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pair = LabPair(Path(tmp) / "lab", time_scale=TIME_SCALE)
        try:
            await pair.up(interval_s=5, missed_count=5)
            async with await pair.admin(pair.primary) as admin:
                await seed_demo_data(admin, "demo-password")
            await pair.wait_ready()

            known = KnownServers.load(Path(tmp) / "profile" / "servers.json")
            known.add(pair.primary.url)
            known.add(pair.secondary.url)
            idc = Idc(known, Credentials(Path(tmp) / "profile"), clock=Clock(TIME_SCALE))
            await idc.session.learn_unknown_roles()
            idc.start()
            idc.dialog.username.setText("dan")
            idc.dialog.password.setText("demo-password")
            await grab(idc.dialog, out / "idc-login.png")

            await grab_redirected(pair, Path(tmp) / "ursula", out / "idc-redirected.png")

            idc.dialog.login_button.click()
            await wait_until(idc.window.isVisible, 30, "the console")
            window = idc.window
            window.resize(1280, 800)
            fire = next(r for r in window.rows.values() if r.name == "Fire")
            window.floor.press(fire.group_id, "adam")  # Adam talks on Fire, as in the chapter
            await wait_until(
                lambda: window.incident_files.item(0) and not window.incident_files.item(0).icon().isNull(),
                10,
                "the photo",
            )
            await grab(window, out / "idc-online.png")

            pair.primary.kill()  # the earthquake
            await wait_until(lambda: idc.session.state == State.OFFLINE, 10, "offline")
            await grab(window, out / "idc-offline.png")

            await wait_until(lambda: idc.session.state == State.ONLINE, 30, "the reconnect")
            window.floor.release(fire.group_id, "adam")
            await grab(window, out / "idc-reconnected.png")
            await idc.aclose()
        finally:
            pair.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.out))
