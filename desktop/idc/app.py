"""``ipics-lab console``: open one IDC in its own process.

The known servers come from the profile (kept between runs), the servers named with
``--server``, and the running lab's ``lab.json``; the time scale from the lab, so the
5 s pause is 5 emulated seconds.
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

PROFILE_ENV = "IPICS_CONSOLE_PROFILE"


def default_profile_dir(kind: str = "console") -> Path:
    """Where a desktop window of ``kind`` keeps its profile by default."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ipics-ha-lab" / kind


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", action="append", default=[], metavar="URL",
                        help="a server for the login selector (repeatable); the running lab's are added")
    parser.add_argument("--lab-dir", type=Path, default=None,
                        help="the running lab's --data-dir, to find its servers and time scale")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help=f"where the selector and the remembered user name are kept "
                             f"(default: ${PROFILE_ENV} or {default_profile_dir()})")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="real seconds per emulated second (default: the lab's, else 1)")
    parser.add_argument("--user", default=None, help="pre-fill the user name")
    parser.add_argument("--media-router", default=None, metavar="URL",
                        help="the media router carrying push-to-talk (default: the lab's; without "
                             "one, push-to-talk reaches the consoles of this process only)")
    # For benchmarks and smoke tests: print one JSON line when the login dialog is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def no_display_message() -> str | None:
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("ipics-lab console: no display. Run it in a desktop session, or under a virtual one: "
            "xvfb-run -a ipics-lab console ... (QT_QPA_PLATFORM=offscreen runs it without any window)")


def lab_servers(lab_dir: Path | None) -> tuple[list[str], float | None]:
    """The URLs and time scale of the lab running in ``lab_dir`` (nothing if none runs)."""
    from ipics_lab.cli import default_lab_dir
    from ipics_lab.labfile import lab_file

    path = lab_file((lab_dir or default_lab_dir()).expanduser())
    try:
        data = json.loads(path.read_text())
        urls = [s["url"] for s in data["servers"].values()]
        return urls, data.get("time_scale")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [], None


def lab_media(lab_dir: Path | None) -> str | None:
    """The media router of the lab running in ``lab_dir``, if it has one."""
    from ipics_lab.cli import default_lab_dir
    from ipics_lab.labfile import lab_file

    try:
        url = json.loads(lab_file((lab_dir or default_lab_dir()).expanduser()).read_text()).get("media")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("ws://", "wss://")) else None


def run(ns: argparse.Namespace) -> int:
    started = time.monotonic()
    message = no_display_message()
    if message:
        print(message, file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    from ipics_clients.credentials import Credentials
    from ipics_clients.known_servers import KnownServers
    from ipics_desktop.idc.idc import Idc
    from ipics_desktop.shared.style import STYLE_SHEET

    profile = (ns.profile_dir or Path(os.environ.get(PROFILE_ENV) or default_profile_dir())).expanduser()
    known = KnownServers.load(profile / "servers.json")
    urls, lab_scale = lab_servers(ns.lab_dir)
    from ipics_server.adapters.httpclient import normalize_address

    for url in [*ns.server, *urls]:
        try:
            known.add(normalize_address(url))
        except ValueError:
            print(f"ipics-lab console: --server {url!r} is not a server address (host:port or "
                  "http://host:port)", file=sys.stderr)
            return 2
    known.save()
    try:
        clock = Clock(ns.time_scale if ns.time_scale is not None else (lab_scale or 1.0))
    except ValueError as exc:
        print(f"ipics-lab console: {exc}", file=sys.stderr)
        return 2

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("IPICS Dispatch Console")
    app.setStyleSheet(STYLE_SHEET)
    # The IDC decides when to quit: after its session is logged out, not when a window hides.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    credentials = Credentials(profile)
    media = ns.media_router or lab_media(ns.lab_dir)
    floor = None
    if media:
        from ipics_clients.router_floor import RouterFloor

        floor = RouterFloor(media)  # connects in the background, once the loop runs
    idc = Idc(known, credentials, clock=clock, floor=floor)
    if ns.user:
        idc.dialog.username.setText(ns.user)
        idc.dialog.password.setFocus()
    closed = asyncio.Event()
    idc.closed.connect(closed.set)
    idc.start()
    if ns.report_shown:
        from PySide6.QtCore import QTimer

        # After the events already queued (the dialog's expose and first paint) are handled.
        QTimer.singleShot(0, lambda: print(json.dumps(
            {"login_dialog_shown_s": round(time.monotonic() - started, 4)}), flush=True))
    with loop:
        loop.run_until_complete(_until(closed, idc))
        if floor is not None:
            loop.run_until_complete(floor.close())
    return 0


async def _until(closed: asyncio.Event, idc) -> None:
    # Probe roles the selector does not know yet (a first run); known roles stay as they
    # were last seen, so a console that was away still shows the old roles (Amy's case).
    idc.tasks.start(idc.session.learn_unknown_roles())
    try:
        await closed.wait()
    except asyncio.CancelledError:
        pass
