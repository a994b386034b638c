"""The OpenAPI document says exactly what the server really serves.

Compared against three things: the route table aiohttp builds from ``setup_routes``
(and from the real app factory ``make_app``), the ``ROUTES`` declarations the guard
enforces, and the behaviour of a live server (401 without a token where the document
says a bearer token is needed, 415 for a non-JSON body where it documents a JSON body).
"""

from __future__ import annotations

import asyncio
import re
import types

import aiohttp
import pytest
from aiohttp import web

import ipics_server
from ipics_lab.package_data import sample_licenses_dir
from ipics_server.api.responses import ANSWERS
from ipics_server.api.routes import ROUTES, build_openapi, setup_routes
from ipics_server.app import make_app
from ipics_server.core.ha_config import (
    HEARTBEAT_INTERVAL_RANGE_S,
    HEARTBEAT_PORT_RANGE,
    MISSED_HEARTBEAT_COUNT_RANGE,
)
from ipics_server.core.throttle import MAX_FAILURES

from ..openapi_answers import DocumentedCalls
from ..prometheus_text import Exposition, documented_metrics

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# a value for every path parameter, shaped like the real thing
PARAM_VALUES = {
    "channel_id": "0" * 32,
    "vtg_id": "0" * 32,
    "incident_id": "0" * 32,
    "file_id": "0" * 32,
    "username": "nobody",
}


def registered_routes(app: web.Application, *, heads: bool = False) -> set[tuple[str, str]]:
    """(path, METHOD) of every route aiohttp dispatches; HEAD only with ``heads`` (aiohttp
    adds one beside each GET of the pages and the phone service; the API registers HEAD
    for its health checks alone)."""
    found = set()
    for resource in app.router.resources():
        for route in resource:
            if route.method == "HEAD" and not heads:
                continue
            assert route.method != "*", f"a catch-all route on {resource.canonical} cannot be documented"
            found.add((resource.canonical, route.method))
    return found


def documented_operations(doc: dict) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in doc["paths"].items() for method in item if method in METHODS}


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method.upper(), op


def resolve(doc: dict, ref: str) -> dict:
    assert ref.startswith("#/"), f"only local references are expected, got {ref}"
    node = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def concrete(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PARAM_VALUES[m.group(1)], path)


@pytest.fixture(scope="module")
def live_doc(live_server) -> dict:
    async def fetch() -> dict:
        async with live_server.client() as c:
            reply = await c.get("/api/openapi.json")
        assert reply.status == 200, reply.body
        assert isinstance(reply.body, dict), "the document is not JSON"
        return reply.body

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def app_routes() -> set[tuple[str, str]]:
    app = web.Application()
    setup_routes(app)
    return registered_routes(app, heads=True)


ROUTE_BY_OP = {(r.path, r.method): r for r in ROUTES}


# ------------------------------------------------------------------ the document
def test_document_is_openapi_3(live_doc: dict):
    assert isinstance(live_doc.get("openapi"), str) and re.fullmatch(r"3\.\d+\.\d+", live_doc["openapi"])
    assert live_doc["info"]["title"]
    assert live_doc["info"]["version"] == ipics_server.__version__
    assert live_doc["paths"], "no paths"
    assert live_doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, method, op in operations(live_doc):
        assert path.startswith("/"), path
        assert op.get("summary"), f"{method} {path} has no summary"
        assert op.get("responses"), f"{method} {path} has no responses"


def test_live_document_is_the_one_the_code_builds(live_doc: dict):
    assert live_doc == build_openapi()


def test_documented_operations_equal_the_routes_aiohttp_registers(live_doc: dict, app_routes: set):
    documented = documented_operations(live_doc)
    assert documented - app_routes == set(), "documented but not served"
    assert app_routes - documented == set(), "served but not documented"


