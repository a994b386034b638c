"""Pages and form actions of the Administration Console.

Every form posts back and is answered with a redirect (the tab and a one-time message)
or with the same page and the refusal in words; nothing the user typed as a password is
ever rendered back.  The HA procedures themselves are the engine's, as for the JSON API.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources

import aiohttp_jinja2
import jinja2
from aiohttp import web

from ..appkeys import USER
from ..audit import ACTION_BY_PATH
from ..core import ha_config
from ..core.ha_config import ConfigurationError, HeartbeatSettings
from ..core.roles import ServerDesignation
from ..data import UserRole
from ..errors import ApiError
from .security import CSRF_FIELD, AdminConsoleSecurity, page_headers
from .state import ha_tabs

log = logging.getLogger("ipics.admin_console")

SECURITY_TAB = "/admin/ha/security"
CONFIGURATION_TAB = "/admin/ha/configuration"
LOGIN = "/admin/login"

#: Notices a redirect may ask the login page to show, by key: no text from the URL is
#: ever rendered.
NOTICES = {
    "redirected": "This server is the standby server: you were sent to the active server's Administration Console.",
    "logged_out": "You were logged out.",
    "configured": "HA is configured. You were logged out until HA configuration operations are "
    "complete: log in again and verify that the Standby Server Status is Ready.",
    "went_standby": "The secondary server went standby and logged out every user session. Reconcile "
    "the data (ipicsedr_control_repl REPAIR, then ipicsrsync) as the chapter describes.",
    "went_standby_primary": "The primary server went standby and logged out every user session. Cisco "
    "recommends keeping the primary active and returning the secondary to standby "
    "instead. Reconcile the data as the chapter describes.",
    "login": "Log in to continue.",
}
RANGES = {
    "port": ha_config.HEARTBEAT_PORT_RANGE,
    "interval_s": ha_config.HEARTBEAT_INTERVAL_RANGE_S,
    "missed_count": ha_config.MISSED_HEARTBEAT_COUNT_RANGE,
}
#: the fields' labels on the page, for the messages that name them
LABELS = {
    "port": "Heartbeat Port",
    "interval_s": "Heartbeat Interval (seconds)",
    "missed_count": "Missed Heartbeat Count",
    "partner_address": "IP Address",
    "password": "Password",
    "username": "User Name",
}
_CARRIED = {"went_standby", "went_standby_primary"}
MAX_FIELD = 256
_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,9}$")  # ASCII digits only: \d takes any script's
_STATIC = {"admin.css": "text/css", "admin.js": "text/javascript"}


class FieldError(ApiError):
    """A refused form value: the page marks the field."""

    def __init__(self, field: str, message: str):
        super().__init__(400, "out_of_range", message)
        self.field = field


class AdminConsole:
    """The Administration Console's per-process state: cookies and CSRF keys, one-time messages."""

    def __init__(self, server):
        self.server = server
        self.security = AdminConsoleSecurity(lambda: server.cfg.port, secure=lambda: server.cfg.tls)
        self._flashes: dict[str, tuple[str, str]] = {}
        self.static = {name: resources.files(__package__).joinpath("static", name).read_bytes() for name in _STATIC}

    def flash(self, token: str, level: str, text: str) -> None:
        if len(self._flashes) > 1000:  # sessions that never came back for theirs
            self._flashes.clear()
        self._flashes[token] = (level, text)

    def take_flash(self, token: str) -> tuple[str, str] | None:
        return self._flashes.pop(token, None)

    def active_elsewhere(self) -> str | None:
        """The active server's address when logins here go there instead."""
        engine = self.server.engine
        try:
            self.server.data.refuse_login_unless_active()
        except ApiError as exc:
            active = exc.extra.get("active")
            return active if active and active != engine.address else None
        return None


ADMIN_CONSOLE = web.AppKey("admin_console", AdminConsole)


