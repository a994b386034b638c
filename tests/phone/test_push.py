"""The phone's push receiver (``POST /CGI/Execute``): authenticated, strict, robust."""

from __future__ import annotations

import base64

import pytest

from ipics_clients.phone_push import PushReceiver
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.phone.objects import execute


@pytest.fixture
async def receiver():
    opened: list[str] = []

    async def record(url: str) -> None:
        opened.append(url)

    r = PushReceiver(record)
    await r.start()
    r.opened = opened
    try:
        yield r
    finally:
        await r.close()


def basic(secret: str, user: str = "push") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


async def push(receiver: PushReceiver, xml: str, headers: dict) -> tuple[int, str]:
    async with ApiClient(f"http://{receiver.host}:{receiver.port}") as c:
        reply = await c.post("/CGI/Execute", data={"XML": xml}, headers=headers)
    return reply.status, reply.body


async def test_an_authenticated_push_opens_its_url(receiver):
    status, body = await push(receiver, execute("http://127.0.0.1:1/phone/ipics/menu"), basic(receiver.secret))
    assert status == 200 and 'Status="0"' in body
    assert receiver.received == ["http://127.0.0.1:1/phone/ipics/menu"]
    assert receiver.headers()["X-Lab-Phone-Execute-URL"] == receiver.url


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer x"}, {"Authorization": "Basic !!!"}], ids=["none", "bearer", "garbage"]
)
async def test_a_push_without_the_secret_is_refused(receiver, headers):
    status, body = await push(receiver, execute("http://127.0.0.1:1/x"), headers)
    assert status == 401 and 'Number="4"' in body
    status, _ = await push(receiver, execute("http://127.0.0.1:1/x"), basic("wrong-secret-0123456789"))
    assert status == 401
    assert receiver.received == []


@pytest.mark.parametrize(
    "xml",
    [
        "<CiscoIPPhoneExecute>",
        "<CiscoIPPhoneText><Text>x</Text></CiscoIPPhoneText>",
        "<CiscoIPPhoneExecute></CiscoIPPhoneExecute>",
        '<!DOCTYPE x [<!ENTITY a "a">]><CiscoIPPhoneExecute><ExecuteItem URL="&a;"/></CiscoIPPhoneExecute>',
        "<CiscoIPPhoneExecute>" + '<ExecuteItem URL="http://h/x"/>' * 4 + "</CiscoIPPhoneExecute>",
        '<CiscoIPPhoneExecute><ExecuteItem URL="http://h/' + "x" * 300 + '"/></CiscoIPPhoneExecute>',
    ],
    ids=["broken", "not-execute", "no-items", "entities", "too-many", "long-url"],
)
async def test_bad_xml_is_refused_and_the_phone_keeps_taking_pushes(receiver, xml):
    status, body = await push(receiver, xml, basic(receiver.secret))
    assert status == 400 and 'Number="1"' in body
    status, _ = await push(receiver, execute("http://127.0.0.1:1/ok"), basic(receiver.secret))
    assert status == 200 and receiver.received == ["http://127.0.0.1:1/ok"]


async def test_an_oversized_push_is_refused(receiver):
    status, _ = await push(receiver, "x" * 20_000, basic(receiver.secret))
    assert status in (400, 413)
    assert receiver.received == []


async def test_a_phone_with_push_disabled_takes_none(receiver):
    receiver.enabled = False
    status, _ = await push(receiver, execute("http://127.0.0.1:1/x"), basic(receiver.secret))
    assert status == 403 and receiver.received == []


async def test_an_oversized_push_is_refused_without_echoing_its_credentials(receiver):
    """A push carries the phone's credentials (Basic auth): aiohttp's own answer to an
    oversized header quoted the line, password included."""
    from .conftest import raw_http

    secret = receiver.secret
    request = (
        f"POST /CGI/Execute HTTP/1.1\r\nHost: phone\r\nAuthorization: Basic {secret}{'x' * 9000}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()
    status, _, body = await raw_http(f"http://{receiver.host}:{receiver.port}", request)
    assert status == 400 and secret not in body.decode("utf-8", "replace") and b"Basic" not in body
    assert not receiver.opened
