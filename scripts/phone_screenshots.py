"""Render the IP phone's screens into PNGs in docs/ (run under Xvfb for real fonts):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/phone_screenshots.py [--out docs]

It serves a small phone XML service of its own on loopback, shaped like the IPICS one
(a channel and VTG menu, a talk screen whose Talk softkey is push-to-talk), opens a
phone whose Services menu has it and a secondary that does not answer, and captures:
the channel menu, the talk screen with Talk held, and the error screen of the dead
secondary.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from aiohttp import web
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ipics_clients.phone_browser import PhoneBrowser, Service
from ipics_desktop.phone.window import PhoneWindow
from ipics_lab.supervisor import wait_until

GROUPS = ["EMS", "Fire", "Police", "Downtown Response (VTG)", "Mutual Aid (VTG)"]


def _xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/xml")


def _key(name: str, url: str, position: int, down: str = "") -> str:
    down = f"<URLDown>{down}</URLDown>" if down else ""
    return f"<SoftKeyItem><Name>{name}</Name><URL>{url}</URL>{down}<Position>{position}</Position></SoftKeyItem>"


def demo_service() -> web.Application:
    talking: dict[str, bool] = {}

    async def menu(_request: web.Request) -> web.Response:
        items = "".join(
            f"<MenuItem><Name>{g}</Name><URL>/talk?group={i}</URL></MenuItem>" for i, g in enumerate(GROUPS)
        )
        return _xml(
            f"<CiscoIPPhoneMenu><Title>IPICS - dan</Title><Prompt>Channels, then VTGs</Prompt>{items}"
            f"{_key('Select', 'SoftKey:Select', 1)}{_key('Update', 'SoftKey:Update', 2)}"
            f"{_key('Exit', 'SoftKey:Exit', 3)}</CiscoIPPhoneMenu>"
        )

    async def talk(request: web.Request) -> web.Response:
        group = GROUPS[int(request.query.get("group", "1"))]
        if "ptt" in request.query:
            talking[group] = request.query["ptt"] == "down"
        here = f"/talk?group={request.query.get('group', '1')}"
        state = "You are talking" if talking.get(group) else "Idle: hold Talk to talk"
        return _xml(
            f"<CiscoIPPhoneText><Title>{group}</Title><Prompt>Push to talk</Prompt>"
            f"<Text>{state}\n\nListeners: adam, ursula</Text>"
            f"{_key('Talk', here + '&amp;ptt=up', 1, here + '&amp;ptt=down')}"
            f"{_key('Update', 'SoftKey:Update', 2)}{_key('Back', 'SoftKey:Back', 3)}"
            f"{_key('Exit', 'SoftKey:Exit', 4)}</CiscoIPPhoneText>"
        )

    app = web.Application()
    app.router.add_get("/phone/ipics", menu)
    app.router.add_get("/talk", talk)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def grab(window: PhoneWindow, path: Path) -> None:
    await asyncio.sleep(0.2)  # let the loop paint (never processEvents() inside a task: qasync re-enters it)
    window.grab().save(str(path))
    print(f"wrote {path}")


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runner = web.AppRunner(demo_service())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    browser = PhoneBrowser(
        [
            Service("IPICS primary", f"http://127.0.0.1:{port}/phone/ipics"),
            Service("IPICS secondary", f"http://127.0.0.2:{free_port()}/phone/ipics"),
        ]
    )
    window = PhoneWindow(browser=browser, extension="1001")
    try:
        window.show()
        window.press_key("1")
        await wait_until(lambda: browser.screen.obj.title == "IPICS - dan", 10, "the channel menu")
        window.navigate(+1)
        await wait_until(lambda: browser.selected == 1, 5, "Fire highlighted")
        await grab(window, out / "phone-menu.png")

        window.select()
        await wait_until(lambda: browser.screen.obj.title == "Fire", 10, "the talk screen")
        talk = window.softkeys[0]
        QTest.mousePress(talk, Qt.MouseButton.LeftButton)  # held, as under a finger
        await wait_until(lambda: "You are talking" in browser.screen.obj.text, 10, "talking")
        await grab(window, out / "phone-talk.png")
        QTest.mouseRelease(talk, Qt.MouseButton.LeftButton)
        await wait_until(lambda: "Idle" in browser.screen.obj.text, 10, "idle")

        window.press_services()
        await wait_until(lambda: browser.screen.obj.title == "Services", 5, "the Services menu")
        window.press_key("2")  # the secondary, which does not answer here
        await wait_until(lambda: browser.screen.error, 15, "the error screen")
        window.handset.click()  # off hook, to show the status line
        await grab(window, out / "phone-error.png")
    finally:
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.close()
        await browser.close()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.out))
