"""Error middleware: every refusal becomes JSON ``{"error", "message", ...}``; nothing
escapes as a traceback page, and the server keeps running."""

from __future__ import annotations

import logging
from collections import Counter

from aiohttp import web

from ..adapters.disconnects import quiet_disconnects
from ..errors import ApiError

log = logging.getLogger("ipics.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
}
_BODY_HEADERS = {"content-type", "content-length"}
#: answers given since the process started, by HTTP status (``/metrics``); kept here,
#: not in ``appkeys``, so the middlewares need nothing of the app
ANSWERED: web.AppKey[Counter[int]] = web.AppKey("answered", Counter)


@web.middleware
async def errors(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
    except web.HTTPRequestEntityTooLarge as exc:
        return web.json_response({"error": "too_large", "message": f"request body too large: {exc.text}"}, status=413)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.status == 101:
            raise
        code = _STATUS_CODES.get(exc.status, "error")
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        # Its own headers stay (Allow on a 405, RFC 9110); only the body becomes JSON.
        headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return web.json_response({"error": code, "message": message}, status=exc.status, headers=headers)
    except ConnectionResetError:
        raise  # the client left: ``adapters.disconnects`` says so at info
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return web.json_response({"error": "internal", "message": "internal server error"}, status=500)


@web.middleware
async def count_answers(request: web.Request, handler):
    """Every answer by its status, for ``ipics_http_requests_total``: outside ``errors``,
    so a refusal is counted as the status the client gets."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect, or a refusal of the phone's or dial's own
        request.app[ANSWERED][exc.status] += 1
        raise
    request.app[ANSWERED][response.status] += 1
    return response


def setup_middlewares(app: web.Application) -> None:
    app[ANSWERED] = Counter()
    app.middlewares.append(quiet_disconnects)  # outermost
    app.middlewares.append(count_answers)
    app.middlewares.append(errors)
