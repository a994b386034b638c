"""Run the media router: ``python -m ipics_server.media --ticket-key-file K --port P``.

    python -m ipics_server.media --ticket-key-file K [--host 127.0.0.1] [--port 0] [--port-file F]
                                 [--log-file F] [--time-scale S] [--floor-timeout-s N] [--max-clients N]

``K`` holds the key the IPICS servers sign push-to-talk tickets with (``ticket``): a
file only its owner may read.  Without it the router would admit anyone, so it does
not start.

Port 0 lets the OS choose; the bound port is written to ``--port-file`` (atomically)
once the router listens.  SIGTERM or SIGINT stops it cleanly: every device is told
"going away" (1001) and reconnects to the next router on that address.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from ..background import run_until_signalled
from ..clock import Clock
from ..logsetup import log_format, log_to_stderr
from ..malformed_requests import SockSite
from .protocol import MAX_CLIENTS
from .router import FLOOR_TIMEOUT_S, Router, make_app
from .ticket import TicketKeyError, load_key

log = logging.getLogger("ipics.media")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ipics_server.media", description="The push-to-talk media router of the IPICS HA Lab"
    )
    p.add_argument(
        "--ticket-key-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="the key the IPICS servers sign push-to-talk tickets with (mode 600)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port chosen by the OS")
    p.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    p.add_argument("--log-file", type=Path, help="also log (INFO) to this file")
    p.add_argument("--time-scale", type=float, default=1.0, help="real seconds per emulated second")
    p.add_argument(
        "--floor-timeout-s",
        type=float,
        default=FLOOR_TIMEOUT_S,
        help="emulated seconds a silent talker keeps the floor (default %(default)g)",
    )
    p.add_argument(
        "--max-clients",
        type=int,
        default=MAX_CLIENTS,
        help="devices connected at once; more are refused with 503 (default %(default)d)",
    )
    ns = p.parse_args(argv)
    if not 1 <= ns.max_clients <= 100_000:
        p.error("--max-clients must be 1-100000")
    if not 0 <= ns.port <= 65535:
        p.error("--port must be 0-65535")
    if not 0 < ns.time_scale <= 10:
        p.error("--time-scale must be greater than 0 and at most 10")
    if not 0 < ns.floor_timeout_s <= 86400:
        p.error("--floor-timeout-s must be greater than 0 and at most 86400")
    return ns


def setup_logging(log_file: Path | None) -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    log_to_stderr("media")  # one line per event unless on a terminal (the journal, a file)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        f = logging.handlers.RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=2)
        f.setFormatter(logging.Formatter(log_format("media")))
        root.addHandler(f)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def write_port(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, path)


async def serve(ns: argparse.Namespace, key: bytes) -> None:
    router = Router(Clock(ns.time_scale), ns.floor_timeout_s, ns.max_clients, key=key)
    runner = web.AppRunner(make_app(router), access_log=None, handle_signals=False, shutdown_timeout=2)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in ns.host else socket.AF_INET, socket.SOCK_STREAM)
    # A router restarted on the same port (after kill -9) binds despite TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ns.host, ns.port))
    port = sock.getsockname()[1]
    await SockSite(runner, sock).start()  # refuses malformed requests without quoting them
    if ns.port_file:
        write_port(ns.port_file, port)
    log.warning(
        "media router listening on ws://%s:%d/media (floor timeout %g emulated s, time scale %g)",
        ns.host,
        port,
        ns.floor_timeout_s,
        ns.time_scale,
    )
    await run_until_signalled(runner, lambda: log.warning("media router stopping"))


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    try:
        key = load_key(ns.ticket_key_file)
    except TicketKeyError as exc:
        print(f"media router: {exc}", file=sys.stderr)
        return 2
    setup_logging(ns.log_file)
    try:
        asyncio.run(serve(ns, key))
    except OSError as exc:
        print(f"media router: cannot listen on {ns.host}:{ns.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
