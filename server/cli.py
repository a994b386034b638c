"""``python -m ipics_server``: run one emulated IPICS server, or the media router.

    python -m ipics_server server --data-dir D [--license F ...] [--ntp HOST ...] [--clean-install]
    python -m ipics_server media [--host H] [--port P] ...
    python -m ipics_server witness --data-dir D --key-file K [--host H] [--port P] ...
    python -m ipics_server units [--print NAME [--python PATH]]   (the systemd units, server/units.py)

``ipics-lab server`` and ``ipics-lab media`` come here.  The server package imports
nothing from the lab or the desktop: a server host needs neither (nor Qt).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import units
from .about import version
from .config import add_server_arguments, config_from_args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["media"]:  # its own parser, in the router's module
        from .media.__main__ import main as run_media

        sys.exit(run_media(argv[1:]))
    if argv[:1] == ["witness"]:  # its own parser too
        from .witness.__main__ import main as run_witness

        sys.exit(run_witness(argv[1:]))
    parser = argparse.ArgumentParser(
        prog="python -m ipics_server", description="One emulated Cisco IPICS server, or the media router."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_server_arguments(sub.add_parser("server", help="run one emulated IPICS server"))
    sub.add_parser("media", help="run a media router; python -m ipics_server media --help for its options")
    sub.add_parser("witness", help="run a pair's witness; python -m ipics_server witness --help for its options")
    units.add_arguments(sub.add_parser("units", help="list the systemd units of a server host, or print one"))
    ns = parser.parse_args(argv)
    sys.exit(units.run(ns) if ns.command == "units" else run_server(ns))


def run_server(ns: argparse.Namespace) -> int:
    from .app import DataDirLocked, serve
    from .core.licenses import LicenseError
    from .logsetup import setup_logging

    cfg = config_from_args(ns)
    setup_logging(cfg.name, cfg.data_dir)
    try:
        asyncio.run(serve(cfg))
    except DataDirLocked as exc:
        print(f"ipics-lab server: {exc}", file=sys.stderr)
        return 2
    except LicenseError as exc:
        print(f"ipics-lab server: license refused: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ipics-lab server: {exc}", file=sys.stderr)
        return 2
    return 0
