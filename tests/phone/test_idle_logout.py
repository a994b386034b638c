"""Automatic logout after 30 minutes of inactivity, on one real server.

The server's clock is moved forward with the lab's clock-offset fault (a server
outside an HA pair, so no partner sees the skew): 30 emulated minutes pass at once and
exactly, where waiting for them would be slow or loose.
"""

from __future__ import annotations

import pytest

from ipics_clients.phone_browser import PhoneBrowser, Service
from ipics_clients.phone_xml import Input, Menu
from ipics_lab.supervisor import wait_until
from ipics_server.clock import Clock

from ..api.conftest import live_server  # noqa: F401 (fixture)
from .conftest import shown_text

PIN = "8642"
MINUTE = 60


@pytest.fixture(scope="module")
def phone_user(live_server):  # noqa: F811
    import asyncio

    async def setup():
        async with live_server.admin() as admin:
            for path, body in (
                ("/api/v1/users", {"username": "pat", "password": "pat-password-1", "role": "user"}),
                ("/api/v1/channels", {"name": "Tactical 1"}),
            ):
                reply = await admin.post(path, body)
                assert reply.status == 201, reply.body
                if path == "/api/v1/channels":
                    channel = reply.body["id"]
            reply = await admin.post(f"/api/v1/channels/{channel}/assignments", {"username": "pat"})
            assert reply.ok, reply.body
            reply = await admin.put("/api/v1/users/pat/dial-login", {"user_id": "4242", "pin": PIN})
            assert reply.ok and "pin_hash" not in reply.body, reply.body

    asyncio.run(setup())
    return "4242"


async def set_server_clock(server, minutes: float) -> None:
    async with server.admin() as admin:
        reply = await admin.post("/api/v1/lab/faults", {"fault": "clock-offset", "seconds": minutes * MINUTE})
        assert reply.ok, reply.body


@pytest.fixture
async def phone(live_server, phone_user):  # noqa: F811
    await set_server_clock(live_server, 0)
    browser = PhoneBrowser([Service("IPICS", live_server.url + "/phone/ipics")], clock=Clock(0.05))
    await browser.select(0)
    await browser.submit({"userid": phone_user, "pin": PIN})
    assert isinstance(browser.screen.obj, Menu), shown_text(browser)
    try:
        yield browser
    finally:
        await browser.close()


async def test_thirty_idle_minutes_log_the_phone_out(live_server, phone):  # noqa: F811
    await set_server_clock(live_server, 29)
    await phone.follow("SoftKey:Update")  # a key press at minute 29
    assert isinstance(phone.screen.obj, Menu)
    await set_server_clock(live_server, 58)  # 29 minutes after that key press
    await phone.follow("SoftKey:Update")
    assert isinstance(phone.screen.obj, Menu)
    await set_server_clock(live_server, 89)  # 31 minutes without a key
    await phone.follow("SoftKey:Update")
    assert isinstance(phone.screen.obj, Input)
    assert phone.screen.obj.prompt == "Logged out: 30 minutes idle"


async def test_the_talk_screen_reloading_itself_is_not_activity(live_server, phone):  # noqa: F811
    await phone.select(0)  # Tactical 1: the talk screen reloads itself every 2 s
    assert phone.screen.refresh_s > 0
    await set_server_clock(live_server, 2)
    reloads = []
    phone.on_change = lambda b: reloads.append(b.screen.url)
    await wait_until(lambda: len(reloads) >= 2, 10, "the talk screen to reload itself")
    # 29 minutes after those reloads, 31 after the last key press: only the key counts.
    await set_server_clock(live_server, 31)
    await wait_until(lambda: isinstance(phone.screen.obj, Input), 10, "the login screen")
    assert phone.screen.obj.prompt == "Logged out: 30 minutes idle"
