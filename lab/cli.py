"""The lab's commands: ``ipics-lab up``, ``shell``, ``power``, ``scenario``, ``exercise``,
``gameday``, ``report`` and ``ca``.

    ipics-lab up [--headless] [--json] [--time-scale S] [--data-dir D] [--topology loopback|sites] [--modes M]
    ipics-lab shell primary|secondary [--user ipicsadmin|informix] [-c COMMAND] [--lab-dir D]
    ipics-lab power on|off primary|secondary [--lab-dir D]
    ipics-lab scenario list | run NAME|FILE [--time-scale S] [--data-dir D] [--modes M]
    ipics-lab exercise list | run NAME|FILE [--time-limit T] [--time-scale S] [--report FILE] [--modes M]
    ipics-lab gameday --seed N --duration D [--faults N] [--time-scale S] [--report FILE] ...  (lab/gameday/)
    ipics-lab report RECORDING [--out FILE]   (the after-action report of a run's recording)
    ipics-lab ca init DIR | issue DIR --ip ADDR --name NAME   (HTTPS off loopback, lab/ca.py)

``add_commands`` adds them to the ``ipics-lab`` parser (``ipics_desktop.cli``); ``run``
runs the one chosen.  None of them loads Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import sites
from .modes import add_modes_option
from .where import default_lab_dir, where_text

SHELL_PASSWORD_ENV = "IPICS_SHELL_PASSWORD"
COMMANDS = ("up", "shell", "power", "scenario", "exercise", "gameday", "report", "ca")


def add_commands(sub) -> None:
    """The lab's subcommands on the ``ipics-lab`` parser's subparsers."""
    p_up = sub.add_parser("up", help="start a primary and a secondary as a configured HA pair")
    p_up.add_argument(
        "--headless", action="store_true", help="no windows (without a display the lab is headless anyway)"
    )
    p_up.add_argument("--json", action="store_true", help="print one JSON line when the standby is Ready")
    p_up.add_argument("--time-scale", type=float, default=1.0, help="real seconds per emulated second")
    p_up.add_argument("--data-dir", type=Path, default=None, help=f"default: {default_lab_dir()}")
    p_up.add_argument(
        "--heartbeat-interval", type=int, default=15, help="Heartbeat Interval of the pair, 5-600 s (default 15)"
    )
    p_up.add_argument(
        "--missed-heartbeats", type=int, default=5, help="Missed Heartbeat Count of the pair, 5-30 (default 5)"
    )
    sites.add_topology_option(p_up)
    add_modes_option(p_up)

    p_shell = sub.add_parser(
        "shell",
        help="log in over SSH to the shell of a server of the running lab",
        description=f"The password comes from {SHELL_PASSWORD_ENV}, else it is asked.",
    )
    p_shell.add_argument("server", choices=["primary", "secondary"])
    p_shell.add_argument("--user", choices=["ipicsadmin", "informix"], default="ipicsadmin")
    p_shell.add_argument(
        "-c",
        dest="shell_command",
        metavar="COMMAND",
        help="run this one command, print its output and exit with its status",
    )
    _lab_dir_option(p_shell)

    p_power = sub.add_parser(
        "power",
        help="power a server of the running lab on or off (kill -9)",
        description="Method 3, step 4 of the chapter: power the secondary up after "
        "shutdown -h now. Off is a pulled plug (kill -9).",
    )
    p_power.add_argument("state", choices=["on", "off"])
    p_power.add_argument("server", choices=["primary", "secondary"])
    _lab_dir_option(p_power)

    from .scenario.cli import add_scenario_arguments

    add_scenario_arguments(sub.add_parser("scenario", help="list the built-in scenarios, or run one headless"))
    from .exercise.cli import add_exercise_arguments

    add_exercise_arguments(sub.add_parser("exercise", help="list the graded exercises, or run one for a trainee"))

    from .gameday.cli import add_gameday_arguments

    add_gameday_arguments(
        sub.add_parser(
            "gameday",
            help="a game day: faults at random times for a team to handle, recorded, then the report",
            description="Starts the lab, prints where everything is and how many faults will come, makes each "
            "fault at its time (the same seed, the same faults at the same times), and ends at the duration, "
            "on Ctrl-C or when someone types end; then the report. docs/gamedays.md",
        )
    )

    from .report.cli import add_report_arguments

    add_report_arguments(
        sub.add_parser(
            "report",
            help="write the after-action report (HTML and PDF) of a run's recording",
            description="One self-contained HTML page (it opens offline in any browser) and its PDF, "
            "printed by headless Chromium; docs/reports.md.",
        )
    )

    from .ca import add_arguments as add_ca_arguments

    add_ca_arguments(
        sub.add_parser(
            "ca",
            help="a small CA for servers off loopback: make it, issue a server certificate",
            description="Off loopback a server serves HTTPS (--tls-cert, --tls-key) and clients trust its CA "
            "(--ca-file). Keys are written mode 600 and never printed.",
        )
    )


def _lab_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lab-dir",
        "--data-dir",
        dest="lab_dir",
        type=Path,
        default=None,
        help=f"the lab's --data-dir (default: {default_lab_dir()})",
    )


def run(ns: argparse.Namespace) -> int:
    """The exit status of the lab command ``ns.command``."""
    if ns.command == "scenario":
        from .scenario import cli as scenario_cli

        return scenario_cli.run(ns)
    if ns.command == "exercise":
        from .exercise import cli as exercise_cli

        return exercise_cli.run(ns)
    if ns.command == "gameday":
        from .gameday.cli import run as run_gameday

        return run_gameday(ns)
    if ns.command == "report":
        from .report.cli import run as run_report

        return run_report(ns)
    if ns.command == "ca":
        from .ca import run as run_ca

        return run_ca(ns)
    return {"up": run_up, "shell": run_shell, "power": run_power}[ns.command](ns)


def run_power(ns: argparse.Namespace) -> int:
    from .trainer.control import NotRunning, ask

    root = (ns.lab_dir or default_lab_dir()).expanduser().resolve()
    try:
        answer = asyncio.run(ask(root, f"power-{ns.state}", ns.server))
    except NotRunning as exc:
        print(f"ipics-lab power: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TimeoutError) as exc:
        print(f"ipics-lab power: no answer from the lab in {root}: {exc}", file=sys.stderr)
        return 2
    print(answer.get("message", ""), file=sys.stdout if answer.get("ok") else sys.stderr)
    return 0 if answer.get("ok") else 1


def run_up(ns: argparse.Namespace) -> int:
    from ipics_server.logsetup import setup_logging

    refusal = sites.topology_refusal(ns)
    if refusal:
        print(f"ipics-lab up: {refusal}", file=sys.stderr)
        return 2
    root = (ns.data_dir or default_lab_dir()).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = open(root / "lab.lock", "w")  # noqa: SIM115 (held, locked, for the lab's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            f"ipics-lab up: another lab is running with the data directory {root}; stop it or pass --data-dir",
            file=sys.stderr,
        )
        return 2
    setup_logging("lab")
    try:
        return asyncio.run(_up(ns, root))
    finally:
        lock.close()


async def _up(ns: argparse.Namespace, root: Path) -> int:
    from .trainer.lab import TrainerLab

    lab = TrainerLab(
        root,
        time_scale=ns.time_scale,
        interval_s=ns.heartbeat_interval,
        missed_count=ns.missed_heartbeats,
        topology=ns.topology,
        modes=ns.modes,
    )
    stop = asyncio.Event()
    console = None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        setup = asyncio.ensure_future(lab.start())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({setup, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if setup not in done:
            setup.cancel()
            return 130
        stopper.cancel()
        summary = setup.result()
        if ns.json:
            print(json.dumps(summary), flush=True)
        else:
            print(f"{where_text(summary, _lab_dir_arg(ns, root))}Press Ctrl-C to stop.", flush=True)
        console = _open_console(ns, root)
        await stop.wait()
        return 0
    except Exception as exc:  # noqa: BLE001 (a setup step failed: say which, stop the processes)
        print(f"ipics-lab up: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            if console is not None and console.poll() is None:
                console.terminate()
                try:
                    console.wait(5)
                except subprocess.TimeoutExpired:
                    console.kill()
        finally:
            lab.stop()


def _open_console(ns: argparse.Namespace, root: Path) -> subprocess.Popen | None:
    """The lab opens one IDC, in its own process (closing it leaves the lab running)."""
    if ns.headless or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print(
            "ipics-lab up: no display, so no console window; the lab runs headless. "
            "Open one from a desktop session with: ipics-lab console" + _lab_dir_arg(ns, root),
            file=sys.stderr,
        )
        return None
    # Its own profile in the lab directory: every `up` has new ports, and the user's
    # selector (~/.config) would collect addresses of labs long gone.
    # The desktop's command (a process, not an import: the lab does not depend on Qt).
    from .launcher import module_command

    return subprocess.Popen(
        module_command("ipics_desktop", "console", "--lab-dir", str(root), "--profile-dir", str(root / "console")),
        stdin=subprocess.DEVNULL,
    )


def _lab_dir_arg(ns: argparse.Namespace, root: Path) -> str:
    return f" --lab-dir {root}" if ns.data_dir is not None else ""


def run_shell(ns: argparse.Namespace) -> int:
    """``ipics-lab shell``: 2 if there is nothing to log in to (no lab, no password),
    1 if the login fails; otherwise the session's exit status."""
    try:
        return _run_shell(ns)
    except KeyboardInterrupt:  # Ctrl-C at the password prompt or in the session
        print(file=sys.stderr)
        return 130


