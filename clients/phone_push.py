"""The IP phone's push receiver: ``POST /CGI/Execute`` with a ``CiscoIPPhoneExecute``.

A phone service pushes a URL to the phone (the IPICS server that becomes active
pushes its own address, chapter: "the standby server attempts to redirect the IP
phone connection"); the phone opens it as if the user had chosen it.  Pushes need
HTTP basic authentication; a real phone checks them against its Communications
Manager user, the lab phone against a random secret it announces to the services it
visits (``headers``), since on loopback only the phone and those services know it.

With push disabled (the phone's web access switched off, or a network that does not
let the server reach the phone) the server's attempt fails, and the user reconnects
through Services, as the chapter says.
"""

from __future__ import annotations

import base64
import logging
import secrets
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from ipics_clients.phone_xml import PhoneXmlError, parse_execute
from ipics_clients.tasks import Tasks
from ipics_server.malformed_requests import SockSite
from ipics_server.phone.service import EXECUTE_AUTH_HEADER, EXECUTE_URL_HEADER

log = logging.getLogger("ipics.phone")

EXECUTE_PATH = "/CGI/Execute"
MAX_PUSH_BYTES = 8 * 1024


def _response(status: int, data: str, *, http_status: int = 200) -> web.Response:
    body = f'<CiscoIPPhoneResponse><ResponseItem Status="{status}" Data="{data}" URL=""/></CiscoIPPhoneResponse>'
    return web.Response(text=body, content_type="text/xml", status=http_status)


def _error(number: int, http_status: int) -> web.Response:
    # CiscoIPPhoneError numbers: 1 parse error, 4 authentication error.
    return web.Response(text=f'<CiscoIPPhoneError Number="{number}"/>', content_type="text/xml", status=http_status)


class PushReceiver:
    """Listens on ``host`` (a free port) for pushes and hands each URL to ``execute``."""

    def __init__(self, execute: Callable[[str], Coroutine[Any, Any, None]], *, host: str = "127.0.0.1"):
        self.execute = execute
        self.host = host
        self.enabled = True
        self.secret = secrets.token_urlsafe(24)
        self.port: int | None = None
        self.received: list[str] = []
        self._runner: web.AppRunner | None = None
        self._tasks = Tasks("push")  # the pushed pages opening

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{EXECUTE_PATH}"

    def headers(self) -> dict[str, str]:
        """What the phone sends with each request so services can push to it."""
        return {EXECUTE_URL_HEADER: self.url, EXECUTE_AUTH_HEADER: self.secret} if self.port else {}

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_PUSH_BYTES)
        app.router.add_post(EXECUTE_PATH, self._execute)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        # A push carries the phone's credentials: a malformed one is refused without
        # quoting any of it (aiohttp's own answer quotes the offending line).
        await SockSite(self._runner, sock).start()
        self.port = sock.getsockname()[1]

    async def close(self) -> None:
        await self._tasks.close()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def _execute(self, request: web.Request) -> web.Response:
        if not self.enabled:
            # Web access disabled on the phone: as if nothing listened.
            return web.Response(status=403, text="push disabled on this phone")
        if not self._authorized(request.headers.get("Authorization", "")):
            return _error(4, 401)
        try:
            form = await request.post()
            document = form.get("XML")
            if not isinstance(document, str):
                return _error(1, 400)
            urls = parse_execute(document.encode())
        except (PhoneXmlError, ValueError, web.HTTPRequestEntityTooLarge) as exc:
            log.info("refused a push: %s", exc)
            return _error(1, 400)
        for url in urls:
            self.received.append(url)
            self._tasks.start(self.execute(url))
        return _response(0, "Success")

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == "push" and secrets.compare_digest(password.encode(), self.secret.encode())
