"""A client that goes away mid-request is not a server error (issue 14, item 5).

The server used to log ``ERROR aiohttp.server: Error handling request`` with a
``ConnectionResetError`` traceback for each one: a flood of false alarms in a fault
campaign, where clients time out against a paused server all the time.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from ipics_lab.supervisor import wait_until

#: (method, path, body sent before the reset): each handler reads a body it never gets whole
JSON, FORM, JPEG = "application/json", "application/x-www-form-urlencoded", "image/jpeg"
HALF_SENT = [
    pytest.param("POST", "/api/v1/auth/login", JSON, b'{"username": "ipicsad', id="json-login"),
    pytest.param("POST", "/api/v1/channels", JSON, b'{"name": "refused-half', id="json-with-token"),
    pytest.param("POST", "/api/v1/incidents/{incident}/files?name=half.jpg", JPEG, b"\xff\xd8\xff" * 100, id="upload"),
    pytest.param("POST", "/admin/login", FORM, b"username=ipicsadmin&pass", id="console-form"),
]


async def _reset_mid_request(url: str, request: bytes) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    await asyncio.sleep(0)  # the bytes are on their way; no need to wait for the server
    sock = writer.get_extra_info("socket")
    # SO_LINGER 0: close with a RST, as a client killed or timed out does
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("method,path,content_type,body", HALF_SENT)
async def test_a_client_gone_mid_request_is_not_logged_as_an_error(live_server, method, path, content_type, body):
    async with live_server.admin() as admin:
        incident = (await admin.post("/api/v1/incidents", {"name": "disconnects"}))["id"]
    log = live_server.data_dir / "server.log"  # everything from INFO up; stderr from WARNING
    before = log.stat().st_size
    head = (
        f"{method} {path.format(incident=incident)} HTTP/1.1\r\nHost: {live_server.url[7:]}\r\n"
        f"Authorization: Bearer {live_server.admin_token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {live_server.max_upload_bytes}\r\n\r\n"
    )
    await _reset_mid_request(live_server.url, head.encode() + body)

    # The server noticed (it logs the disconnect at info level) and keeps serving.
    async def noticed():
        return "client disconnected" in log.read_text(errors="replace")[before:]

    await wait_until(noticed, 10, "the server to notice the client left")
    async with live_server.client() as c:
        assert (await c.get("/api/v1/ha/status")).ok
    new = log.read_text(errors="replace")[before:]
    assert "ERROR" not in new and "Traceback" not in new, new
