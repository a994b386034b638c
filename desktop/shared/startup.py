"""One start-up for every desktop application: ``ipics-lab console``, ``phone``,
``mobile``, ``telephone`` and the trainer's lab (``ipics-lab`` alone).

``run_window`` does what each of them needs, in this order: without a display it
says how to run the application and exits 2, before Qt is imported (a server host
without Qt still answers); the application's own checks (``prepare``: a
``StartupError`` is said as ``<command>: <why>`` and exits 2); then one
``QApplication`` on a qasync loop with the lab's style sheet, which quits when the
application's main coroutine ends, not when its last window hides (a window that
logs out first, a trainer panel that stops the lab first).  SIGINT and SIGTERM close
the application as its close button does (``Running.until_closed``), so a telephone
gives its number back and an IDC logs out on ``kill`` too.

Besides: the running lab (``lab.json`` in ``--lab-dir``: its servers, time scale,
media router and the CA its HTTPS servers are trusted by, or ``--ca-file``), the
profile folders, the clock at the lab's time scale, the login selector's known
servers, and ``--report-shown`` (one JSON line once the window is on screen, for smoke
tests and benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ipics_clients.known_servers import KnownServers
from ipics_desktop.shared.desktop_extra import missing_desktop_message
from ipics_server.adapters.httpclient import PlainHttpRefused, normalize_address, trust_ca_file
from ipics_server.clock import Clock, check_time_scale

T = TypeVar("T")


class StartupError(Exception):
    """What is wrong with the command line or the machine, in words for the user."""


# ------------------------------------------------------------------ the running lab
@dataclass(frozen=True)
class RunningLab:
    """What the lab running in ``dir`` says of itself (nothing when none runs there)."""

    dir: Path
    #: server name (primary, secondary) -> client API URL, as the lab wrote them
    servers: dict[str, str] = field(default_factory=dict)
    time_scale: float | None = None
    media: str | None = None  # the media router's ws:// URL
    #: the CA certificate the lab's HTTPS servers are verified with (None: plain HTTP)
    ca_file: Path | None = None

    @property
    def urls(self) -> list[str]:
        return list(self.servers.values())


def lab_dir(given: Path | None) -> Path:
    """``--lab-dir``, or the per-user lab folder of ``ipics-lab up``."""
    from ipics_lab.cli import default_lab_dir

    return (given or default_lab_dir()).expanduser()


def running_lab(given: Path | None) -> RunningLab:
    """The lab running in ``--lab-dir`` (or the per-user folder), from its ``lab.json``;
    a missing or damaged file is a lab with nothing in it, a bad value is left out."""
    from ipics_lab.labfile import lab_file

    root = lab_dir(given)
    try:
        data = json.loads(lab_file(root).read_text())
        servers = {str(name): s["url"] for name, s in data["servers"].items() if isinstance(s.get("url"), str)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return RunningLab(root)
    scale = data.get("time_scale")
    try:
        scale = check_time_scale(scale)
    except (TypeError, ValueError):
        scale = None
    media = data.get("media")
    media = media if isinstance(media, str) and media.startswith(("ws://", "wss://")) else None
    ca_file = data.get("ca_file")
    return RunningLab(root, servers, scale, media, Path(ca_file) if isinstance(ca_file, str) and ca_file else None)


def trust_lab(ns: argparse.Namespace, lab: RunningLab) -> None:
    """This client trusts ``--ca-file`` and the lab's CA for HTTPS servers (every call
    of the one HTTP client, pushes and the phone's pages included)."""
    for given, path in (("--ca-file", ns.ca_file), (f"the CA of the lab in {lab.dir}", lab.ca_file)):
        if path is not None:
            try:
                trust_ca_file(path)
            except ValueError as exc:
                raise StartupError(f"{given}: {exc}") from None


def lab_clock(time_scale: float | None, lab: RunningLab) -> Clock:
    """The clock at ``--time-scale``, else the lab's, else real time."""
    try:
        return Clock(time_scale if time_scale is not None else (lab.time_scale or 1.0))
    except (TypeError, ValueError) as exc:
        raise StartupError(str(exc)) from None


