"""A request the HTTP server will not read is refused without quoting any of it.

aiohttp answers a request line or a header over 8,190 bytes -- and any other request
it cannot parse -- with a ``text/plain`` 400 whose text is the parser's message, which
quotes the offending line (``/phone/ipics/login?userid=...&pin=...``, a ``Cookie`` or
``Authorization`` header), and logs it with a traceback at ERROR.  No secret is ever
echoed or logged, so here the answer says in general words what was wrong, and the
log names the client and the kind of error only.  A client sending such a request is
not a server error: INFO.

``SockSite`` is ``web.SockSite`` with connections of this ``RequestHandler``: the one
place aiohttp builds that answer (``RequestHandler.handle_error``, given the parser's
exception) has no setting for it.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler as _AiohttpRequestHandler

log = logging.getLogger("ipics.server")


class RequestHandler(_AiohttpRequestHandler):
    __slots__ = ()

    def handle_error(
        self, request, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)  # a handler's 500: no request text
        log.info("refused a malformed HTTP request from %s: %s", request.remote, type(exc).__name__)
        if isinstance(exc, LineTooLong):
            why = (
                f"The request line or a header is longer than {max(self.max_line_size, self.max_field_size)} "
                "bytes: this server does not read it. Send the data in a request body instead."
            )
        else:
            why = "This is not a valid HTTP request: its request line or headers could not be read."
        response = web.Response(status=400, text=f"400 Bad Request\n\n{why}\n", content_type="text/plain")
        response.force_close()
        return response


class SockSite(web.SockSite):
    """``web.SockSite`` whose connections are this module's ``RequestHandler``, built
    as the runner's server builds its own."""

    __slots__ = ()

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: RequestHandler(server, loop=loop, **server._kwargs),
            sock=self._sock,
            backlog=self._backlog,
            ssl=self._ssl_context,  # HTTPS off loopback (--tls-cert)
        )
