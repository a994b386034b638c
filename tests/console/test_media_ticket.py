"""The console's push-to-talk ticket (``MediaTicket``) against a real pair: asked at
login when a router floor wants one, asked again when the user's channels change and
when it is due, dropped at logout; a console without a router floor asks for none.
(After a failover it is asked of the new active: tests/media/gui/test_console_ptt.py.)"""

from __future__ import annotations

import asyncio
import contextlib

from ipics_clients.media_ticket import MediaTicket
from ipics_lab.supervisor import wait_until
from ipics_server.media.ticket import peek

from ..pair.conftest import USER_PASSWORD, demo  # noqa: F401 (fixture)


async def test_a_console_with_a_router_floor_gets_a_ticket_at_login_and_a_new_one_when_its_channels_change(
    demo,  # noqa: F811 (the fixture imported above)
    console,
):
    pair = demo.pair
    told: list[str | None] = []
    console.media_ticket.subscribe(told.append)  # as a RouterFloor follows it
    await console.login(pair.primary.url, "dan", USER_PASSWORD)
    assert len(told) == 1 and peek(told[0]).who == "dan"
    shown = {g["id"] for g in console.config.channels + console.config.vtgs}
    assert peek(told[0]).groups == shown == console.media_ticket.groups

    works = demo.seeded["channels"]["Public Works"]
    assert works not in shown
    async with await pair.admin(pair.primary) as admin:
        assert (await admin.post(f"/api/v1/channels/{works}/assignments", {"username": "dan"})).status == 201
    await wait_until(lambda: len(told) == 2, 10, "a new ticket after the assignment was pushed")
    assert works in peek(told[1]).groups and works in {c["id"] for c in console.config.channels}

    await console.logout()
    assert told[-1] is None and console.media_ticket.ticket is None


async def test_a_console_without_a_router_floor_asks_for_no_ticket(demo, console):  # noqa: F811
    await console.login(demo.pair.primary.url, "dan", USER_PASSWORD)
    assert console.media_ticket.ticket is None and console.media_ticket.problem is None


async def test_the_ticket_is_asked_again_when_due(demo):  # noqa: F811
    pair = demo.pair
    tickets, told = MediaTicket(), []
    tickets.subscribe(told.append)
    async with pair.primary.client() as c:
        token = (await c.post("/api/v1/auth/login", {"username": "fred", "password": USER_PASSWORD}))["token"]
    async with pair.primary.client(token) as api:
        assert await tickets.fetch(api) and tickets.refresh_after_s == 450
        tickets.refresh_after_s = 0.05  # due at once (the server says 450 real seconds)
        refresher = asyncio.get_running_loop().create_task(tickets.keep_fresh(lambda: api))
        try:
            await wait_until(lambda: len(told) == 2, 10, "a fresh ticket when the old one is due")
            assert peek(told[1]).issued_at > peek(told[0]).issued_at and tickets.refresh_after_s == 450
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