def _run_shell(ns: argparse.Namespace) -> int:
    from ipics_server.shell.client import ShellLoginError

    from .labfile import NoLab, read_lab_server

    root = (ns.lab_dir or default_lab_dir()).expanduser().resolve()
    try:
        server = read_lab_server(root, ns.server)
    except NoLab as exc:
        print(f"ipics-lab shell: {exc}", file=sys.stderr)
        return 2
    if server.get("ssh_port") is None:
        print(f"ipics-lab shell: the {ns.server} server runs without SSH", file=sys.stderr)
        return 2
    password = os.environ.get(SHELL_PASSWORD_ENV) or _ask_password(f"{ns.user}@{ns.server}'s password: ")
    if password is None:
        print(f"ipics-lab shell: no password: set {SHELL_PASSWORD_ENV} or run from a terminal", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_shell(server, ns.user, password, ns.shell_command))
    except ShellLoginError as exc:
        print(f"ipics-lab shell: {exc}", file=sys.stderr)
        return 1


def _ask_password(prompt: str) -> str | None:
    import getpass

    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except EOFError:
        return None


async def _shell(server: dict, username: str, password: str, command: str | None) -> int:
    import asyncssh

    from ipics_server.shell.client import ShellLoginError, connect, interactive, run_command

    conn = await connect(
        server["host"],
        server["ssh_port"],
        username=username,
        password=password,
        host_key_file=Path(server["ssh_host_key"]),
    )
    try:
        async with conn:
            if command is not None:
                status = await run_command(conn, command, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
            else:
                status = await interactive(conn, sys.stdin.fileno(), stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
    except (asyncssh.Error, OSError) as exc:  # the server went away mid-session
        raise ShellLoginError(
            f"the session with {server['host']} ended: {getattr(exc, 'reason', None) or exc}"
        ) from None
    return status
