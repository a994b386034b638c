"""Run the witness: ``python -m ipics_server witness --data-dir D --key-file K``.

    python -m ipics_server witness --data-dir D --key-file K [--host 127.0.0.1] [--port 0]
                                   [--port-file F] [--tls-cert C --tls-key K2]

``K`` holds the key both servers show the witness (hex, mode 600).  Off loopback the
witness answers over HTTPS only, as a server does.  ``D`` keeps the ballot across a
restart (``ballot_file``).  SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aiohttp import web

from ..adapters.httpclient import is_loopback
from ..adapters.listening import CannotListen, bound_socket
from ..adapters.secret_files import KeyFileError, load_key
from ..adapters.tls import TlsError, server_context
from ..background import run_until_signalled
from ..logsetup import log_to_stderr
from ..malformed_requests import SockSite
from ..media.__main__ import write_port
from .app import Witness, make_app

log = logging.getLogger("ipics.witness")

KEY_BYTES = 32
DEFAULT_PORT = 3445


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ipics_server witness", description="The witness of an IPICS HA Lab pair: one vote"
    )
    p.add_argument("--data-dir", type=Path, required=True, help="where the witness keeps its ballot")
    p.add_argument("--key-file", type=Path, required=True, metavar="FILE", help="the key shared with both servers")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help=f"0: a free port (a host of its own: {DEFAULT_PORT})")
    p.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    p.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (required off loopback)")
    p.add_argument("--tls-key", type=Path, help="the key of --tls-cert (mode 600)")
    ns = p.parse_args(argv)
    if not 0 <= ns.port <= 65535:
        p.error("--port must be 0-65535")
    if (ns.tls_cert is None) != (ns.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if ns.tls_cert is None and not is_loopback(ns.host):
        p.error(
            f"--host {ns.host} is not a loopback address: off loopback the witness serves HTTPS only "
            "(--tls-cert, --tls-key)"
        )
    return ns


async def serve(ns: argparse.Namespace, key: bytes) -> None:
    ssl_context = server_context(ns.tls_cert, ns.tls_key) if ns.tls_cert else None
    witness = Witness(ns.data_dir)
    runner = web.AppRunner(make_app(witness, key), access_log=None, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    sock = bound_socket("the witness", ns.host, ns.port)
    port = sock.getsockname()[1]
    await SockSite(runner, sock, ssl_context=ssl_context).start()
    if ns.port_file:
        write_port(ns.port_file, port)
    scheme = "https" if ssl_context else "http"
    log.warning("witness listening on %s://%s:%d (vote held by %s)", scheme, ns.host, port, witness.ballot.holder)
    await run_until_signalled(runner, lambda: log.warning("witness stopping"))


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    try:
        key = load_key(ns.key_file, "the witness key", KEY_BYTES)
    except KeyFileError as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    log_to_stderr("witness")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(ns, key))
    except (CannotListen, TlsError) as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