# ------------------------------------------------------------------ profiles
def default_profile_dir(kind: str) -> Path:
    """Where a desktop window of ``kind`` (console, mobile) keeps its profile by default."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ipics-ha-lab" / kind


def profile_dir(given: Path | None, env: str, kind: str) -> Path:
    """``--profile-dir``, else ``$<env>``, else the default for ``kind``."""
    return (given or Path(os.environ.get(env) or default_profile_dir(kind))).expanduser()


def known_servers(profile: Path, addresses: list[str]) -> KnownServers:
    """The login selector's servers: the profile's (kept between runs) and ``addresses``
    (``--server`` and the running lab's), saved back for the next run."""
    known = KnownServers.load(profile / "servers.json")
    for address in addresses:
        try:
            known.add(normalize_address(address))
        except PlainHttpRefused as exc:
            raise StartupError(f"--server {address!r}: {exc}") from None
        except ValueError:
            raise StartupError(
                f"--server {address!r} is not a server address (host:port or http://host:port)"
            ) from None
    try:
        known.save()
    except OSError as exc:
        raise StartupError(f"the profile folder {profile} cannot be written: {exc.strerror or exc}") from None
    return known


@dataclass
class LoginStart:
    """What an application with a login page (the IDC, the mobile client) starts from."""

    lab: RunningLab
    profile: Path
    known: KnownServers
    clock: Clock


def login_start(ns: argparse.Namespace, *, kind: str, env: str) -> LoginStart:
    """From ``add_login_arguments`` and ``add_lab_arguments``: the profile folder, its
    known servers with ``--server`` and the lab's added, the clock at the lab's scale."""
    lab = running_lab(ns.lab_dir)
    trust_lab(ns, lab)
    profile = profile_dir(ns.profile_dir, env, kind)
    known = known_servers(profile, [*ns.server, *lab.urls])
    return LoginStart(lab, profile, known, lab_clock(ns.time_scale, lab))


# ------------------------------------------------------------------ arguments
def add_lab_arguments(
    parser: argparse.ArgumentParser, *, finds: str = "its servers and time scale", time_scale: bool = True
) -> None:
    """``--lab-dir`` (and ``--time-scale``), ``--ca-file``, and the hidden ``--report-shown``."""
    parser.add_argument("--lab-dir", type=Path, default=None, help=f"the running lab's --data-dir, to find {finds}")
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="trust HTTPS servers whose certificate this CA signed (ipics-lab ca; the running lab's is "
        "trusted too, from its lab file)",
    )
    if time_scale:
        parser.add_argument(
            "--time-scale",
            type=float,
            default=None,
            help="real seconds per emulated second (default: the lab's, else 1)",
        )
    # For benchmarks and smoke tests: print one JSON line when the window is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def add_login_arguments(parser: argparse.ArgumentParser, *, kind: str, env: str, keeps: str) -> None:
    """An application with a login page: ``--server``, ``--profile-dir`` and ``--user``,
    and the lab's arguments (``login_start`` reads them all)."""
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="URL",
        help="a server for the login selector (repeatable); the running lab's are added",
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help=f"where {keeps} are kept (default: ${env} or {default_profile_dir(kind)})",
    )
    parser.add_argument("--user", default=None, help="pre-fill the user name")
    add_lab_arguments(parser)


def command_main(
    command: str,
    doc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: list[str] | None,
) -> int:
    """An application's module run as a script (``python -m ipics_desktop.phone.app``):
    the same as ``command``, with the first line of its module's ``doc`` as the help."""
    parser = argparse.ArgumentParser(prog=command, description=doc.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


# ------------------------------------------------------------------ the application
def no_display_message(command: str) -> str | None:
    """Why no window can open, and how to run ``command`` anyway; None with a display."""
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        f"{command}: no display. Run it in a desktop session, or under a virtual one: "
        f"xvfb-run -a {command} ... (QT_QPA_PLATFORM=offscreen runs it without any window)"
    )


class Running:
    """What ``run_window`` hands the application's main coroutine."""

    def __init__(self, command: str, started: float, report_shown: bool):
        self.command, self.started, self._report_shown = command, started, report_shown
        self._close: Callable[[], object] | None = None  # QWidget.close's bool is ignored
        self._stop_asked = False

    def on_stop(self, close: Callable[[], object]) -> None:
        """SIGINT and SIGTERM call ``close`` (at once if one came already)."""
        self._close = close
        if self._stop_asked:
            close()

    def stop(self) -> None:
        self._stop_asked = True
        if self._close is not None:
            self._close()

    async def until_closed(self, closed, close: Callable[[], object]) -> None:
        """Until the Qt signal ``closed`` is emitted; SIGINT and SIGTERM ``close``, as
        the window's close button does."""
        done = asyncio.Event()
        closed.connect(done.set)
        self.on_stop(close)
        await done.wait()

    def report_shown(self, key: str, fields: Callable[[], dict] = dict) -> None:
        """With ``--report-shown``: once the events already queued (the window's expose
        and first paint) are handled, one JSON line: ``key`` (seconds since the start)
        and ``fields()``."""
        if not self._report_shown:
            return
        from PySide6.QtCore import QTimer

        QTimer.singleShot(
            0, lambda: print(json.dumps({key: round(time.monotonic() - self.started, 4), **fields()}), flush=True)
        )

    def warn(self, text: str) -> None:
        print(f"{self.command}: {text}", file=sys.stderr)


def run_window(
    command: str,
    application: str,
    prepare: Callable[[], T],
    main: Callable[[T, Running], Awaitable[int | None]],
    *,
    report_shown: bool = False,
    style: bool = True,
    no_display: str | None = None,
) -> int:
    """Start a desktop application (see the module's docstring); its exit status.

    ``prepare()`` runs first, without Qt: the checks and whatever needs no window;
    ``main(prepared, running)`` runs on the qasync loop: it opens the windows and
    returns (an exit status, or None for 0) when the application is done.
    ``no_display`` replaces the message said without a display."""
    started = time.monotonic()
    if missing := missing_desktop_message(command):
        print(missing, file=sys.stderr)
        return 2
    if no_display_message(command):
        print(no_display or no_display_message(command), file=sys.stderr)
        return 2
    try:
        prepared = prepare()
    except StartupError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2

    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ipics_desktop import launchers
    from ipics_desktop.shared.style import STYLE_SHEET

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)  # instance() is typed QCoreApplication: here always widgets'
    app.setApplicationName(application)
    desktop_id = launchers.DESKTOP_IDS.get(command)
    if desktop_id:  # the launcher this window belongs to, and its icon (a dock, Wayland)
        app.setDesktopFileName(desktop_id)
        icon = QIcon()
        for png in launchers.icon_files(desktop_id):
            icon.addFile(str(png))
        app.setWindowIcon(icon)
    if style:
        app.setStyleSheet(STYLE_SHEET)
    # The application decides when to quit (after its windows logged out, hung up,
    # stopped the lab), not Qt when the last window hides.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    running = Running(command, started, report_shown)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, running.stop)
    with loop:
        return loop.run_until_complete(main(prepared, running)) or 0
