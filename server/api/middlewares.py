"""Error middleware: every refusal becomes JSON ``{"error", "message", ...}``; nothing
escapes as a traceback page, and the server keeps running."""

from __future__ import annotations

import logging

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


def setup_middlewares(app: web.Application) -> None:
    app.middlewares.append(quiet_disconnects)  # outermost
    app.middlewares.append(errors)
