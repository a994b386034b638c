"""``ipics-lab phone``: one Cisco Unified IP Phone in its own process.

Its Services menu is what a phone administrator would configure: with a running lab
(``lab.json`` in ``--lab-dir``) the IPICS service of the primary and of the
secondary (the chapter: a phone service for both servers, so that after a failover
the user opens Services and picks the new active), then each ``--service NAME=URL``.
The time scale comes from the lab unless given.

The phone takes pushes (``POST /CGI/Execute``) on a port of its own and tells the
services it visits where: the IPICS server that becomes active pushes a logged-in
phone over to itself.  ``--no-web-access`` starts it with pushes refused (the Web
access switch on the phone turns them back on), for the path where the user opens
Services and logs in again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from ipics_server.clock import Clock

from ipics_clients.phone_browser import Service
from ipics_desktop.idc.app import no_display_message

IPICS_PHONE_PATH = "/phone/ipics"
DEFAULT_EXTENSION = "1001"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", action="append", default=[], metavar="NAME=URL",
                        help="a phone service for the Services menu (repeatable); the running lab's "
                             "IPICS primary and secondary come first")
    parser.add_argument("--lab-dir", type=Path, default=None,
                        help="the running lab's --data-dir, to find its servers and time scale")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="real seconds per emulated second (default: the lab's, else 1)")
    parser.add_argument("--extension", default=DEFAULT_EXTENSION,
                        help=f"the phone's line, shown on its screen (default {DEFAULT_EXTENSION})")
    parser.add_argument("--no-web-access", dest="web_access", action="store_false",
                        help="start with Web access off: servers cannot push pages to the phone "
                             "(the switch on the phone turns it on)")
    # For smoke tests: print one JSON line (the Services menu) when the phone is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def parse_service(text: str) -> Service:
    """``NAME=URL`` from the command line; ValueError says what is wrong."""
    name, sep, url = text.partition("=")
    name, url = name.strip(), url.strip()
    parts = urlsplit(url)
    if not sep or not name or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--service {text!r} is not NAME=URL with an http:// or https:// URL")
    return Service(name, url)


def lab_services(lab_dir: Path | None) -> tuple[list[Service], float | None]:
    """The IPICS phone service of each server of the lab running in ``lab_dir``, and
    its time scale (nothing if no lab runs there)."""
    from ipics_lab.cli import default_lab_dir
    from ipics_lab.labfile import lab_file

    path = lab_file((lab_dir or default_lab_dir()).expanduser())
    try:
        data = json.loads(path.read_text())
        servers = data["servers"]
        services = [Service(f"IPICS {name}", servers[name]["url"].rstrip("/") + IPICS_PHONE_PATH)
                    for name in ("primary", "secondary") if name in servers]
        return services, data.get("time_scale")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [], None


def run(ns: argparse.Namespace) -> int:
    started = time.monotonic()
    if no_display_message():
        print("ipics-lab phone: no display. Run it in a desktop session, or under a virtual one: "
              "xvfb-run -a ipics-lab phone ... (QT_QPA_PLATFORM=offscreen runs it without any window)",
              file=sys.stderr)
        return 2
    services, lab_scale = lab_services(ns.lab_dir)
    try:
        if not (ns.extension.isdigit() and len(ns.extension) <= 15):
            raise ValueError(f"--extension {ns.extension!r} is not a line number (digits, at most 15)")
        services += [parse_service(text) for text in ns.service]
        clock = Clock(ns.time_scale if ns.time_scale is not None else (lab_scale or 1.0))
    except ValueError as exc:
        print(f"ipics-lab phone: {exc}", file=sys.stderr)
        return 2
    if not services:
        print("ipics-lab phone: no lab is running there and no --service was given: the Services menu "
              "is empty (start a lab with ipics-lab up, or pass --lab-dir or --service NAME=URL)",
              file=sys.stderr)

    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    from ipics_clients.phone_browser import PhoneBrowser
    from ipics_clients.phone_push import PushReceiver
    from ipics_desktop.phone.window import PhoneWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("IP Phone")
    app.setQuitOnLastWindowClosed(False)  # the loop ends after the browser is closed
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    browser = PhoneBrowser(services, clock=clock)
    window = PhoneWindow(browser=browser, extension=ns.extension)
    receiver = PushReceiver(window.execute)
    receiver.enabled = ns.web_access
    closed = asyncio.Event()
    window.closed.connect(closed.set)

    def report_shown() -> None:
        print(json.dumps({"phone_shown_s": round(time.monotonic() - started, 4),
                          "services": [[s.name, s.url] for s in browser.services],
                          "push_url": receiver.url if receiver.port else None,
                          "web_access": receiver.enabled}), flush=True)

    with loop:
        loop.run_until_complete(_until(closed, window, receiver, report_shown if ns.report_shown else None))
    return 0


async def _until(closed: asyncio.Event, window, receiver, report_shown) -> None:
    browser = window.browser
    try:
        # Listening before the window takes a key: the first request already tells the
        # service where to push.
        try:
            await receiver.start()
        except OSError as exc:
            print(f"ipics-lab phone: cannot listen for pushes ({exc.strerror or exc}); the phone runs "
                  "without them: after a failover open Services and log in again", file=sys.stderr)
        else:
            browser.headers.update(receiver.headers())
            window.attach_push_receiver(receiver)
        window.show()
        if report_shown:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, report_shown)  # after the window's first paint
        await closed.wait()
    except asyncio.CancelledError:
        pass
    finally:
        await receiver.close()
        await browser.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m ipics_desktop.phone.app``: the same as ``ipics-lab phone``."""
    parser = argparse.ArgumentParser(prog="ipics-lab phone", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