def test_the_real_app_factory_registers_no_other_routes(app_routes: set):
    """``make_app`` only wires things up; nothing heavy runs until the app starts.
    Besides the API it serves only the devices: the IP phone service (phone XML) and
    the dial engine's trunk; and the Administration Console's pages."""
    app = make_app(types.SimpleNamespace())
    assert {
        r for r in registered_routes(app, heads=True) if not r[0].startswith(("/phone/ipics", "/admin", "/dial/"))
    } == app_routes
    served = registered_routes(app) - {("/dial/call", "GET")}
    assert {r for r in served if r[0].startswith("/admin")} == {
        *(
            ("/admin" + page, "GET")
            for page in ("", "/", "/static/{name}", "/login", "/ha", "/ha/security", "/ha/configuration", "/ha/state")
        ),
        *(
            ("/admin" + form, "POST")
            for form in (
                "/login",
                "/logout",
                "/ha/security",
                "/ha/security/delete",
                "/ha/configuration",
                "/ha/configure",
                "/ha/unconfigure",
                "/ha/failover",
                "/ha/go-standby",
            )
        ),
    }
    assert {r for r in served if r[0].startswith("/phone/ipics")} == {
        ("/phone/ipics" + page, "GET") for page in ("", "/login", "/menu", "/talk", "/logout", "/resume")
    }


def test_no_route_is_declared_twice():
    keys = [(r.path, r.method) for r in ROUTES]
    assert len(keys) == len(set(keys))


