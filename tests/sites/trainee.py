"""A trainee's clients on another machine: ``python -m tests.sites.trainee``, run in the
clients' site, given only what a trainee is given (the servers' addresses, the lab CA,
a user and a password on stdin).  An IDC session and a mobile client log in and print
one JSON line per change of state: ``{"who": ..., "state": ..., "server": ...}``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MobileClient
from ipics_clients.session import ConsoleSession
from ipics_server.adapters.httpclient import trust_ca_file


def report(who: str, session: ConsoleSession) -> None:
    print(json.dumps({"who": who, "state": session.state.value, "server": session.server}), flush=True)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--server", action="append", required=True)
    p.add_argument("--ca-file", type=Path, required=True)
    p.add_argument("--console-user", required=True)
    p.add_argument("--mobile-user", required=True)
    ns = p.parse_args()
    password = sys.stdin.readline().strip()
    trust_ca_file(ns.ca_file)
    with tempfile.TemporaryDirectory() as profiles:
        console_known = KnownServers.load(Path(profiles) / "console.json")
        mobile_known = KnownServers.load(Path(profiles) / "mobile.json")
        for url in ns.server:
            console_known.add(url)
            mobile_known.add(url)
        console = ConsoleSession(console_known, on_change=lambda s, _n: report("console", s))
        mobile = MobileClient(
            ConsoleSession(mobile_known), Path(profiles) / "mobile", on_change=lambda c, _n: report("mobile", c.session)
        )
        await console.login(ns.server[0], ns.console_user, password)
        await mobile.login(ns.server[0], ns.mobile_user, password)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main())
