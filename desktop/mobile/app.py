"""``ipics-lab mobile``: open one IPICS mobile client in its own process.

As ``ipics-lab console`` (``app.py``, whose helpers it uses): the server selector holds
the profile's known servers, any ``--server`` and the running lab's; the time scale is
the lab's.  The profile (``~/.config/ipics-ha-lab/mobile`` or ``--profile-dir``) keeps
the selector and the copies of recent uploads, for Upload again after a failover.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from ipics_server.clock import Clock

from ipics_desktop.idc import app
from ipics_desktop.idc.app import lab_servers, no_display_message

PROFILE_ENV = "IPICS_MOBILE_PROFILE"


def default_profile_dir() -> Path:
    return app.default_profile_dir("mobile")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", action="append", default=[], metavar="URL",
                        help="a server for the login selector (repeatable); the running lab's are added")
    parser.add_argument("--lab-dir", type=Path, default=None,
                        help="the running lab's --data-dir, to find its servers and time scale")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help=f"where the selector and the copies of recent uploads are kept "
                             f"(default: ${PROFILE_ENV} or {default_profile_dir()})")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="real seconds per emulated second (default: the lab's, else 1)")
    parser.add_argument("--user", default=None, help="pre-fill the user name")
    # For smoke tests: print one JSON line when the login page is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def run(ns: argparse.Namespace) -> int:
    started = time.monotonic()
    if no_display_message():
        print("ipics-lab mobile: no display. Run it in a desktop session, or under a virtual one: "
              "xvfb-run -a ipics-lab mobile ... (QT_QPA_PLATFORM=offscreen runs it without any window)",
              file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")
    from ipics_server.adapters.httpclient import normalize_address

    from ipics_clients.known_servers import KnownServers

    profile = (ns.profile_dir or Path(os.environ.get(PROFILE_ENV) or default_profile_dir())).expanduser()
    known = KnownServers.load(profile / "servers.json")
    urls, lab_scale = lab_servers(ns.lab_dir)
    for url in [*ns.server, *urls]:
        try:
            known.add(normalize_address(url))
        except ValueError:
            print(f"ipics-lab mobile: --server {url!r} is not a server address (host:port or "
                  "http://host:port)", file=sys.stderr)
            return 2
    try:
        clock = Clock(ns.time_scale if ns.time_scale is not None else (lab_scale or 1.0))
        known.save()
    except ValueError as exc:
        print(f"ipics-lab mobile: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ipics-lab mobile: the profile folder {profile} cannot be written: {exc.strerror or exc}",
              file=sys.stderr)
        return 2

    import qasync
    from PySide6.QtWidgets import QApplication

    from ipics_clients.mobile import MobileClient
    from ipics_clients.session import ConsoleSession
    from ipics_desktop.mobile.window import MobileWindow
    from ipics_desktop.shared.style import STYLE_SHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("IPICS Mobile")
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)  # the window quits after its client logged out
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MobileWindow(MobileClient(ConsoleSession(known, clock=clock), profile))
    if ns.user:
        window.username.setText(ns.user)
        window.password.setFocus()
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    if ns.report_shown:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: print(json.dumps(
            {"mobile_login_shown_s": round(time.monotonic() - started, 4)}), flush=True))
    with loop:
        loop.run_until_complete(_until(closed, window))
    return 0


async def _until(closed: asyncio.Event, window) -> None:
    # Roles the selector has never seen (a first run); known ones stay as last seen.
    window.tasks.start(_learn_roles(window))
    try:
        await closed.wait()
    except asyncio.CancelledError:
        pass


async def _learn_roles(window) -> None:
    await window.session.learn_unknown_roles()
    window.refresh_selector()
