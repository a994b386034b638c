"""Render the mobile client's screens into PNGs (run under Xvfb)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
import qasync
from PySide6.QtWidgets import QApplication

from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MobileClient
from ipics_clients.session import ConsoleSession, State
from ipics_desktop.mobile.window import MobileWindow
from ipics_desktop.shared.style import STYLE_SHEET
from ipics_lab.seed import demo_photo_png, seed_demo_data
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.clock import Clock

TIME_SCALE = 0.02
OUT = Path(sys.argv[1])


async def grab(widget, name):
    await asyncio.sleep(0.3)
    widget.grab().save(str(OUT / name))
    print("wrote", OUT / name)


async def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pair = LabPair(Path(tmp) / "lab", time_scale=TIME_SCALE, secondary_args=["--file-replication-delay", "50"])
        try:
            await pair.up(interval_s=5, missed_count=5)
            async with await pair.admin(pair.primary) as admin:
                seeded = await seed_demo_data(admin, "demo-password")
            await pair.wait_ready()
            await wait_until(lambda: (pair.secondary.data_dir / "files" / seeded["photo"]).exists(), 10, "photo")
            known = KnownServers.load(Path(tmp) / "profile" / "servers.json")
            known.add(pair.primary.url)
            known.add(pair.secondary.url)
            client = MobileClient(ConsoleSession(known, clock=Clock(TIME_SCALE)), Path(tmp) / "profile")
            window = MobileWindow(client)
            await client.session.learn_unknown_roles()
            window.refresh_selector(pair.primary.url)
            window.show()
            window.username.setText("fred")
            window.password.setText("demo-password")
            await grab(window, "mobile-login.png")
            window.login_button.click()
            await wait_until(lambda: window.pages.currentWidget() is window.incidents_page, 30, "login")
            await grab(window, "mobile-incidents.png")
            window.show_incident(seeded["incident"])
            await window.upload_bytes("hydrant.png", demo_photo_png(120, 90), "photo")
            await window.upload_bytes("approach.mp4", b"\0\0\0\x18ftypmp42" + bytes(300_000), "video")
            await wait_until(
                lambda: all(
                    not window.file_list.item(i).icon().isNull()
                    for i in range(window.file_list.count())
                    if "photo" in window.file_list.item(i).text()
                ),
                10,
                "thumbs",
            )
            await grab(window, "mobile-incident.png")
            pair.primary.kill()
            await wait_until(lambda: client.session.state == State.OFFLINE, 10, "offline")
            await grab(window, "mobile-offline.png")
            await wait_until(lambda: window.missing_panel.isVisible(), 30, "missing")
            await wait_until(
                lambda: all(
                    not window.file_list.item(i).icon().isNull()
                    for i in range(window.file_list.count())
                    if "photo" in window.file_list.item(i).text()
                ),
                10,
                "thumbs",
            )
            await grab(window, "mobile-missing.png")
            await client.upload_again(client.missing[0])
            await client.upload_again(client.missing[0])
            await grab(window, "mobile-uploaded-again.png")
            await client.close()
        finally:
            pair.stop()


app = QApplication(sys.argv[:1])
app.setStyleSheet(STYLE_SHEET)
app.setQuitOnLastWindowClosed(False)
qasync.run(main())