def test_operation_ids_are_unique(live_doc: dict):
    ids = [op["operationId"] for _, _, op in operations(live_doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_path_parameters_are_documented(live_doc: dict):
    for path, method, op in operations(live_doc):
        in_path = re.findall(r"\{([^}]+)\}", path)
        documented = [p for p in op.get("parameters", []) if p["in"] == "path"]
        assert sorted(p["name"] for p in documented) == sorted(in_path), f"{method} {path}"
        assert all(p["required"] is True for p in documented), f"{method} {path}"


def test_every_reference_resolves(live_doc: dict):
    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(live_doc, node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(live_doc)


def test_refusals_are_documented_as_the_error_object(live_doc: dict):
    """Every 4xx and 5xx an operation declares is the error object, but the 503 of
    the health checks (health/active and the load balancers' /primary, /standby,
    /health): that one says the role, as its 200 does."""
    error = live_doc["components"]["schemas"]["Error"]
    assert set(error["required"]) >= {"error", "message"}
    for path, method, op in operations(live_doc):
        if method == "HEAD":
            continue  # no body: test_the_health_checks_answer_head_as_their_get_without_a_body
        refusals = {status: r for status, r in op["responses"].items() if status[0] in "45"}
        for status, refusal in refusals.items():
            schema = resolve(live_doc, refusal["content"]["application/json"]["schema"]["$ref"])
            if status == "503" and path in ("/api/v1/health/active", "/primary", "/standby", "/health"):
                assert schema is resolve(
                    live_doc, op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                )
            else:
                assert schema is error, f"{method} {path} {status}"
            assert refusal["description"], f"{method} {path} {status} says nothing about why"


# ---------------------------------------------------------------------- responses
def success(op: dict) -> dict[str, dict]:
    return {status: r for status, r in op["responses"].items() if status[0] in "12"}


def test_every_operation_declares_its_success_status_and_schema(live_doc: dict):
    """What a client gets when it works: one success status (two for a lab fault: a
    power-off is answered 202 before the server dies), and the body's schema."""
    for path, method, op in operations(live_doc):
        answers = success(op)
        assert answers, f"{method} {path} declares no success status"
        if method == "HEAD":
            continue  # no body: test_the_health_checks_answer_head_as_their_get_without_a_body
        for status, answer in answers.items():
            if status == "101":  # the events WebSocket: no body
                assert (path, method) == ("/api/v1/events", "GET")
                continue
            content = answer.get("content")
            assert content and len(content) == 1, f"{method} {path} {status} declares no body"
            [(media_type, body)] = content.items()
            schema = body["schema"]
            if media_type == "text/plain":  # Prometheus's text exposition format
                assert (path, schema) == ("/metrics", {"type": "string"}), f"{method} {path}"
                continue
            if media_type != "application/json":
                assert schema == {"type": "string", "format": "binary"}, f"{method} {path}"
                continue
            schema = resolve(live_doc, schema["$ref"])
            assert schema["type"] == "object" and schema["properties"], f"{method} {path}"
            if path == "/api/openapi.json":
                continue  # this document: OpenAPI allows more than its required fields
            assert schema.get("additionalProperties") is False, (
                f"{method} {path}: every field of the answer is named, so the document must say no others come"
            )


def test_creating_answers_201_and_the_standby_503_are_declared(live_doc: dict):
    """The statuses the issue found undeclared, and the active server's address that a
    not_active refusal always carries."""
    for path in ("/api/v1/channels", "/api/v1/incidents", "/api/v1/users", "/api/v1/vtgs"):
        assert set(success(live_doc["paths"][path]["post"])) == {"201"}, path
    assert {"200", "503"} <= set(live_doc["paths"]["/api/v1/health/active"]["get"]["responses"])
    rules = {
        rule["if"]["properties"]["error"]["const"]: set(rule["then"]["required"])
        for rule in live_doc["components"]["schemas"]["Error"]["allOf"]
    }
    assert rules["not_active"] == {"role", "active"}


def test_the_refusals_the_guard_gives_are_declared(live_doc: dict):
    for route in ROUTES:
        declared = live_doc["paths"][route.path][route.method.lower()]["responses"]
        if route.auth:
            assert "401" in declared, f"{route.method} {route.path}"
        if route.body:
            assert {"400", "413", "415"} <= set(declared), f"{route.method} {route.path}"
        if route.tomcat:
            assert "503" in declared, f"{route.method} {route.path}"
        if route.tag in ("data", "auth"):  # the standby names the active one
            assert {"409", "503"} <= set(declared), f"{route.method} {route.path}"
        if "{" in route.path:
            assert "404" in declared, f"{route.method} {route.path}"


def test_a_throttled_login_declares_retry_after(live_doc: dict):
    for path in ("/api/v1/auth/login", "/api/v1/ha/trust/exchange", "/api/v1/ha/trust/remove"):
        throttled = live_doc["paths"][path]["post"]["responses"]["429"]
        assert throttled["headers"]["Retry-After"]["required"] is True, path


def test_every_route_has_its_answers_and_no_answers_are_left_over():
    # a HEAD answers as its GET does (test_the_health_checks_answer_head_as_their_get_without_a_body)
    documented = {op["operationId"] for _, method, op in operations(build_openapi()) if method != "HEAD"}
    assert set(ANSWERS) == documented


def test_the_heartbeat_settings_carry_the_chapters_ranges(live_doc: dict):
    """Heartbeat Port, Heartbeat Interval and Missed Heartbeat Count (chapter, Step 8)."""
    body = resolve(
        live_doc,
        live_doc["paths"]["/api/v1/ha/settings"]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
    )["properties"]
    for name, (low, high) in {
        "port": HEARTBEAT_PORT_RANGE,
        "interval_s": HEARTBEAT_INTERVAL_RANGE_S,
        "missed_count": MISSED_HEARTBEAT_COUNT_RANGE,
    }.items():
        assert (body[name]["minimum"], body[name]["maximum"]) == (low, high), name


# ----------------------------------------------------------------- request bodies
def test_every_route_with_a_json_body_has_its_request_body_schema(live_doc: dict):
    for route in ROUTES:
        op = live_doc["paths"][route.path][route.method.lower()]
        if route.body is None:
            continue
        body = op.get("requestBody")
        assert body, f"{route.method} {route.path} takes {route.body.__name__} but documents no requestBody"
        assert body.get("required") is True
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = resolve(live_doc, schema["$ref"])
        assert schema.get("type") == "object", f"{route.method} {route.path}"
        fields = route.body.model_fields
        assert set(schema["properties"]) == set(fields), f"{route.method} {route.path}"
        required = {name for name, f in fields.items() if f.is_required()}
        assert set(schema.get("required", [])) == required, f"{route.method} {route.path}"
        assert schema.get("additionalProperties") is False, (
            f"{route.method} {route.path}: the server refuses unknown fields; the schema should say so"
        )


def test_routes_without_a_json_body_document_none(live_doc: dict):
    for route in ROUTES:
        op = live_doc["paths"][route.path][route.method.lower()]
        if route.body is None and "application/json" in op.get("requestBody", {}).get("content", {}):
            pytest.fail(f"{route.method} {route.path} documents a JSON body it does not read")


def test_upload_route_documents_its_raw_body_and_name_parameter(live_doc: dict):
    """The upload reads a raw body (any media type) and the file name from ``?name=``."""
    op = live_doc["paths"]["/api/v1/incidents/{incident_id}/files"]["post"]
    body = op.get("requestBody")
    assert body, "the upload takes the file as its body, but the document has no requestBody"
    assert body.get("required") is True
    assert body.get("content"), "the upload's requestBody names no media type"
    names = [p for p in op.get("parameters", []) if p["in"] == "query" and p["name"] == "name"]
    assert names and names[0]["required"] is True, "the ?name= query parameter is not documented"


# ------------------------------------------------------------------------ security
def test_every_authenticated_route_has_security(live_doc: dict):
    for route in ROUTES:
        op = live_doc["paths"][route.path][route.method.lower()]
        if route.auth:
            assert op.get("security") == [{"bearer": []}], f"{route.method} {route.path}"
        else:
            assert not op.get("security"), f"{route.method} {route.path} needs no token but documents one"


async def test_live_server_wants_a_token_exactly_where_documented(live_server, live_doc: dict):
    """No token: 401 on every documented-secure operation, never 401 elsewhere."""
    async with live_server.client() as c:
        for path, method, op in operations(live_doc):
            reply = await c.request(method, concrete(path))
            if op.get("security"):
                assert reply.status == 401, f"{method} {path} answered {reply.status} without a token"
            else:
                assert reply.status != 401, f"{method} {path} wants a token the document does not mention"


async def test_live_server_wants_json_exactly_where_documented(live_server, live_doc: dict):
    """A text/plain body is refused with 415 on every operation documenting a JSON body.

    Only those: the guard refuses the media type before the view runs, so nothing happens.
    """
    checked = 0
    async with live_server.admin() as c:
        for path, method, op in operations(live_doc):
            if "application/json" not in op.get("requestBody", {}).get("content", {}):
                continue
            reply = await c.request(method, concrete(path), data=b"{}", headers={"Content-Type": "text/plain"})
            assert reply.status == 415, f"{method} {path} answered {reply.status}: {reply.body}"
            checked += 1
    assert checked == sum(1 for r in ROUTES if r.body is not None)


async def test_a_method_a_path_does_not_serve_is_405_naming_those_it_does(live_server, live_doc: dict):
    """RFC 9110: a 405 carries Allow.  The error middleware turns it into JSON and must
    keep the header."""
    async with aiohttp.ClientSession() as session:
        for path, item in live_doc["paths"].items():
            served = {m.upper() for m in item if m in METHODS}
            async with session.patch(live_server.url + concrete(path)) as reply:
                assert reply.status == 405, f"PATCH {path}: {reply.status}"
                assert (await reply.json())["error"] == "method_not_allowed"
                allowed = {m.strip() for m in reply.headers.get("Allow", "").split(",") if m.strip()}
            assert allowed - {"HEAD"} == served - {"HEAD"}, f"PATCH {path}: Allow {reply.headers.get('Allow')!r}"
            assert "HEAD" not in served or "HEAD" in allowed, f"PATCH {path}: Allow {reply.headers.get('Allow')!r}"


#: the checks a load balancer makes: Patroni's shape and the chapter's health/active
HEALTH_CHECKS = {"/api/v1/health/active", "/primary", "/standby", "/health", "/liveness"}


async def test_the_health_checks_answer_head_as_their_get_without_a_body(live_server, live_doc: dict):
    """Load balancers check with HEAD (HAProxy's ``option httpchk HEAD /primary``): each
    health check answers it with the status its GET gives, and no body; the document
    says so (a ``head`` operation, the GET's statuses, no content).  Any other path
    still answers HEAD 405."""
    assert {path for path, item in live_doc["paths"].items() if "head" in item} == HEALTH_CHECKS
    seen = {}
    async with aiohttp.ClientSession() as session:
        for path in sorted(HEALTH_CHECKS):
            async with session.get(live_server.url + path) as got:
                assert await got.json(), path
            async with session.head(live_server.url + path) as reply:
                assert reply.status == got.status, f"HEAD {path}: {reply.status}, GET: {got.status}"
                assert await reply.read() == b"", f"HEAD {path} has a body"
            seen[path] = reply.status
            head, get = live_doc["paths"][path]["head"], live_doc["paths"][path]["get"]
            assert set(head["responses"]) == set(get["responses"]) and str(reply.status) in head["responses"]
            assert all("content" not in answer for answer in head["responses"].values()), path
            assert "security" not in head, path
        async with session.head(live_server.url + "/metrics") as reply:
            assert reply.status == 405, reply.status
    # the live server is active alone: a load balancer's HEAD /primary passes, /standby not
    assert seen["/primary"] == seen["/api/v1/health/active"] == 200 and seen["/standby"] == 503


@pytest.fixture
def calls(live_doc: dict):
    documented = DocumentedCalls(live_doc)
    yield documented
    documented.close()


async def test_records_are_answered_as_documented(live_server, calls: DocumentedCalls):
    """Each kind of record, made and read back through the API: status, body and headers
    as the document says (checked as the schemathesis check does, on fixed requests)."""
    url, admin = live_server.url, live_server.admin_token
    user = await calls(
        url,
        "create_user",
        status=201,
        token=admin,
        body={"username": "documented", "password": "a-password", "role": "dispatcher"},
    )
    await calls(
        url,
        "set_dial_login",
        status=200,
        token=admin,
        path_parameters={"username": user["username"]},
        body={"user_id": "4242", "pin": "4242"},
    )
    channel = await calls(url, "create_channel", status=201, token=admin, body={"name": "Documented"})
    await calls(
        url,
        "assign_channel",
        status=201,
        token=admin,
        path_parameters={"channel_id": channel["id"]},
        body={"username": user["username"]},
    )
    vtg = await calls(
        url,
        "create_vtg",
        status=201,
        token=admin,
        body={"name": "Documented VTG", "channels": [channel["id"]], "members": [user["username"]]},
    )
    await calls(
        url, "dial_out", status=200, token=admin, path_parameters={"vtg_id": vtg["id"]}, body={"number": "5550100"}
    )
    incident = await calls(
        url,
        "create_incident",
        status=201,
        token=admin,
        body={"name": "Documented incident", "participants": [user["username"]]},
    )
    ids = {"incident_id": incident["id"]}
    photo = await calls(
        url,
        "upload_file",
        status=201,
        token=admin,
        path_parameters=ids,
        query={"name": "a.png"},
        raw=b"\x89PNG not really",
        media_type="image/png",
    )
    assert photo["available"] is True
    await calls(url, "download_file", status=200, token=admin, path_parameters={**ids, "file_id": photo["id"]})
    await calls(url, "get_incident", status=200, token=admin, path_parameters=ids)
    for listing in (
        "list_users",
        "list_channels",
        "list_assignments",
        "list_vtgs",
        "list_incidents",
        "me",
        "list_licenses",
        "get_config",
        "discarded",
        "replication_lag",
    ):
        await calls(url, listing, status=200, token=admin)
    installed = (sample_licenses_dir() / "base.lic").read_text()  # again: answered with its entry
    await calls(url, "install_license", status=201, token=admin, body={"content": installed})
    for anyone in ("status", "health_active", "servers", "openapi"):
        await calls(url, anyone, status=200)
    await calls(
        url,
        "unassign_channel",
        status=200,
        token=admin,
        path_parameters={"channel_id": channel["id"], "username": user["username"]},
    )
    await calls(url, "delete_channel", status=200, token=admin, path_parameters={"channel_id": channel["id"]})


async def test_refusals_are_answered_as_documented(live_server, calls: DocumentedCalls):
    url, admin = live_server.url, live_server.admin_token
    await calls(url, "list_channels", status=401)
    await calls(url, "get_incident", status=404, token=admin, path_parameters={"incident_id": "0" * 32})
    await calls(url, "create_channel", status=400, token=admin, body={"name": ""})
    await calls(url, "update_settings", status=400, token=admin, body={"interval_s": 601})
    for _ in range(5):
        await calls(url, "login", status=401, body={"username": "guesser", "password": "wrong"})
    refused = await calls(url, "login", status=429, body={"username": "guesser", "password": "wrong"})
    assert refused["retry_after_s"] >= 1


async def test_monitoring_answers_scrapers_and_load_balancers_without_a_token(live_server, calls: DocumentedCalls):
    """``/metrics`` is the Prometheus format with every metric docs/server.md lists, and
    no other; the health checks answer as documented; a wrong password and the 401 it
    gets are counted; no secret is in any of it."""
    url = live_server.url
    before = Exposition((await calls(url, "metrics", status=200)).decode())
    assert {name: kind for name, (kind, _) in before.families.items()} == documented_metrics()
    assert all(help_ for _, help_ in before.families.values())
    # A primary server alone, HA unconfigured: active, serving clients, no standby.
    assert before.value("ipics_role", role="active") == before.value("ipics_primary") == 1
    assert before.value("ipics_role", role="standby") == before.value("ipics_standby") == 0
    assert before.value("ipics_ha_state", ha="unconfigured") == 1
    assert before.value("ipics_primary", server="primary") == 1
    # IPICS's own modes: said by the info metric; the modes' families listed, no samples
    assert before.value("ipics_modes_info", replication="async", synchronous_policy="", witness="false") == 1
    assert not [name for name, _ in before.samples if name.startswith(("ipics_synchronous_", "ipics_witness_"))], (
        "samples of a mode that is off"
    )
    await calls(url, "login", status=401, body={"username": "monitoring-probe", "password": "not-the-password"})
    after_text = (await calls(url, "metrics", status=200)).decode()
    after = Exposition(after_text)
    for counter, labels in (
        ("ipics_logins_refused_total", {"way": "login"}),
        ("ipics_http_requests_total", {"code": "401"}),
    ):
        assert after.value(counter, **labels) == before_or_zero(before, counter, **labels) + 1, counter
    assert live_server.admin_password not in after_text and live_server.admin_token not in after_text
    # Guessing on: the throttle's refusals are counted apart from wrong passwords.
    for _ in range(MAX_FAILURES - 1):
        await calls(url, "login", status=401, body={"username": "monitoring-probe", "password": "not-the-password"})
    await calls(url, "login", status=429, body={"username": "monitoring-probe", "password": "not-the-password"})
    guessed = Exposition((await calls(url, "metrics", status=200)).decode())
    assert (
        guessed.value("ipics_logins_throttled_total", way="login")
        == before.value("ipics_logins_throttled_total", way="login") + 1
    )
    assert guessed.value("ipics_logins_refused_total", way="login") == after.value(
        "ipics_logins_refused_total", way="login"
    ) + (MAX_FAILURES - 1)
    assert (await calls(url, "health", status=200))["tomcat"] == "running"
    assert (await calls(url, "liveness", status=200))["ok"] is True
    assert (await calls(url, "primary", status=200))["role"] == "active"
    assert (await calls(url, "standby", status=503))["ok"] is False


def before_or_zero(exposition: Exposition, name: str, **labels: str) -> float:
    """A labelled counter's sample, 0 when it has none yet (``code`` appears once given)."""
    found = [v for (n, ls), v in exposition.samples.items() if n == name and set(labels.items()) <= ls]
    return found[0] if found else 0
