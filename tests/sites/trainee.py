"""A trainee's clients on another machine: ``python -m tests.sites.trainee``, run in the
clients' site, given only what a trainee is given (the servers' addresses, the lab CA,
users, a password and a phone's PIN on stdin).  An IDC session and a mobile client log
in, an IP phone logs in with Dial Login and takes pushes on the address the servers
reach it by (the clients' site's own); each prints one JSON line per change:
``{"who": ..., "state": ..., "server": ...}`` (the phone's state is "page" with the
origin of the page it shows)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from ipics_clients.addresses import address_seen_by, origin
from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MobileClient
from ipics_clients.phone_browser import PhoneBrowser, ipics_service
from ipics_clients.phone_push import PushReceiver
from ipics_clients.session import ConsoleSession
from ipics_server.adapters.httpclient import trust_ca_file


def report(who: str, session: ConsoleSession) -> None:
    print(json.dumps({"who": who, "state": session.state.value, "server": session.server}), flush=True)


def report_phone(phone: PhoneBrowser) -> None:
    if phone.screen.url and not phone.screen.error:
        scheme, host, port = origin(phone.screen.url)
        print(json.dumps({"who": "phone", "state": "page", "server": f"{scheme}://{host}:{port}"}), flush=True)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--server", action="append", required=True)
    p.add_argument("--ca-file", type=Path, required=True)
    p.add_argument("--console-user", required=True)
    p.add_argument("--mobile-user", required=True)
    p.add_argument("--phone-user-id", required=True)
    ns = p.parse_args()
    password, pin = sys.stdin.readline().strip(), sys.stdin.readline().strip()
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
        phone = PhoneBrowser([ipics_service(f"server {i}", url) for i, url in enumerate(ns.server)])
        receiver = PushReceiver(phone.execute, host=address_seen_by(ns.server))
        await receiver.start()
        phone.headers.update(receiver.headers())
        await console.login(ns.server[0], ns.console_user, password)
        await mobile.login(ns.server[0], ns.mobile_user, password)
        await phone.press_services()
        await phone.select(0)
        await phone.submit({"userid": ns.phone_user_id, "pin": pin})
        phone.on_change = report_phone  # from its menu on the first server on
        report_phone(phone)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main())
