"""``ipics-lab``: the trainer's lab in one command, or its parts one by one.

    ipics-lab [--time-scale S] [--data-dir D] [--no-devices]   the lab, the trainer panel, an IDC and a phone
    ipics-lab --attach LAB | --attach-servers URL1,URL2        the trainer panel on a pair started elsewhere
    ipics-lab console | phone | mobile | telephone ...          one desktop window (an IDC, ...)
    ipics-lab replay FILE                                       a run's recording replayed, no server needed
    ipics-lab up | shell | power | scenario | report | ca ...   the lab's commands (ipics_lab.cli)
    ipics-lab server | media | units ...                        a server, a media router, units (ipics_server.cli)
    ipics-lab launchers install | uninstall                     this user's launchers in the applications menu

The command that opens windows lives with the desktop; it reaches the lab's and the
server's commands through their own modules.  Qt is imported only for a window: a
server host without Qt runs ``ipics-lab server``.
"""

from __future__ import annotations

import argparse
import os
import sys

from ipics_lab import cli as lab_cli
from ipics_server import cli as server_cli
from ipics_server import units
from ipics_server.about import version
from ipics_server.config import add_server_arguments

from . import launchers

#: the desktop windows, one module each; ``add_arguments`` and ``run`` in it
WINDOWS = {
    "console": "ipics_desktop.idc.app",
    "phone": "ipics_desktop.phone.app",
    "mobile": "ipics_desktop.mobile.app",
    "telephone": "ipics_desktop.telephone.app",
    "replay": "ipics_desktop.trainer.replay_app",
}
WINDOW_HELP = {
    "console": "open an IPICS Dispatch Console (IDC)",
    "phone": "open a Cisco Unified IP Phone",
    "mobile": "open the IPICS mobile client",
    "telephone": "open a standard telephone",
    "replay": "replay a run's recording (.ipicsrec) without any server: time slider, pause, speed",
}


def parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from .trainer.app import add_trainer_arguments

    p = argparse.ArgumentParser(
        prog="ipics-lab",
        description="IPICS HA Lab. With no command: start the lab (media router, HA pair, "
        "demo users) and open the trainer panel, an IDC and an IP phone.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    add_trainer_arguments(p)
    sub = p.add_subparsers(dest="command")
    add_server_arguments(sub.add_parser("server", help="run one emulated IPICS server"))
    lab_cli.add_commands(sub)
    for name, module in WINDOWS.items():
        import_module(module).add_arguments(sub.add_parser(name, help=WINDOW_HELP[name]))
    units.add_arguments(sub.add_parser("units", help="list the systemd units of a server host, or print one"))
    launchers.add_arguments(
        sub.add_parser(
            "launchers",
            help="add the lab, the IDC console and the IP phone to your applications menu, or remove them",
            description="Per-user launchers (no root), in $XDG_DATA_HOME or ~/.local/share: applications/, "
            "icons/hicolor/ and metainfo/. Their Exec lines name this installation's ipics-lab.",
        )
    )
    sub.add_parser(
        "media", help="run a media router (push-to-talk between devices); ipics-lab media --help for its options"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except BrokenPipeError:
        # The reader went away (ipics-lab scenario list | head -1): nothing left to say to
        # it, and no traceback; stdout goes nowhere so the interpreter's own flush at exit
        # does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _main(argv: list[str] | None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["media"]:  # its own parser, in the router's module
        server_cli.main(argv)
    ns = parser().parse_args(argv)
    if ns.command == "server":
        sys.exit(server_cli.run_server(ns))
    if ns.command == "units":
        sys.exit(units.run(ns))
    if ns.command in lab_cli.COMMANDS:
        sys.exit(lab_cli.run(ns))
    if ns.command == "launchers":
        sys.exit(launchers.run(ns))
    from importlib import import_module

    module = "ipics_desktop.trainer.app" if ns.command is None else WINDOWS[ns.command]
    sys.exit(import_module(module).run(ns))
