"""``ipics-lab phone``: one Cisco Unified IP Phone in its own process.

Its Services menu is what a phone administrator would configure: with a running lab
(``lab.json`` in ``--lab-dir``) the IPICS service of the primary and of the
secondary (the chapter: a phone service for both servers, so that after a failover
the user opens Services and picks the new active), then each ``--service NAME=URL``.
The time scale comes from the lab unless given.

The phone takes pushes (``POST /CGI/Execute``) on a port of its own and tells the
services it visits where: the IPICS server that becomes active pushes a logged-in
phone over to itself.  ``--no-web-access`` starts it with pushes refused (the Web
access switch on the phone turns them back on), for the path where the user opens
Services and logs in again.  The start-up is the desktop's one
(``ipics_desktop.shared.startup``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ipics_clients.phone_browser import Service, ipics_service
from ipics_desktop.shared import startup
from ipics_server.clock import Clock

COMMAND = "ipics-lab phone"
DEFAULT_EXTENSION = "1001"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a phone service for the Services menu (repeatable); the running lab's "
        "IPICS primary and secondary come first",
    )
    startup.add_lab_arguments(parser)
    parser.add_argument(
        "--extension",
        default=DEFAULT_EXTENSION,
        help=f"the phone's line, shown on its screen (default {DEFAULT_EXTENSION})",
    )
    parser.add_argument(
        "--no-web-access",
        dest="web_access",
        action="store_false",
        help="start with Web access off: servers cannot push pages to the phone (the switch on the phone turns it on)",
    )


def parse_service(text: str) -> Service:
    """``NAME=URL`` from the command line; ValueError says what is wrong."""
    name, sep, url = text.partition("=")
    name, url = name.strip(), url.strip()
    parts = urlsplit(url)
    if not sep or not name or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--service {text!r} is not NAME=URL with an http:// or https:// URL")
    return Service(name, url)


def ipics_services(lab: startup.RunningLab) -> list[Service]:
    """The IPICS phone service of each server of ``lab``, the primary's first."""
    return [ipics_service(name, lab.servers[name]) for name in ("primary", "secondary") if name in lab.servers]


def lab_services(lab_dir: Path | None) -> tuple[list[Service], float | None]:
    """The IPICS phone services of the lab running in ``lab_dir``, and its time scale
    (nothing if no lab runs there)."""
    lab = startup.running_lab(lab_dir)
    return ipics_services(lab), lab.time_scale


@dataclass
class Prepared:
    services: list[Service]
    clock: Clock


def run(ns: argparse.Namespace) -> int:
    return startup.run_window(
        COMMAND,
        "IP Phone",
        lambda: _prepare(ns),
        lambda prepared, running: _main(ns, prepared, running),
        report_shown=ns.report_shown,
        style=False,
    )  # the phone has its own look


def _prepare(ns: argparse.Namespace) -> Prepared:
    lab = startup.running_lab(ns.lab_dir)
    startup.trust_lab(ns, lab)
    services = ipics_services(lab)
    if not (ns.extension.isdigit() and len(ns.extension) <= 15):
        raise startup.StartupError(f"--extension {ns.extension!r} is not a line number (digits, at most 15)")
    try:
        services += [parse_service(text) for text in ns.service]
    except ValueError as exc:
        raise startup.StartupError(str(exc)) from None
    clock = startup.lab_clock(ns.time_scale, lab)
    if not services:
        print(
            f"{COMMAND}: no lab is running there and no --service was given: the Services menu is empty "
            "(start a lab with ipics-lab up, or pass --lab-dir or --service NAME=URL)",
            file=sys.stderr,
        )
    return Prepared(services, clock)


async def _main(ns: argparse.Namespace, prepared: Prepared, running: startup.Running) -> None:
    from ipics_clients.addresses import address_seen_by
    from ipics_clients.phone_browser import PhoneBrowser
    from ipics_clients.phone_push import PushReceiver
    from ipics_desktop.phone.window import PhoneWindow

    browser = PhoneBrowser(prepared.services, clock=prepared.clock)
    window = PhoneWindow(browser=browser, extension=ns.extension)
    receiver = PushReceiver(window.execute, host=address_seen_by(s.url for s in prepared.services))
    receiver.enabled = ns.web_access
    try:
        try:
            await window.take_pushes(receiver)
        except OSError as exc:
            running.warn(
                f"cannot listen for pushes ({exc.strerror or exc}); the phone runs without them: "
                "after a failover open Services and log in again"
            )
        window.show()
        running.report_shown(
            "phone_shown_s",
            lambda: {
                "services": [[s.name, s.url] for s in browser.services],
                "push_url": receiver.url if receiver.port else None,
                "web_access": receiver.enabled,
            },
        )
        await running.until_closed(window.closed, window.close)
    finally:
        await receiver.close()
        await browser.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m ipics_desktop.phone.app``: the same as ``ipics-lab phone``."""
    return startup.command_main(COMMAND, __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
