"""The Administration Console's session cookie, its CSRF tokens and the headers of every page.

Both lab servers usually listen on one host (127.0.0.1) and browsers scope cookies by
host, not port: each server names its cookies after its port, or the two consoles
would overwrite each other's sessions.  A server serving HTTPS (``--tls-cert``, as every
server off loopback does) marks its cookies ``Secure``: a browser never sends them over
plain HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from aiohttp import web

from ..errors import ApiError

CSRF_FIELD = "csrf_token"
_LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes

#: Scripts and styles come only from this server; no inline script, no framing.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'{partner}"
)


class AdminConsoleSecurity:
    def __init__(self, port: Callable[[], int], *, secure: Callable[[], bool] = lambda: False):
        # The port is known only once the server is bound, after the app is built; like
        # it, whether cookies are Secure (TLS on) is read from the configuration when used:
        # building the app reads nothing.
        self._port = port
        self._secure = secure
        # Per process: a restart invalidates open forms (reload the page), not sessions.
        self._key = secrets.token_bytes(32)

    @property
    def session_cookie(self) -> str:
        return f"ipics_admin_session_{self._port()}"

    @property
    def login_cookie(self) -> str:
        return f"ipics_admin_login_{self._port()}"

    # -- the session -------------------------------------------------------------------
    def session_token(self, request: web.Request) -> str | None:
        return request.cookies.get(self.session_cookie) or None

    def set_session(self, response: web.StreamResponse, token: str) -> None:
        # Secure only with HTTPS: on loopback the lab serves plain HTTP, where a Secure
        # cookie would never be sent back.
        response.set_cookie(
            self.session_cookie, token, path="/admin", httponly=True, samesite="Strict", secure=self._secure()
        )

    def clear_session(self, response: web.StreamResponse) -> None:
        response.del_cookie(self.session_cookie, path="/admin")

    # -- CSRF --------------------------------------------------------------------------
    def form_token(self, session_token: str) -> str:
        """The synchronizer token of a logged-in session's forms: bound to the session,
        nothing to store."""
        return hmac.new(self._key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()

    def login_token(self, request: web.Request) -> str:
        """The login form has no session yet: a double-submit cookie (``set_login_token``)."""
        token = request.cookies.get(self.login_cookie)
        return token if token and _LOGIN_TOKEN.fullmatch(token) else secrets.token_urlsafe(32)

    def set_login_token(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            self.login_cookie, token, path="/admin", httponly=True, samesite="Strict", secure=self._secure()
        )

    def check_login_form(self, request: web.Request, form) -> None:
        _same(request.cookies.get(self.login_cookie), form.get(CSRF_FIELD))
        check_origin(request)

    def check_form(self, request: web.Request, session_token: str, form) -> None:
        _same(self.form_token(session_token), form.get(CSRF_FIELD))
        check_origin(request)


def _same(expected: str | None, given) -> None:
    # Bytes: compare_digest refuses a str that is not ASCII (a cookie or field can be).
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    ):
        raise ApiError(
            403, "csrf", "the form has expired or did not come from this console: reload the page and try again"
        )


def check_origin(request: web.Request) -> None:
    """Defence in depth beside the token: a browser names the page that posts."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin != f"{request.scheme}://{request.host}":
        raise ApiError(403, "csrf", "the form was posted from another site")


def page_headers(response: web.StreamResponse, partner: str | None) -> None:
    # The partner's origin may receive forms: login on a standby redirects to it.
    response.headers["Content-Security-Policy"] = _CSP.format(partner=f" {partner}" if partner else "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    # Back after Logout must not show an administrator's page from the cache.
    response.headers["Cache-Control"] = "no-store"
