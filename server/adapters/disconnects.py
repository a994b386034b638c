"""A client that goes away mid-request is not a server error.

Raised out of a handler, aiohttp logs a ``ConnectionResetError`` at ERROR with a
traceback ("Error handling request"): in a fault campaign, where clients give up on a
paused server all the time, that buries real errors.  The outermost middleware of every
app (the client API and the peer link) turns it into one info line and an answer to
nobody, which aiohttp drops quietly.
"""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger("ipics.http")


@web.middleware
async def quiet_disconnects(request: web.Request, handler):
    try:
        return await handler(request)
    except ConnectionResetError:
        log.info("client disconnected during %s %s", request.method, request.path)
        return web.Response(status=400, text="the client disconnected")