def setup_admin_console(app: web.Application, server) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        filters={"clock": clock_time},
    )
    app[ADMIN_CONSOLE] = AdminConsole(server)
    app.middlewares.append(html_errors)  # after the JSON one: inside it
    app.router.add_routes(
        [
            web.get("/admin", to_security_tab),
            web.get("/admin/", to_security_tab),
            web.get("/admin/static/{name}", static),
            web.get(LOGIN, login_page),
            web.post(LOGIN, login_submit),
            web.post("/admin/logout", logout),
            web.get("/admin/ha", to_security_tab),
            web.get(SECURITY_TAB, security_tab),
            web.post(SECURITY_TAB, save_trust),
            web.post("/admin/ha/security/delete", delete_trust),
            web.get(CONFIGURATION_TAB, configuration_tab),
            web.post(CONFIGURATION_TAB, update_settings),
            web.post("/admin/ha/configure", configure),
            web.post("/admin/ha/unconfigure", unconfigure),
            web.post("/admin/ha/failover", failover_now),
            web.post("/admin/ha/go-standby", go_standby),
            web.get("/admin/ha/state", state),
        ]
    )


def _admin_console(request: web.Request) -> AdminConsole:
    return request.app[ADMIN_CONSOLE]


async def to_security_tab(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(SECURITY_TAB)


def _render(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    admin = _admin_console(request)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    page_headers(response, admin.server.engine.partner.address if admin.server.engine.partner else None)
    return response


def _tomcat(request: web.Request) -> None:
    # The Administration Console is a tomcat web application.
    if not _admin_console(request).server.services.running("tomcat"):
        raise ApiError(
            503, "tomcat_down", "the Administration Console is not available: tomcat is not running on this server"
        )


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound(text="no such file")
    return web.Response(
        body=_admin_console(request).static[name],
        content_type=_STATIC[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


# ---------------------------------------------------------------------------- login
async def _admin_session(request: web.Request) -> tuple[str, dict] | None:
    token = _admin_console(request).security.session_token(request)
    if not token or len(token) > MAX_FIELD:
        return None
    user = await _admin_console(request).server.data.session(token)
    if user is None or user["role"] != UserRole.SYSTEM_ADMINISTRATOR.value:
        return None
    return token, user


async def _require_admin(request: web.Request) -> tuple[str, dict]:
    _tomcat(request)
    session = await _admin_session(request)
    if session is None:
        raise web.HTTPSeeOther(f"{LOGIN}?notice=login")
    return session


def _login_page(
    request: web.Request, *, error: str = "", username: str = "", notice: str = "", status: int = 200
) -> web.Response:
    admin = _admin_console(request)
    token = admin.security.login_token(request)
    response = _render(
        request,
        "login.html",
        {
            "error": error,
            "username": username,
            "notice": NOTICES.get(notice, ""),
            "csrf": token,
            "csrf_field": CSRF_FIELD,
            "address": admin.server.engine.address,
        },
        status,
    )
    admin.security.set_login_token(response, token)
    return response


async def login_page(request: web.Request) -> web.Response:
    _tomcat(request)
    admin = _admin_console(request)
    notice = request.query.get("notice", "")
    active = admin.active_elsewhere()
    if active:
        # A logout that sent the browser here still says why; anything else: redirected.
        raise web.HTTPSeeOther(f"{active}{LOGIN}?notice={notice if notice in _CARRIED else 'redirected'}")
    if await _admin_session(request):
        raise web.HTTPSeeOther(SECURITY_TAB)
    return _login_page(request, notice=notice)


async def login_submit(request: web.Request) -> web.Response:
    _tomcat(request)
    admin = _admin_console(request)
    form = await _form(request)
    try:
        admin.security.check_login_form(request, form)
    except ApiError as exc:  # the login page again, with a fresh token
        return _login_page(request, error=_sentence(exc.message), status=exc.status)
    active = admin.active_elsewhere()
    if active:
        raise web.HTTPSeeOther(f"{active}{LOGIN}?notice=redirected")
    username, password = _text(form, "username"), _text(form, "password", strip=False)
    if not username or not password:
        return _login_page(request, error="Enter your user name and password.", username=username, status=400)
    try:
        token, user = await admin.server.data.login(username, password, client=request.remote or "")
    except ApiError as exc:
        response = _login_page(request, error=_sentence(exc.message), username=username, status=exc.status)
        response.headers.update(exc.headers)  # Retry-After on a throttled login
        return response
    if user["role"] != UserRole.SYSTEM_ADMINISTRATOR.value:
        await admin.server.data.logout(token)
        return _login_page(
            request,
            username=username,
            status=403,
            error="The Administration Console's High Availability pages are for a system administrator.",
        )
    response = web.HTTPSeeOther(SECURITY_TAB)
    admin.security.set_session(response, token)
    response.del_cookie(admin.security.login_cookie, path="/admin")
    raise response


async def logout(request: web.Request) -> web.Response:
    admin = _admin_console(request)
    session = await _admin_session(request)
    response = web.HTTPSeeOther(f"{LOGIN}?notice=logged_out")
    if session:
        admin.security.check_form(request, session[0], await _form(request))
        await admin.server.data.logout(session[0])
    admin.security.clear_session(response)
    raise response


# ----------------------------------------------------------------------------- tabs
async def _tab(
    request: web.Request,
    template: str,
    token: str,
    user: dict,
    *,
    error: str = "",
    field: str = "",
    values: dict | None = None,
    status: int = 200,
) -> web.Response:
    admin = _admin_console(request)
    tabs = await ha_tabs(admin.server)
    flash = admin.take_flash(token) if not error else None
    return _render(
        request,
        template,
        {
            "tabs": tabs,
            "user": user,
            "csrf": admin.security.form_token(token),
            "csrf_field": CSRF_FIELD,
            "error": error,
            "field": field,
            "values": values or {},
            "flash": flash,
            "ranges": RANGES,
            "defaults": HeartbeatSettings().as_dict(),
        },
        status,
    )


async def security_tab(request: web.Request) -> web.Response:
    token, user = await _require_admin(request)
    return await _tab(request, "ha_security.html", token, user)


async def configuration_tab(request: web.Request) -> web.Response:
    token, user = await _require_admin(request)
    admin = _admin_console(request)
    if admin.server.engine.partner is None:
        admin.flash(token, "info", "The HA Configuration tab appears once the partner server is trusted.")
        raise web.HTTPSeeOther(SECURITY_TAB)
    return await _tab(request, "ha_configuration.html", token, user)


Action = Callable[[AdminConsole, dict], Awaitable[str | None]]


async def _act(request: web.Request, template: str, done: str, act: Action, keep: tuple[str, ...] = ()) -> web.Response:
    """A form action: check the session and CSRF token, act, then back to the tab with
    the engine's sentence, or the same tab with the refusal."""
    token, user = await _require_admin(request)
    request[USER] = user
    admin = _admin_console(request)
    form = await _form(request)
    action = ACTION_BY_PATH.get(request.path)
    try:
        # Inside: an expired form (a server restart renews the key) comes back as the tab
        # with a fresh token, ready to send again.
        admin.security.check_form(request, token, form)
        message = await act(admin, form)
    except ApiError as exc:
        if action and exc.code != "csrf":
            admin.server.audit.record(action=action, via="console", user=user["username"], ok=False, result=exc.message)
        values = {k: _text(form, k) for k in keep if exc.code != "csrf"}
        if admin.server.engine.partner is None:  # a stale page: the trust is gone meanwhile
            template = "ha_security.html"
        return await _tab(
            request,
            template,
            token,
            user,
            error=_sentence(exc.message),
            field=getattr(exc, "field", ""),
            values=values,
            status=exc.status,
        )
    if action:
        admin.server.audit.record(
            action=action, via="console", user=user["username"], ok=True, result=message or "done"
        )
    if message:
        admin.flash(token, "success", message)
    raise web.HTTPSeeOther(done)


async def save_trust(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> str:
        address, password = _text(form, "partner_address"), _text(form, "password", strip=False)
        if not address:
            raise FieldError("partner_address", "Enter the IP address of the HA partner server.")
        if not password:
            raise FieldError("password", "Enter the password of the partner's ipicsadmin user.")
        engine = admin.server.engine
        await engine.establish_trust(address, "ipicsadmin", password)
        return f"Trust established with {engine.partner.address}: the HA Configuration tab is available."

    return await _act(request, "ha_security.html", SECURITY_TAB, act, keep=("partner_address",))


async def delete_trust(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> str:
        password = _text(form, "password", strip=False)
        if not password:
            raise FieldError("password", "Enter the partner server's password to delete the trust certificates.")
        return _sentence(await admin.server.engine.delete_trust(password))

    return await _act(request, "ha_security.html", SECURITY_TAB, act)


async def update_settings(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> str:
        settings = _settings(form)
        await admin.server.engine.update_settings(settings)
        return (
            f"Heartbeat settings updated: port {settings.port}, every {settings.interval_s} s, failover after "
            f"{settings.missed_count} missed heartbeats ({settings.failover_window_s} s)."
        )

    return await _act(
        request, "ha_configuration.html", CONFIGURATION_TAB, act, keep=("port", "interval_s", "missed_count")
    )


async def configure(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> None:
        await admin.server.configure_ha(request[USER]["username"])

    # Configure logs every administrator out: the next page is the login page.
    return await _act(request, "ha_configuration.html", f"{LOGIN}?notice=configured", act)


async def unconfigure(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> str:
        await admin.server.engine.unconfigure()
        return (
            "HA unconfigured. Click Logout, then wait a few minutes for the active server to reconfigure "
            "before you log in again."
        )

    return await _act(request, "ha_configuration.html", CONFIGURATION_TAB, act)


async def failover_now(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> str:
        await admin.server.engine.failover_now()
        return "Failover Now: this server is the standby now; the other server is assuming the active role."

    return await _act(request, "ha_configuration.html", CONFIGURATION_TAB, act)


async def go_standby(request: web.Request) -> web.Response:
    async def act(admin: AdminConsole, form) -> None:
        await admin.server.engine.go_standby()

    # Go Standby logs out every user session here, this administrator's too; the chapter
    # does it on the secondary, and the login page says so when it was the primary.
    designation = _admin_console(request).server.designation()
    notice = "went_standby_primary" if designation == ServerDesignation.PRIMARY else "went_standby"
    return await _act(request, "ha_configuration.html", f"{LOGIN}?notice={notice}", act)


async def state(request: web.Request) -> web.Response:
    """The tabs' live state for the page's script; 401 once the session is gone."""
    _tomcat(request)
    if await _admin_session(request) is None:
        return web.json_response(
            {"error": "unauthorized", "login": f"{LOGIN}?notice=logged_out"},
            status=401,
            headers={"Cache-Control": "no-store"},
        )
    return web.json_response(await ha_tabs(_admin_console(request).server), headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------- forms
async def _form(request: web.Request):
    """The posted form, or a clear refusal for one that cannot be read (a bad charset,
    bytes that are not UTF-8, a multipart body without its boundary)."""
    try:
        return await request.post()
    except (ValueError, LookupError, AssertionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(
            400, "bad_form", "the form could not be read: send it from the Administration Console's page"
        ) from None


def _text(form, name: str, *, strip: bool = True) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):  # a file part where a field belongs
        raise FieldError(name, f"{LABELS[name]} must be text")
    if len(value) > MAX_FIELD:
        raise FieldError(name, f"{LABELS[name]} is too long (at most {MAX_FIELD} characters)")
    return value.strip() if strip else value


def _settings(form) -> HeartbeatSettings:
    """The HA Configuration fields; the core's check names the field and its range."""
    values: dict[str, int | str] = {}
    for name in RANGES:
        raw = _text(form, name)
        values[name] = int(raw) if _WHOLE_NUMBER.match(raw) else raw
    try:
        return HeartbeatSettings.checked(values)
    except ConfigurationError as exc:
        text = str(exc)
        field = next(name for name in RANGES if text.startswith(LABELS[name]))
        raise FieldError(field, _sentence(text)) from None


def clock_time(at: float) -> str:
    """A message's emulated time as the server's clock shows it (UTC); the script does the same."""
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@web.middleware
async def html_errors(request: web.Request, handler):
    """Inside the API's JSON error middleware: the Administration Console's refusals outside a form
    (tomcat down, an expired form, an unknown page) are pages, not JSON."""
    if not (request.path == "/admin" or request.path.startswith("/admin/")) or request.path == "/admin/ha/state":
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        response = _error_page(request, exc.status, exc.message)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_page(request, exc.status, exc.reason if exc.status != 413 else "the form is too large")
    except ConnectionResetError:
        raise  # the client left: nobody to show a page to (``adapters.disconnects``)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error_page(request, 500, "internal server error: the server keeps running; try again")


def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    return _render(
        request,
        "error.html",
        {"status": status, "message": _sentence(message), "posted": request.method == "POST"},
        status,
    )
