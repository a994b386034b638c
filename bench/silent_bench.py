"""The clients against an active server that goes silent: real seconds from the moment
it goes silent to each client working on the new active ("reconnect").

    .venv/bin/python bench/silent_bench.py [--runs 3] [--time-scale 0.02] [--out PATH] [--topology loopback|sites]

A pair at the chapter's heartbeat settings (15 s, 5 missed) with the demo data, and
one of each client connected to the active (the primary): an IDC console session
(Dan), a mobile client (Fred), an IP phone on its menu that takes pushes (Adam), a
telephone in a channel (Ursula).  Then the active goes silent, by default paused
(SIGSTOP: connections are still taken, nothing answers), and each client is timed
until it works on the secondary:

- console, mobile: ONLINE on the secondary (offline first, then reconnected by itself);
- phone: showing a page of the secondary (the new active's push; no key pressed);
- telephone: its call dropped, it calls back at once, and again 0.1 s after each
  "all circuits busy", until the secondary takes the call.

How the active goes silent is a parameter: ``reconnect_figures(pair, make_silent=...)``
takes any coroutine function that silences ``pair``'s primary and returns how to end
it; ``--topology sites`` (as root) runs the same figure with the active's site
unplugged by the kernel (``unplug_active``), the clients on this host reaching the
sites across the lab's bridge.  The figures go to
``bench/silent_results.json`` in the schema of ``bench/results.json``, with the
machine and the date; bench/README.md says what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run_bench, when run as a script

from run_bench import Figure, ready_pair, rounded, write_results

from ipics_clients.addresses import address_seen_by, origin
from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MobileClient
from ipics_clients.phone_browser import PhoneBrowser, ipics_service
from ipics_clients.phone_push import PushReceiver
from ipics_clients.session import ConsoleSession, State
from ipics_clients.telephone import SETUP_TIMEOUT_S, Telephone
from ipics_clients.telephone import State as Line
from ipics_lab.netfaults import KernelFaults
from ipics_lab.seed import DEMO_DIAL_IDS, seed_demo_data
from ipics_lab.sites import TOPOLOGIES
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.clock import Clock

HERE = Path(__file__).resolve().parent
TIME_SCALE = 0.02
INTERVAL_S = 15
MISSED = 5
RUNS = 3
PASSWORD = "dispatch-bench-1"
PIN = "4321"
CLIENTS = ("console", "mobile", "phone", "telephone")
#: the goals: what the silent server may cost each client beyond the failover itself,
#: in real seconds from the secondary becoming active to the client working there.  One
#: poll and a few requests for the sessions, the push for the phone; the telephone's
#: caller may have called during the takeover, when the secondary refused and the
#: silent primary might still take the call: the busy tone comes at SETUP_TIMEOUT_S,
#: then the caller calls again.
AFTER_ACTIVE_GOAL_S = {"console": 1.0, "mobile": 1.0, "phone": 1.0, "telephone": SETUP_TIMEOUT_S + 1.0}

#: how soon the telephone's caller calls back after a drop or a busy tone (real seconds)
CALL_BACK_AFTER_S = 0.1

#: silences ``pair``'s active (the primary); returns the coroutine function that ends it
MakeSilent = Callable[[LabPair], Awaitable[Callable[[], Awaitable[None]]]]


async def pause_active(pair: LabPair) -> Callable[[], Awaitable[None]]:
    """SIGSTOP the primary (the lab's "pause"); it is killed at the end, not resumed:
    back, it would be a second active to repair, which is not what is measured."""
    pair.primary.send_signal(signal.SIGSTOP)

    async def end() -> None:
        pair.primary.kill()

    return end


async def unplug_active(pair: LabPair) -> Callable[[], Awaitable[None]]:
    """The sites topology: the active's site unplugged by the kernel (nftables drops every
    packet in and out of its namespace): silent to its partner and to every client at
    once, connects hang; it is killed at the end, as a paused one is."""
    network = pair.network
    assert isinstance(network, KernelFaults), "unplug_active needs the sites topology"
    await network.unplug("primary")

    async def end() -> None:
        pair.primary.kill()
        await network.heal()

    return end


class Clients:
    """One of each client, logged in on the primary, and when each worked on the secondary."""

    def __init__(self, pair: LabPair, profile: Path, phone_host: str = "127.0.0.1"):
        self.pair = pair
        urls = [pair.primary.url, pair.secondary.url]
        clock = Clock(pair.time_scale)
        self.working: dict[str, float] = {}
        self.console = ConsoleSession(self._known(urls), clock=clock, on_change=self._session_changed("console"))
        self.mobile = MobileClient(
            ConsoleSession(self._known(urls), clock=clock), profile, on_change=self._session_changed("mobile")
        )
        self.phone = PhoneBrowser(
            [ipics_service("primary", urls[0]), ipics_service("secondary", urls[1])],
            clock=clock,
            on_change=self._phone_changed,
        )
        self.receiver = PushReceiver(self.phone.execute, host=phone_host)
        self.telephone = Telephone("5551234", urls)

    @staticmethod
    def _known(urls: list[str]) -> KnownServers:
        known = KnownServers()
        for url in urls:
            known.add(url)
        return known

    def _session_changed(self, name: str):
        def changed(client, _notice) -> None:
            s = client if isinstance(client, ConsoleSession) else client.session
            if s.state == State.ONLINE and s.server == self.pair.secondary.url:
                self.working.setdefault(name, time.monotonic())

        return changed

    def _phone_changed(self, phone: PhoneBrowser) -> None:
        url = phone.screen.url or ""
        if url and origin(url) == origin(self.pair.secondary.url) and not phone.screen.error:
            self.working.setdefault("phone", time.monotonic())

    async def connect(self) -> None:
        pair = self.pair
        await self.console.login(pair.primary.url, "dan", PASSWORD)
        await self.mobile.login(pair.primary.url, "fred", PASSWORD)
        await self.receiver.start()
        self.phone.headers.update(self.receiver.headers())
        await self.phone.press_services()
        await self.phone.select(0)
        await self.phone.submit({"userid": DEMO_DIAL_IDS["adam"], "pin": PIN})
        if not await self.telephone.dial():
            raise RuntimeError("the telephone could not call the active server")
        await self.telephone.press(f"{DEMO_DIAL_IDS['ursula']}#{PIN}#")
        await wait_until(lambda: any("press 1" in h for h in self.telephone.heard), 10, "the voice menu's list")
        await self.telephone.press("1#")
        await wait_until(lambda: self.telephone.group, 10, "Ursula in her first channel")

    async def call_back(self) -> None:
        """Ursula calls back as soon as the call dropped, and after each busy tone."""
        await wait_until(lambda: self.telephone.state == Line.DROPPED, 60, "the telephone's call to drop")
        while not await self.telephone.dial() or self.telephone.server != self.pair.secondary.url:
            await self.telephone.hang_up()
            await asyncio.sleep(CALL_BACK_AFTER_S)  # the caller's pace, not a wait for a state
        self.working["telephone"] = time.monotonic()

    async def close(self) -> None:
        for close in (self.telephone.hang_up, self.receiver.close, self.phone.close, self.mobile.close):
            await close()
        await self.console.close()


async def active_at(pair: LabPair, timeout_s: float) -> float:
    """When the secondary is first seen answering as the active server."""
    await pair.wait_status(pair.secondary, timeout_s=timeout_s, role="active")
    return time.monotonic()


async def one_run(
    pair: LabPair, make_silent: MakeSilent, profile: Path, timeout_s: float, phone_host: str = "127.0.0.1"
) -> dict[str, Any]:
    """One silence on a pair that is Ready with the demo data (``PASSWORD``, ``PIN``):
    real seconds from the silence to the secondary active and to each client working there."""
    clients = Clients(pair, profile, phone_host)
    try:
        await clients.connect()
        await pair.wait_ready()  # every session has reached the standby
        silent_at = time.monotonic()
        end = await make_silent(pair)
        try:
            calling_back = asyncio.ensure_future(clients.call_back())
            active = await active_at(pair, timeout_s)
            await wait_until(
                lambda: set(CLIENTS) <= clients.working.keys(),
                timeout_s,
                "every client on the secondary",
            )
            await calling_back
        finally:
            await end()
        return {
            "loadavg_1min": round(os.getloadavg()[0], 2),  # other work on the machine slows every figure
            "silent_to_active_s": round(active - silent_at, 3),
            "silent_to_working_s": {c: round(clients.working[c] - silent_at, 3) for c in CLIENTS},
            "after_active_s": {c: round(clients.working[c] - active, 3) for c in CLIENTS},
        }
    finally:
        await clients.close()


async def reconnect_figures(
    pair: LabPair,
    *,
    make_silent: MakeSilent = pause_active,
    profile: Path,
    timeout_s: float = 60,
    phone_host: str = "127.0.0.1",
) -> dict[str, Any]:
    """One run on ``pair`` (Ready, demo data with ``PASSWORD`` and ``PIN``): what
    ``one_run`` measures, for a caller with a pair of its own (the sites topology, where
    the phone takes the new active's push on ``phone_host``, an address of the clients'
    site the servers reach)."""
    return await one_run(pair, make_silent, profile, timeout_s, phone_host)


async def measure(runs: int, time_scale: float, topology: str = "loopback") -> list[Figure]:
    results = []
    silence, silenced_by = (
        (unplug_active, "the active's site unplugged by the kernel (sites topology)")
        if topology == "sites"
        else (pause_active, "SIGSTOP of the active (pause)")
    )
    for n in range(runs):
        print(f"run {n + 1} of {runs} ...", file=sys.stderr, flush=True)
        async with ready_pair(
            time_scale=time_scale, interval_s=INTERVAL_S, missed_count=MISSED, topology=topology
        ) as pair:
            async with await pair.admin(pair.primary) as admin:
                await seed_demo_data(admin, PASSWORD, PIN)
            await pair.wait_ready()
            with tempfile.TemporaryDirectory(prefix="ipics-silent-") as profile:
                results.append(
                    await reconnect_figures(
                        pair,
                        make_silent=silence,
                        profile=Path(profile),
                        phone_host=address_seen_by([pair.primary.url]),
                    )
                )
    failover = [r["silent_to_active_s"] for r in results]
    figures = []
    for c in CLIENTS:
        worst = max(r["silent_to_working_s"][c] for r in results)
        after = [r["after_active_s"][c] for r in results]
        details = {
            "time_scale": time_scale,
            "interval_s": INTERVAL_S,
            "missed_count": MISSED,
            "silenced_by": silenced_by,
            "topology": topology,
            "runs": runs,
            "silent_to_working_s": [r["silent_to_working_s"][c] for r in results],
            "silent_to_active_s": failover,
            "after_active_s": after,
            "after_active_median_s": rounded(median(after), 3),
            "loadavg_1min": [r["loadavg_1min"] for r in results],
        }
        figures.append(
            Figure(
                f"silent_reconnect_{c}_s",
                worst,
                "s (real, active silent -> working on the new active; worst run)",
                f"after the new active answers: <= {AFTER_ACTIVE_GOAL_S[c]:g}",
                max(after) <= AFTER_ACTIVE_GOAL_S[c],
                details,
            )
        )
    return figures


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=RUNS, help="fresh pairs, one silence each")
    parser.add_argument("--time-scale", type=float, default=TIME_SCALE, help="real seconds per emulated second")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: bench/silent_results.json (bench/silent_sites_results.json in the sites topology)",
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="loopback",
        help="loopback (default: the active paused), or sites (as root: the active's site unplugged by the kernel)",
    )
    ns = parser.parse_args(argv)
    if ns.runs < 1:
        parser.error("--runs must be at least 1")
    out = ns.out or HERE / ("silent_sites_results.json" if ns.topology == "sites" else "silent_results.json")
    return write_results(out, f"{ns.runs} runs, {ns.topology}", await measure(ns.runs, ns.time_scale, ns.topology))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
