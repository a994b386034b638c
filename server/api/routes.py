"""The route table of the client API, its guard, and the OpenAPI document built from it.

Each route says who may call it and what body it takes; ``guarded`` enforces both
before the view runs, so views only hold the behaviour.  A test checks the OpenAPI
document against the routes the app really serves.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from .. import __version__
from ..appkeys import BODY, SERVER, TOKEN, USER
from ..audit import ACTION_BY_PATH
from ..core.access import MAY
from ..errors import ApiError, forbidden
from . import data_views, ha_views, lab_views, media_views, monitoring_views, schemas

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    view: View
    summary: str
    #: who may call: None (anyone) or a job of ``core/access.py``'s ``MAY``
    auth: str | None = None
    body: type[BaseModel] | None = None
    tag: str = "data"
    #: served by tomcat: answers 503 while the emulated tomcat is down
    tomcat: bool = True
    #: a raw (binary) body instead of JSON, and required query parameters, for OpenAPI
    raw_body: bool = False
    query: tuple[str, ...] = ()
    #: optional query parameters: name -> (the values it takes, what it says), for OpenAPI
    optional_query: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    #: a health check: answers HEAD as well, the status alone (load balancers check with
    #: HEAD, as HAProxy's ``option httpchk HEAD /primary``)
    head: bool = False


ROUTES: list[Route] = [
    # status and health: the lab's view of the server, not served by tomcat
    Route("GET", "/api/v1/ha/status", ha_views.status, "HA status of this server", tag="status", tomcat=False),
    Route(
        "GET",
        "/api/v1/health/active",
        ha_views.health_active,
        "200 only on the active server",
        tag="status",
        tomcat=False,
        head=True,
    ),
    Route("GET", "/api/openapi.json", lambda r: openapi_view(r), "This document", tag="status", tomcat=False),
    # monitoring: Prometheus and load balancers, in Patroni's shape; no token, no secret
    Route(
        "GET",
        "/metrics",
        monitoring_views.metrics,
        "Prometheus text exposition format: role, HA state, heartbeats, replication, logins, answers "
        "(docs/server.md lists each metric)",
        tag="monitoring",
        tomcat=False,
    ),
    Route(
        "GET",
        "/primary",
        monitoring_views.primary,
        "Load balancers: 200 only on the active server taking clients (Patroni's /primary)",
        tag="monitoring",
        tomcat=False,
        head=True,
    ),
    Route(
        "GET",
        "/standby",
        monitoring_views.standby,
        "Load balancers: 200 only on a standby whose Standby Server Status is Ready (Patroni's /replica)",
        tag="monitoring",
        tomcat=False,
        head=True,
    ),
    Route(
        "GET",
        "/health",
        monitoring_views.health,
        "200 while this server runs with tomcat up, whatever its role (Patroni's /health)",
        tag="monitoring",
        tomcat=False,
        head=True,
    ),
    Route(
        "GET",
        "/liveness",
        monitoring_views.liveness,
        "200 while the server process answers (Patroni's /liveness)",
        tag="monitoring",
        tomcat=False,
        head=True,
    ),
    Route(
        "GET",
        "/api/v1/servers",
        ha_views.servers,
        "Login server selector: both servers with their roles",
        tag="status",
        tomcat=False,
    ),
    # sessions
    Route(
        "POST",
        "/api/v1/auth/login",
        data_views.login,
        "Log in; refused on the standby, naming the active",
        body=schemas.Login,
        tag="auth",
    ),
    Route("POST", "/api/v1/auth/logout", data_views.logout, "Log out", auth="user", tag="auth"),
    Route("GET", "/api/v1/me", data_views.me, "The logged-in user", auth="user", tag="auth"),
    Route(
        "GET",
        "/api/v1/events",
        data_views.events,
        "WebSocket: role changes, and changes to the records the caller may read, as he would read them",
        auth="user",
        tag="auth",
        optional_query=(
            (
                "resumed",
                ("idc", "mobile"),
                "the client takes its session back by itself after losing its server (a failover): "
                "the server's audit trail records the reconnect",
            ),
        ),
    ),
    Route(
        "POST",
        "/api/v1/media/ticket",
        media_views.media_ticket,
        "Push-to-talk: a ticket for the media router naming the caller and the channels and VTGs he has, "
        "valid until expires_at (ask again after refresh_after_s, and when they change)",
        auth="user",
        tag="auth",
    ),
    # data
    Route("GET", "/api/v1/users", data_views.list_users, "Users", auth="operator"),
    Route(
        "POST",
        "/api/v1/users",
        data_views.create_user,
        "Create a user (only a system administrator creates a system administrator)",
        auth="operator",
        body=schemas.NewUser,
    ),
    Route(
        "PUT",
        "/api/v1/users/{username}/dial-login",
        data_views.set_dial_login,
        "Dial Login: the numeric user ID and PIN of the IP phone service and the dial engine",
        auth="operator",
        body=schemas.DialLogin,
    ),
    Route(
        "GET",
        "/api/v1/channels",
        data_views.list_channels,
        "Channels: all for a system administrator or operator, else those assigned to the caller",
        auth="user",
    ),
    Route(
        "POST",
        "/api/v1/channels",
        data_views.create_channel,
        "Create a channel",
        auth="operator",
        body=schemas.NewChannel,
    ),
    Route("DELETE", "/api/v1/channels/{channel_id}", data_views.delete_channel, "Delete a channel", auth="operator"),
    Route(
        "POST",
        "/api/v1/channels/{channel_id}/assignments",
        data_views.assign_channel,
        "Assign a channel to a user",
        auth="operator",
        body=schemas.Assignment,
    ),
    Route(
        "DELETE",
        "/api/v1/channels/{channel_id}/assignments/{username}",
        data_views.unassign_channel,
        "Remove a channel from a user",
        auth="operator",
    ),
    Route("GET", "/api/v1/assignments", data_views.list_assignments, "Channel assignments", auth="operator"),
    Route(
        "GET",
        "/api/v1/vtgs",
        data_views.list_vtgs,
        "VTGs: all for a system administrator or dispatcher, else those the caller is a member of",
        auth="user",
    ),
    Route("POST", "/api/v1/vtgs", data_views.create_vtg, "Create a VTG", auth="dispatcher", body=schemas.NewVtg),
    Route(
        "POST",
        "/api/v1/vtgs/{vtg_id}/dial-out",
        data_views.dial_out,
        "Invite a dial-out participant (a telephone number) into a VTG; the dial engine calls it",
        auth="dispatcher",
        body=schemas.DialOut,
    ),
    Route(
        "GET",
        "/api/v1/incidents",
        data_views.list_incidents,
        "Incidents with their files: all for a system administrator or dispatcher, else those the caller takes part in",
        auth="user",
    ),
    Route(
        "POST",
        "/api/v1/incidents",
        data_views.create_incident,
        "Create an incident",
        auth="dispatcher",
        body=schemas.NewIncident,
    ),
    Route(
        "GET",
        "/api/v1/incidents/{incident_id}",
        data_views.get_incident,
        "One incident the caller may see, with its files",
        auth="user",
    ),
    Route(
        "PUT",
        "/api/v1/incidents/{incident_id}/participants",
        data_views.set_participants,
        "Set who takes part in an incident (those taken off no longer see it or its files)",
        auth="dispatcher",
        body=schemas.Participants,
    ),
    Route(
        "POST",
        "/api/v1/incidents/{incident_id}/files",
        data_views.upload_file,
        "Upload a photo or video to an incident the caller may see (raw body, ?name=)",
        auth="user",
        raw_body=True,
        query=("name",),
    ),
    Route(
        "PUT",
        "/api/v1/incidents/{incident_id}/files/{file_id}",
        data_views.restore_file,
        "Upload again a file whose content did not reach this server before a failover (raw body; "
        "the same content, checked by its SHA-256)",
        auth="user",
        raw_body=True,
    ),
    Route(
        "GET",
        "/api/v1/incidents/{incident_id}/files/{file_id}",
        data_views.download_file,
        "Download a file of an incident the caller may see, always as an attachment",
        auth="user",
    ),
    # HA (Administration Console, Configuration > High Availability)
    Route("GET", "/api/v1/licenses", ha_views.list_licenses, "Installed licenses", auth="admin", tag="ha"),
    Route(
        "POST",
        "/api/v1/licenses",
        ha_views.install_license,
        "Install a license file",
        auth="admin",
        body=schemas.License,
        tag="ha",
    ),
    Route(
        "PUT",
        "/api/v1/ha/ntp",
        ha_views.set_ntp,
        "Set the NTP servers (ntpsetup -s enable)",
        auth="admin",
        body=schemas.Ntp,
        tag="ha",
    ),
    Route(
        "GET", "/api/v1/ha/config", ha_views.get_config, "HA Security and HA Configuration tabs", auth="admin", tag="ha"
    ),
    Route(
        "POST",
        "/api/v1/ha/trust",
        ha_views.establish_trust,
        "HA Security, Save: establish trust",
        auth="admin",
        body=schemas.Trust,
        tag="ha",
    ),
    Route(
        "POST",
        "/api/v1/ha/trust/delete",
        ha_views.delete_trust,
        "HA Security, Delete: remove the trust certificates on both servers",
        auth="admin",
        body=schemas.TrustDelete,
        tag="ha",
    ),
    Route(
        "POST",
        "/api/v1/ha/trust/exchange",
        ha_views.trust_exchange,
        "Partner to partner: certificate exchange, authenticated by the ipicsadmin password",
        body=schemas.TrustExchange,
        tag="ha",
    ),
    Route(
        "POST",
        "/api/v1/ha/trust/remove",
        ha_views.trust_remove,
        "Partner to partner: remove the trust, authenticated by the ipicsadmin password",
        body=schemas.TrustRemove,
        tag="ha",
    ),
    Route(
        "PUT",
        "/api/v1/ha/settings",
        ha_views.update_settings,
        "HA Configuration, Update",
        auth="admin",
        body=schemas.HeartbeatSettingsBody,
        tag="ha",
    ),
    Route("POST", "/api/v1/ha/configure", ha_views.configure, "HA Configuration, Configure", auth="admin", tag="ha"),
    Route(
        "POST", "/api/v1/ha/unconfigure", ha_views.unconfigure, "HA Configuration, Unconfigure", auth="admin", tag="ha"
    ),
    Route(
        "POST", "/api/v1/ha/failover", ha_views.failover_now, "HA Configuration, Failover Now", auth="admin", tag="ha"
    ),
    Route(
        "POST",
        "/api/v1/ha/go-standby",
        ha_views.go_standby,
        "HA Configuration, Go Standby: split brain only; logs out every user session",
        auth="admin",
        tag="ha",
    ),
    Route(
        "GET",
        "/api/v1/ha/discarded",
        ha_views.discarded,
        "Records this server accepted that never reached the partner before a failover",
        auth="admin",
        tag="ha",
    ),
    Route(
        "GET",
        "/api/v1/ha/audit",
        ha_views.audit,
        "What administrators did on this server (console, API, shell), for grading and the timeline",
        auth="admin",
        tag="ha",
        tomcat=False,
    ),
    Route(
        "GET",
        "/api/v1/ha/replication/lag",
        ha_views.replication_lag,
        "Standby: recent replication lag samples in real milliseconds",
        auth="admin",
        tag="ha",
        tomcat=False,
    ),
    # lab
    Route(
        "POST",
        "/api/v1/lab/faults",
        lab_views.inject_fault,
        "Inject a lab fault (lab servers only)",
        auth="admin",
        body=schemas.Fault,
        tag="lab",
        tomcat=False,
    ),
    Route(
        "PUT",
        "/api/v1/lab/time-scale",
        lab_views.set_time_scale,
        "Change the time scale from the real moment `at` on, without a jump (lab servers only)",
        auth="admin",
        body=schemas.TimeScale,
        tag="lab",
        tomcat=False,
    ),
]


#: RFC 9110: a 401 names the scheme to authenticate with (RFC 6750's Bearer)
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def guarded(route: Route) -> View:
    async def handler(request: web.Request) -> web.StreamResponse:
        server = request.app[SERVER]
        if route.tomcat and not server.services.running("tomcat"):
            raise ApiError(503, "tomcat_down", "tomcat is not running on this server")
        if route.tag in ("data", "auth") and route.view is not data_views.login:
            # Clients are served by the active server only; the standby names it.
            server.engine.refuse_unless_active()
        if route.auth:
            request[USER] = await authenticate(request, MAY[route.auth])
        if route.body:
            request[BODY] = await parse_body(request, route.body)
        action = ACTION_BY_PATH.get(route.path) if route.method != "GET" else None
        if action is None:
            return await route.view(request)
        user = (request.get(USER) or {}).get("username", "?")
        try:
            response = await route.view(request)
        except ApiError as exc:
            server.audit.record(action=action, via="api", user=user, ok=False, result=exc.message)
            raise
        server.audit.record(action=action, via="api", user=user, ok=True, result="done")
        return response

    handler.__name__ = getattr(route.view, "__name__", "view")
    return handler


async def authenticate(request: web.Request, roles: AbstractSet[str]) -> dict:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "unauthorized", "log in first: send Authorization: Bearer <token>", headers=BEARER_CHALLENGE
        )
    user = await request.app[SERVER].data.session(token.strip())
    if user is None:
        raise ApiError(
            401,
            "unauthorized",
            "the session is unknown or has expired: log in again",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if user["role"] not in roles:
        raise forbidden(f"a {user['role']} may not do this")
    request[TOKEN] = token.strip()
    return user


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "malformed_json", "the body is not valid JSON or is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise ApiError(400, "invalid_body", f"invalid request: {summary}", problems=problems) from None


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        handler = guarded(route)
        app.router.add_route(route.method, route.path, handler)
        if route.head:
            app.router.add_route("HEAD", route.path, handler)  # aiohttp sends no body for HEAD


# ------------------------------------------------------------------------- OpenAPI
def guard_refusals(route: Route) -> dict[int, str]:
    """The refusals ``guarded`` gives before the view runs, and those every view of a
    kind gives (a path naming something that does not exist, a raw body)."""
    refusals: dict[int, list[str]] = {}

    def add(status: int, why: str) -> None:
        refusals.setdefault(status, []).append(why)

    if route.tomcat:
        add(503, "tomcat_down: tomcat is not running on this server")
    if route.tag in ("data", "auth") and route.view is not data_views.login:
        add(409, "not_active: this is not the active server; `active` names the active one (null when none is known)")
        add(
            503,
            "transitioning, configuring, ddrblock or no_quorum (witness mode: neither partner nor witness "
            "heard): this server takes no client requests now; try again shortly",
        )
        if route.method != "GET":
            add(
                503,
                "no_synchronous_standby or not_acknowledged: synchronous replication (a mode beyond IPICS, "
                "--replication synchronous) refused the write: strict policy and no standby Ready (nothing "
                "written), or the standby did not acknowledge it in time (committed on this server, not promised)",
            )
    if route.auth:
        add(401, "unauthorized: no bearer token, or its session is unknown or has expired")
        if MAY[route.auth] != MAY["user"]:
            add(403, "forbidden: the caller's role may not do this")
    if route.body:
        add(
            400,
            "invalid_body, malformed_json or bad_request: not the documented JSON object (`problems` names each field)",
        )
        add(413, "too_large: the body is larger than the server takes")
        add(415, "unsupported_media_type: the body is not application/json")
    if route.raw_body:
        add(400, "bad_request: an empty upload, or a bad file name or Content-Type")
        add(413, "too_large: the upload is larger than the server's limit")
    if "{" in route.path:
        add(404, "not_found: no such " + " or ".join(p.removesuffix("_id") for p in _path_parameters(route)))
    return {status: "; ".join(why) for status, why in refusals.items()}


def build_openapi() -> dict:
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {}
    for route in ROUTES:
        op: dict = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": _operation_id(route),
            "responses": _responses(route, components),
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_parameters(route)
        ]
        params += [{"name": q, "in": "query", "required": True, "schema": {"type": "string"}} for q in route.query]
        params += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": what,
                "schema": {"type": "string", "enum": list(values)},
            }
            for name, values, what in route.optional_query
        ]
        if route.raw_body:
            op["requestBody"] = {
                "required": True,
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        if params:
            op["parameters"] = params
        if route.auth:
            op["security"] = [{"bearer": []}]
            op["description"] = f"Allowed roles: {', '.join(sorted(MAY[route.auth]))}."
        if route.body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _component(route.body, components)}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
        if route.head:
            paths[route.path]["head"] = _head_operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "IPICS HA Lab server API", "version": __version__},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _responses(route: Route, components: dict[str, dict]) -> dict:
    from . import responses  # the models take a tenth of a second to build: only for this document

    answers = responses.ANSWERS[_operation_id(route)]
    declared: dict[str, dict] = {}
    for status, body in answers.success.items():
        reply: dict = {"description": responses.SUCCESS[status]}
        if isinstance(body, tuple):  # not JSON: (media type, schema)
            media_type, schema = body
            reply["content"] = {media_type: {"schema": schema}}
        elif body is not None:
            reply["content"] = {"application/json": {"schema": _component(body, components)}}
        if answers.headers:
            reply["headers"] = _headers(answers.headers)
        declared[str(status)] = reply
    refusals = guard_refusals(route)
    for status, why in answers.refusals.items():
        refusals[status] = f"{refusals[status]}; {why}" if status in refusals else why
    for status, why in sorted(refusals.items()):
        model = answers.refusal_bodies.get(status, responses.Error)
        refusal: dict = {"description": why, "content": {"application/json": {"schema": _component(model, components)}}}
        if status in responses.REFUSAL_HEADERS:
            refusal["headers"] = _headers(responses.REFUSAL_HEADERS[status])
        declared[str(status)] = refusal
    return declared


def _head_operation(get: dict) -> dict:
    """HEAD beside a health check's GET: the same statuses and headers, no body (RFC 9110)."""
    return {
        **get,
        "summary": get["summary"] + "; HEAD: the status alone, for load balancers",
        "operationId": get["operationId"] + "_head",
        "responses": {
            status: {k: v for k, v in answer.items() if k != "content"} for status, answer in get["responses"].items()
        },
    }


def _headers(headers: dict[str, tuple[str, dict]]) -> dict:
    return {name: {"description": why, "required": True, "schema": schema} for name, (why, schema) in headers.items()}


class _WithoutDefaults(GenerateJsonSchema):
    """Response schemas: a field a reply may leave out has no default to document."""

    def default_schema(self, schema):
        return self.generate_inner(schema["schema"])


def _component(model: type[BaseModel], components: dict[str, dict]) -> dict:
    """A ``$ref`` to ``model``'s schema, added with the models it uses to ``components``."""
    from . import responses

    generator = _WithoutDefaults if issubclass(model, responses.Reply) else GenerateJsonSchema
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", schema_generator=generator)
    for name, sub in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
        if components.setdefault(name, sub) != sub:
            raise ValueError(f"two models are named {name} in the OpenAPI document")
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _path_parameters(route: Route) -> list[str]:
    return [part[1:-1] for part in route.path.split("/") if part.startswith("{")]


def _operation_id(route: Route) -> str:
    return getattr(route.view, "__name__", "view") if route.path != "/api/openapi.json" else "openapi"


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(build_openapi())
