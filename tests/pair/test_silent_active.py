"""The active server goes silent (SIGSTOP: the kernel still takes connections, nothing
answers, no connection is refused or reset, an open WebSocket just goes quiet), as a
partition that drops packets makes it.  Every client notices by its own deadline and
follows the failover as the chapter says (HA Affect on the IDC Connections, HA Affect
On Connected Devices): the console and the mobile client go offline and reconnect to
the new active by themselves, the IP phone is pushed over (or, without the push, shows
the error and the user logs in on the other server), the telephone's call drops and
calling back works; a dial-out participant's call drops too.  The silent server holds none of them up on the way.

One pair for all four clients: they are independent, and a pair is the costly part.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from ipics_clients import session as session_module
from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MobileClient
from ipics_clients.phone_browser import REQUEST_TIMEOUT_S, UPDATE
from ipics_clients.phone_xml import Menu
from ipics_clients.session import ConsoleSession, State, offline_deadline_s
from ipics_clients.telephone import SETUP_TIMEOUT_S, Telephone, drop_deadline_s
from ipics_clients.telephone import State as Line
from ipics_lab.supervisor import wait_until
from ipics_server.clock import Clock
from ipics_server.dial.pstn import PstnDirectory
from ipics_server.phone.service import TALK_REFRESH_S

from ..phone.conftest import PRIMARY, SECONDARY, ipics_phone, log_in, menu_names
from ..telephone.test_dial_out import downtown
from .conftest import TAKEOVER_DEADLINE_S, TIME_SCALE

#: real seconds for the loop to run a timer and a few requests on a busy 2-core machine
SLACK_S = 1.0


class Moments:
    """When each client was first seen in a state, on the monotonic clock."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def mark(self, what: str) -> None:
        self.seen.setdefault(what, time.monotonic())

    def session(self, name: str, secondary: str):
        def on_change(client, _notice) -> None:
            s = client if isinstance(client, ConsoleSession) else client.session
            if s.state == State.OFFLINE:
                self.mark(f"{name} offline")
            elif s.state == State.ONLINE and s.server == secondary:
                self.mark(f"{name} online on the secondary")

        return on_change


def known(urls: list[str]) -> KnownServers:
    servers = KnownServers()
    for url in urls:
        servers.add(url)
    return servers


def host_of(url: str | None) -> str:
    return (url or "").split("/")[2] if url and "//" in url else ""


