"""An HTTPS server whose certificate this client does not trust: the IDC's login stops
at once with a sentence saying what to give the client, instead of "does not answer"
and a detour to the other server (which would not be trusted either); the phone says
so on its screen."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from ipics_clients.phone_browser import PhoneBrowser, Service
from ipics_clients.session import LoginError, State
from ipics_lab.ca import init_ca, issue
from ipics_server.adapters.tls import server_context
from ipics_server.clock import Clock


@asynccontextmanager
async def stranger(tmp_path):
    """An HTTPS server on loopback whose certificate a CA nobody gave this process signed."""
    init_ca(tmp_path / "other-ca")
    issued = issue(tmp_path / "other-ca", ip="127.0.0.1", name="stranger")
    runner = web.AppRunner(web.Application())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(issued.cert, issued.key)).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_a_login_to_a_server_signed_by_an_unknown_ca_says_to_give_the_ca(console, tmp_path):
    async with stranger(tmp_path) as url:
        with pytest.raises(LoginError, match=r"the server's certificate is not trusted .*--ca-file"):
            await console.login(url, "dan", "whatever")
    assert console.state == State.LOGGED_OUT


async def test_the_phone_says_the_certificate_is_not_trusted(tmp_path):
    async with stranger(tmp_path) as url:
        phone = PhoneBrowser([Service("IPICS", url + "/phone/ipics")], clock=Clock(0.01))
        try:
            await phone.open(url + "/phone/ipics")
            assert phone.screen.error and phone.screen.obj.text == f"Certificate not trusted: {url[8:]}"
        finally:
            await phone.close()
