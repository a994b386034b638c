"""An HTTPS server whose certificate this client does not trust: the login stops at
once with a sentence saying what to give the client, instead of "does not answer" and
a detour to the other server (which would not be trusted either)."""

from __future__ import annotations

import pytest
from aiohttp import web

from ipics_clients.session import LoginError, State
from ipics_lab.ca import init_ca, issue
from ipics_server.adapters.tls import server_context


async def test_a_login_to_a_server_signed_by_an_unknown_ca_says_to_give_the_ca(console, tmp_path):
    init_ca(tmp_path / "other-ca")  # a CA nobody gave this process
    issued = issue(tmp_path / "other-ca", ip="127.0.0.1", name="stranger")
    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(issued.cert, issued.key))
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(LoginError, match=r"the server's certificate is not trusted .*--ca-file"):
            await console.login(f"https://127.0.0.1:{port}", "dan", "whatever")
    finally:
        await runner.cleanup()
    assert console.state == State.LOGGED_OUT
