"""What a phone -- or anyone -- gets from a real server for a page that does not exist
and for a request the server will not read.

A phone shows XML or text only, so under ``/phone/`` a refusal is a phone object.  A
request line or header over aiohttp's 8,190 bytes is refused with a message that
quotes nothing of the request (aiohttp's own answer echoed it, ``pin=`` included), on
every path, and the server log does not hold it either.
"""

from __future__ import annotations

import secrets

import aiohttp
import pytest

from ipics_clients.phone_xml import Text, parse

from ..api.conftest import live_server  # noqa: F401 (fixture)
from .conftest import raw_http

PAD = 9000  # past aiohttp's 8,190-byte limit for a request line and for a header


@pytest.mark.parametrize(
    "path, method, status",
    [
        ("/phone/ipics/nothing-here", "GET", 404),
        ("/phone/", "GET", 404),
        ("/phone", "GET", 404),
        ("/phone/other-service/menu", "GET", 404),
        ("/phone/ipics/login", "POST", 405),
    ],
)
async def test_a_refusal_under_phone_is_a_phone_text_object(live_server, path, method, status):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        async with http.request(method, live_server.url + path) as resp:
            body = await resp.read()
            assert resp.status == status and resp.content_type == "text/xml", (resp.status, body[:200])
            obj = parse(body)
            assert (
                isinstance(obj, Text) and obj.text and [k.url for k in obj.softkeys] == ["SoftKey:Back", "SoftKey:Exit"]
            )
            if status == 405:
                assert "GET" in resp.headers["Allow"].split(",")
    async with aiohttp.ClientSession() as http:  # elsewhere the API's JSON stays as it was
        async with http.get(live_server.url + "/api/v1/nothing-here") as resp:
            assert resp.status == 404 and resp.content_type == "application/json"


def oversized_requests(secret: str) -> dict[str, bytes]:
    """Requests aiohttp will not read, each carrying ``secret`` where a real one would be."""
    long_query = f"userid=1001&pin={secret}&pad={'9' * PAD}"
    requests = {
        f"request line, {path}": f"GET {path}?{long_query} HTTP/1.1\r\nHost: ipics\r\n"
        for path in ("/phone/ipics/login", "/api/v1/channels", "/admin/login", "/", "/no/such/path")
    }
    requests["header"] = (
        f"GET /api/v1/channels HTTP/1.1\r\nHost: ipics\r\nAuthorization: Bearer {secret}{'x' * PAD}\r\n"
    )
    requests["cookie"] = f"GET /phone/ipics/menu HTTP/1.1\r\nHost: ipics\r\nCookie: IPICSPHONE={secret}{'x' * PAD}\r\n"
    requests["header name"] = f"GET / HTTP/1.1\r\nHost: ipics\r\nX-{secret}{'x' * PAD}: 1\r\n"
    requests["bad header"] = f"GET / HTTP/1.1\r\nHost: ipics\r\nPin {secret}\r\n"  # no colon: malformed
    return {what: (r + "Connection: close\r\n\r\n").encode() for what, r in requests.items()}


async def test_an_oversized_or_malformed_request_is_refused_without_echoing_any_of_it(live_server):  # noqa: F811
    secret = "246810" + secrets.token_hex(8)
    for what, request in oversized_requests(secret).items():
        status, headers, body = await raw_http(live_server.url, request)
        text = body.decode("utf-8", "replace")
        assert status == 400 and headers["content-type"].startswith("text/plain"), (what, status, text)
        assert "longer than 8190 bytes" in text or "not a valid HTTP request" in text, (what, text)
        for leak in (secret, secret[:6], "pin=", "userid", "IPICSPHONE", "Bearer", "GET "):
            assert leak not in text, f"{what}: the answer echoes {leak!r}: {text!r}"
    # The server goes on, and its log does not hold the secret either.
    async with aiohttp.ClientSession() as http:
        async with http.get(live_server.url + "/api/v1/ha/status") as resp:
            assert resp.status == 200
    log = live_server.proc.log_path.read_text(errors="replace")
    assert secret[6:] not in log