async def test_every_client_notices_a_silent_active_by_its_deadline_and_follows_the_failover(demo, tmp_path: Path):
    pair = demo.pair
    urls = [pair.primary.url, pair.secondary.url]
    clock = Clock(TIME_SCALE)
    moments = Moments()
    dan = ConsoleSession(known(urls), clock=clock, on_change=moments.session("console", pair.secondary.url))
    fred = MobileClient(
        ConsoleSession(known(urls), clock=clock), tmp_path / "fred", on_change=moments.session("mobile", urls[1])
    )
    telephone = Telephone("5551234", urls, on_change=lambda t: t.state == Line.DROPPED and moments.mark("dropped"))
    invited = Telephone("5557001", [], on_change=lambda t: t.state == Line.DROPPED and moments.mark("dial-out dropped"))
    await invited.connect_to(PstnDirectory(pair.pstn_directory))
    async with ipics_phone(pair) as pushed, ipics_phone(pair) as unpushed:
        try:
            await dan.login(pair.primary.url, "dan", demo.password)
            await fred.login(pair.primary.url, "fred", demo.password)
            await log_in(pushed.browser, PRIMARY, "1002", demo.pin)  # Adam, on his menu
            unpushed.receiver.enabled = False  # Amy's phone: the new active cannot reach it
            await log_in(unpushed.browser, PRIMARY, "1004", demo.pin)
            await unpushed.browser.select(0)  # a talk screen, which reloads itself
            assert unpushed.browser.screen.refresh_s == TALK_REFRESH_S
            assert await telephone.dial()
            await telephone.press(f"1003#{demo.pin}#")  # Ursula
            await wait_until(lambda: any("press 1" in h for h in telephone.heard), 10, "the voice menu's list")
            await telephone.press("1#")
            await wait_until(lambda: telephone.group, 10, "Ursula's first channel joined")
            async with pair.primary.client(dan.token) as c:  # Dan invites a telephone into a VTG
                reply = await c.post(f"/api/v1/vtgs/{await downtown(c)}/dial-out", {"number": invited.number})
                assert reply.ok, reply.body
            await wait_until(lambda: invited.state == Line.CONNECTED, 10, "the invited telephone to answer")
            await pair.wait_ready()  # every session has reached the standby

            silent_at = time.monotonic()
            pair.primary.send_signal(signal.SIGSTOP)
            # Adam presses Update: the request waits on the silent server.
            update = asyncio.ensure_future(pushed.browser.follow(UPDATE))

            def by(deadline_s: float) -> float:  # real seconds left until silence + deadline
                return max(0.0, silent_at + deadline_s - time.monotonic())

            # Each notices by its own deadline.
            both_offline = ("console offline", "mobile offline")
            await wait_until(
                lambda: all(m in moments.seen for m in both_offline),
                by(offline_deadline_s(clock) + SLACK_S),
                "the console and the mobile client to go offline",
            )
            await wait_until(
                lambda: {"dropped", "dial-out dropped"} <= moments.seen.keys(),
                by(drop_deadline_s() + SLACK_S),
                "the dial-in and the dial-out call to drop",
            )
            await wait_until(
                lambda: unpushed.browser.screen.error,
                by(clock.real_seconds(TALK_REFRESH_S) + REQUEST_TIMEOUT_S + SLACK_S),
                "Amy's phone to show the error",
            )
            assert "not answering" in unpushed.browser.screen.obj.text

            # The standby takes over; the silent server holds nobody up on the way there.
            await pair.wait_status(pair.secondary, by(TAKEOVER_DEADLINE_S), role="active")
            active_seen_at = time.monotonic()
            both_back = ("console online on the secondary", "mobile online on the secondary")
            await wait_until(lambda: all(m in moments.seen for m in both_back), SLACK_S * 5, "both back online")
            # One poll after the new active answers, plus its listing, token check and
            # configuration: not after the silent server's request deadline.
            back_within_s = clock.real_seconds(session_module.RECONNECT_EVERY_S) + 2 * SLACK_S
            assert back_within_s < session_module.REQUEST_TIMEOUT_S
            for m in both_back:
                assert moments.seen[m] - active_seen_at <= back_within_s, (m, moments.seen[m] - active_seen_at)
            assert dan.notices[-1].kind == "reconnected" and dan.config.channel_names()

            # The new active pushed Adam's phone over; his Update to the silent one is dropped.
            await wait_until(
                lambda: (
                    host_of(pushed.browser.screen.url) == host_of(pair.secondary.url)
                    and isinstance(pushed.browser.screen.obj, Menu)
                ),
                SLACK_S * 5,
                "Adam's menu from the new active",
            )
            await asyncio.wait_for(update, SLACK_S)
            assert host_of(pushed.browser.screen.url) == host_of(pair.secondary.url)
            assert not pushed.browser.screen.error and menu_names(pushed.browser)

            # Amy opens Services, picks the other server and logs in again.
            await log_in(unpushed.browser, SECONDARY, "1004", demo.pin)
            assert host_of(unpushed.browser.screen.url) == host_of(pair.secondary.url)
            assert menu_names(unpushed.browser)

            # Ursula calls back: the call is set up as fast as the new active takes it.
            async with asyncio.timeout(SETUP_TIMEOUT_S / 2):
                assert await telephone.dial()
            assert telephone.server == pair.secondary.url
        finally:
            pair.primary.kill()  # a stopped process dies of SIGKILL too
            await telephone.hang_up()
            await invited.disconnect()
            await fred.close()
            await dan.close()
