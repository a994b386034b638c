"""Every entry point answers bad input with a clear 4xx JSON body, and loses nothing.

One real server process for the whole module.  Every refused request that would have
created something uses a name starting with ``refused-``; the last test checks the
server is still up, the data made before is intact, and nothing refused was stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
from urllib.parse import quote

import aiohttp
import pytest

from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient, Reply

JSON = {"Content-Type": "application/json"}
JPEG = {"Content-Type": "image/jpeg"}
ONE_MIB = 1024 * 1024
USER_PASSWORD = "user-password-1"


@pytest.fixture(scope="module")
def seeded(live_server) -> dict:
    """Data made before any bad input: a channel, an incident and a "user"-role user."""

    async def seed() -> dict:
        async with live_server.admin() as c:
            channel = await c.post("/api/v1/channels", {"name": "kept-channel", "description": "made first"})
            assert channel.status == 201, channel.body
            incident = await c.post("/api/v1/incidents", {"name": "kept-incident"})
            assert incident.status == 201, incident.body
            user = await c.post("/api/v1/users", {"username": "plainuser", "password": USER_PASSWORD, "role": "user"})
            assert user.status == 201, user.body
            licenses = await c.get("/api/v1/licenses")
            config = await c.get("/api/v1/ha/config")
        user_token = await live_server.login("plainuser", USER_PASSWORD)
        return {
            "channel": channel.body,
            "incident": incident.body,
            "user_token": user_token,
            "licenses": licenses.body,
            "heartbeat": config["heartbeat"],
            "accepted_files": [],
        }

    return asyncio.run(seed())


def assert_refused(reply: Reply, status: int, code: str | None = None, *, says: tuple[str, ...] = ()) -> None:
    """A refusal: this status, and a JSON object with a non-empty error code and message."""
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.body!r}"
    assert isinstance(reply.body, dict), f"the refusal is not a JSON object: {reply.body!r}"
    assert isinstance(reply.body.get("error"), str) and reply.body["error"], reply.body
    assert isinstance(reply.body.get("message"), str) and reply.body["message"], reply.body
    if code is not None:
        assert reply.body["error"] == code, reply.body
    for text in says:
        assert text in reply.body["message"], f"{text!r} not in message {reply.body['message']!r}"


# ------------------------------------------------------------------ malformed bodies
NOT_JSON = [
    pytest.param(b'{"username": "ipicsadmin", "password": ', id="truncated"),
    pytest.param(b"this is not json", id="text"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"{'single': 'quotes'}", id="single-quotes"),
]
NOT_AN_OBJECT = [
    pytest.param(b'["refused-list", "x"]', id="list"),
    pytest.param(b'"refused-string"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
]
DEEPLY_NESTED = [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-lists"),
    pytest.param(b'{"name":' * 50_000 + b'"refused-deep"' + b"}" * 50_000, id="nested-objects"),
]


@pytest.mark.parametrize("body", NOT_JSON)
async def test_login_malformed_json_is_400(live_server, seeded: dict, body: bytes):
    async with live_server.client() as c:
        reply = await c.request("POST", "/api/v1/auth/login", data=body, headers=JSON)
    assert_refused(reply, 400, "malformed_json", says=("JSON",))


@pytest.mark.parametrize("body", NOT_JSON)
async def test_create_channel_malformed_json_is_400(live_server, seeded: dict, body: bytes):
    async with live_server.admin() as c:
        reply = await c.request("POST", "/api/v1/channels", data=body, headers=JSON)
    assert_refused(reply, 400, "malformed_json", says=("JSON",))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/channels"])
@pytest.mark.parametrize("body", NOT_AN_OBJECT)
async def test_json_that_is_not_an_object_is_400(live_server, seeded: dict, path: str, body: bytes):
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=body, headers=JSON)
    assert_refused(reply, 400, says=("JSON object",))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/channels"])
@pytest.mark.parametrize("body", DEEPLY_NESTED)
async def test_deeply_nested_json_is_400_not_500(live_server, seeded: dict, path: str, body: bytes):
    """Well under the 1 MiB limit, but nested deeper than the JSON parser recurses."""
    assert len(body) < ONE_MIB
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=body, headers=JSON)
    assert_refused(reply, 400)


# ------------------------------------------------------------ wrong shapes of object
LOGIN_BAD = [
    pytest.param({"username": 5, "password": "x"}, "username", id="username-int"),
    pytest.param({"username": "ipicsadmin", "password": ["x"]}, "password", id="password-list"),
    pytest.param({"username": "ipicsadmin", "password": "x", "remember": True}, "remember", id="unknown-field"),
    pytest.param({"username": "ipicsadmin"}, "password", id="missing-password"),
    pytest.param({"password": "x"}, "username", id="missing-username"),
    pytest.param({}, "username", id="empty-object"),
    pytest.param({"username": "", "password": "x"}, "username", id="empty-username"),
    pytest.param({"username": "ipicsadmin", "password": ""}, "password", id="empty-password"),
]


CHANNEL_BAD = [
    pytest.param({"name": 5}, "name", id="name-int"),
    pytest.param({"name": ["refused-list"]}, "name", id="name-list"),
    pytest.param({"name": None}, "name", id="name-null"),
    pytest.param({"name": "refused-desc", "description": 7}, "description", id="description-int"),
    pytest.param({"name": "refused-unknown", "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"description": "refused-missing-name"}, "name", id="missing-name"),
    pytest.param({}, "name", id="empty-object"),
    pytest.param({"name": "   "}, "name", id="blank-name"),
    pytest.param({"name": "refused-" + "x" * 200}, "name", id="name-too-long"),
    pytest.param({"name": "refused-long-desc", "description": "d" * 2001}, "description", id="description-too-long"),
]


@pytest.mark.parametrize(
    ("path", "as_admin", "body", "field"),
    [("/api/v1/auth/login", False, *p.values) for p in LOGIN_BAD]
    + [("/api/v1/channels", True, *p.values) for p in CHANNEL_BAD],
    ids=[f"login-{p.id}" for p in LOGIN_BAD] + [f"channel-{p.id}" for p in CHANNEL_BAD],
)
async def test_invalid_body_is_400_naming_the_field(
    live_server, seeded: dict, path: str, as_admin: bool, body: dict, field: str
):
    async with live_server.admin() if as_admin else live_server.client() as c:
        reply = await c.post(path, body)
    assert_refused(reply, 400, "invalid_body", says=(field,))
    assert field in [p["field"] for p in reply.body["problems"]], reply.body


async def test_create_user_invalid_bodies_are_400(live_server, seeded: dict):
    bad = [
        {"username": "refused-short", "password": "short"},  # password under 8 characters
        {"username": "refused bad name", "password": "long-enough-1"},  # space not allowed
        {"username": "refused-role", "password": "long-enough-1", "role": "root"},
        {"username": "refused-type", "password": 12345678},
        {"username": "refused-extra", "password": "long-enough-1", "is_admin": True},
    ]
    async with live_server.admin() as c:
        for body in bad:
            assert_refused(await c.post("/api/v1/users", body), 400, "invalid_body")


# ----------------------------------------------------------- content type and size
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login", b'{"username": "ipicsadmin", "password": "whatever"}'),
        ("/api/v1/channels", b'{"name": "refused-text-plain"}'),
    ],
)
async def test_wrong_content_type_is_415(live_server, seeded: dict, path: str, body: bytes, content_type: str | None):
    """Valid JSON, but not sent as application/json (None: the client's octet-stream default)."""
    headers = {"Content-Type": content_type} if content_type else None
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=body, headers=headers)
    assert_refused(reply, 415, says=("application/json",))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/channels"])
async def test_json_body_over_one_mib_is_413(live_server, seeded: dict, path: str):
    body = b'{"name": "refused-huge", "description": "' + b"a" * (ONE_MIB + 1024) + b'"}'
    async with live_server.admin() as c:  # BytesIO: aiohttp warns on a raw bytes body this large
        reply = await c.request("POST", path, data=io.BytesIO(body), headers=JSON)
    assert_refused(reply, 413, "too_large")


# ----------------------------------------------------------------- HA settings ranges
@pytest.mark.parametrize(
    ("field", "value", "range_text"),
    [
        ("interval_s", 4, "5 to 600"),
        ("interval_s", 601, "5 to 600"),
        ("missed_count", 4, "5 to 30"),
        ("missed_count", 31, "5 to 30"),
        ("port", 0, "1 to 65535"),
        ("port", 65536, "1 to 65535"),
    ],
)
async def test_out_of_range_ha_settings_are_400_naming_the_range(
    live_server, seeded: dict, field: str, value: int, range_text: str
):
    async with live_server.admin() as c:
        reply = await c.put("/api/v1/ha/settings", {field: value})
    assert_refused(reply, 400, "out_of_range", says=(range_text, str(value)))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"interval_s": "15"}, id="string"),
        pytest.param({"interval_s": 15.0}, id="float"),
        pytest.param({"missed_count": True}, id="bool"),
        pytest.param({"interval_s": 15, "timeout": 3}, id="unknown-field"),
    ],
)
async def test_ha_settings_wrong_types_are_400(live_server, seeded: dict, body: dict):
    async with live_server.admin() as c:
        reply = await c.put("/api/v1/ha/settings", body)
    assert_refused(reply, 400, "invalid_body")


# ------------------------------------------------------------------ authentication
async def test_wrong_password_and_unknown_user_get_the_same_401(live_server, seeded: dict):
    async with live_server.client() as c:
        wrong = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": "not-the-password"})
        unknown = await c.post("/api/v1/auth/login", {"username": "refused-nobody", "password": "whatever"})
    assert_refused(wrong, 401)
    assert_refused(unknown, 401)
    assert wrong.body == unknown.body, "the answer must not tell which of user name or password was wrong"
    assert "token" not in wrong.body


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer", id="bearer-no-token"),
        pytest.param("Bearer ", id="bearer-blank"),
        pytest.param("Bearer not-a-real-token", id="unknown-token"),
        pytest.param("Basic aXBpY3NhZG1pbjp4", id="basic-scheme"),
        pytest.param("not-a-real-token", id="no-scheme"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/channels", None),
        ("POST", "/api/v1/channels", {"name": "refused-no-token"}),
        ("GET", "/api/v1/users", None),
        ("PUT", "/api/v1/ha/settings", {"interval_s": 20}),
        ("PUT", "/api/v1/lab/time-scale", {"time_scale": 1.0}),
    ],
)
async def test_missing_or_bad_token_is_401(
    live_server, seeded: dict, authorization: str | None, method: str, path: str, body: dict | None
):
    headers = {"Authorization": authorization} if authorization is not None else None
    async with live_server.client() as c:
        reply = await c.request(method, path, json=body, headers=headers)
    assert_refused(reply, 401, "unauthorized", says=("log in",))
    assert reply.headers["WWW-Authenticate"].startswith("Bearer"), "a 401 names its scheme (RFC 9110)"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/channels", {"name": "refused-by-role"}),
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "refused-by-role", "password": "long-enough-1"}),
        ("POST", "/api/v1/licenses", {"content": "garbage"}),
        ("PUT", "/api/v1/ha/settings", {"interval_s": 20}),
        ("POST", "/api/v1/lab/faults", {"fault": "crash-service", "service": "tomcat"}),
        ("PUT", "/api/v1/lab/time-scale", {"time_scale": 1.0}),
    ],
)
async def test_user_role_is_403_on_privileged_routes(
    live_server, seeded: dict, method: str, path: str, body: dict | None
):
    async with live_server.client(seeded["user_token"]) as c:
        reply = await c.request(method, path, json=body)
    assert_refused(reply, 403, "forbidden", says=("user",))


# ------------------------------------------------------------------------- uploads
def _upload_path(incident_id: str, name: str | None) -> str:
    path = f"/api/v1/incidents/{incident_id}/files"
    return path if name is None else f"{path}?name={quote(name, safe='')}"


async def test_upload_over_the_limit_is_413(live_server, seeded: dict):
    path = _upload_path(seeded["incident"]["id"], "refused-big.jpg")
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=b"\xff" * (live_server.max_upload_bytes + 1), headers=JPEG)
    assert_refused(reply, 413, "too_large", says=(str(live_server.max_upload_bytes),))


async def test_chunked_upload_over_the_limit_is_413(live_server, seeded: dict):
    """No Content-Length: the server must count while it reads."""

    async def chunks():
        for _ in range(5):
            yield b"\xff" * 1000

    path = _upload_path(seeded["incident"]["id"], "refused-chunked.jpg")
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=chunks(), headers=JPEG)
    assert_refused(reply, 413, "too_large", says=(str(live_server.max_upload_bytes),))


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "a/b.jpg",
        "..",
        ".",
        ".hidden",
        "a\\b.jpg",
        "a\x00b.jpg",
        "/etc/passwd",
        "..\\..\\boot.ini",
        "a\nb.jpg",
        "x" * 201,
    ],
)
async def test_upload_name_with_a_path_trick_is_400(live_server, seeded: dict, name: str):
    async with live_server.admin() as c:
        reply = await c.request("POST", _upload_path(seeded["incident"]["id"], name), data=b"\xff\xd8ok", headers=JPEG)
    assert_refused(reply, 400, "bad_request", says=("file name",))


async def test_upload_name_nul_sent_as_percent_00_is_400(live_server, seeded: dict):
    path = f"/api/v1/incidents/{seeded['incident']['id']}/files?name=photo%00.jpg"
    async with live_server.admin() as c:
        reply = await c.request("POST", path, data=b"\xff\xd8ok", headers=JPEG)
    assert_refused(reply, 400, "bad_request", says=("NUL",))


async def test_upload_without_a_name_is_400(live_server, seeded: dict):
    async with live_server.admin() as c:
        reply = await c.request("POST", _upload_path(seeded["incident"]["id"], None), data=b"\xff\xd8ok", headers=JPEG)
    assert_refused(reply, 400, "bad_request", says=("file name",))


async def test_empty_upload_is_400(live_server, seeded: dict):
    async with live_server.admin() as c:
        reply = await c.request(
            "POST", _upload_path(seeded["incident"]["id"], "refused-empty.jpg"), data=b"", headers=JPEG
        )
    assert_refused(reply, 400, "bad_request", says=("empty",))


async def test_upload_to_an_unknown_incident_is_404(live_server, seeded: dict):
    async with live_server.admin() as c:
        reply = await c.request("POST", _upload_path("0" * 32, "refused-nowhere.jpg"), data=b"\xff\xd8ok", headers=JPEG)
    assert_refused(reply, 404, "not_found")


async def test_user_not_in_the_incident_cannot_upload_to_it(live_server, seeded: dict):
    async with live_server.client(seeded["user_token"]) as c:
        reply = await c.request(
            "POST", _upload_path(seeded["incident"]["id"], "refused-outsider.jpg"), data=b"\xff\xd8ok", headers=JPEG
        )
    assert_refused(reply, 404, "not_found")


async def test_valid_upload_at_the_limit_round_trips(live_server, seeded: dict):
    """Exactly the limit is allowed; the download is byte for byte what was sent."""
    content = b"\xff\xd8\xff\xe0" + os.urandom(live_server.max_upload_bytes - 4)
    incident_id = seeded["incident"]["id"]
    async with live_server.admin() as c:
        reply = await c.request("POST", _upload_path(incident_id, "été photo.jpg"), data=content, headers=JPEG)
    assert reply.status == 201, reply.body
    seeded["accepted_files"].append(reply["id"])
    assert reply["name"] == "été photo.jpg"
    assert reply["size"] == len(content)
    assert reply["sha256"] == hashlib.sha256(content).hexdigest()
    async with aiohttp.ClientSession() as s:  # raw bytes: ApiClient would try to decode them
        async with s.get(
            f"{live_server.url}/api/v1/incidents/{incident_id}/files/{reply['id']}",
            headers={"Authorization": f"Bearer {live_server.admin_token}"},
        ) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/jpeg"
            got = await resp.read()
    assert got == content


async def test_download_of_unknown_file_is_404(live_server, seeded: dict):
    incident_id = seeded["incident"]["id"]
    async with live_server.admin() as c:
        for file_id in ("0" * 32, "0" * 31 + "g", "not-an-id"):
            reply = await c.get(f"/api/v1/incidents/{incident_id}/files/{quote(file_id, safe='')}")
            assert_refused(reply, 404)


# ------------------------------------------------------------------------ licenses
@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param("garbage", ("license file line 1",), id="garbage"),
        pytest.param(
            "FEATURE=TIME_MACHINE\nSERIAL=LAB-1", ("unknown license feature", "TIME_MACHINE"), id="unknown-feature"
        ),
        pytest.param("VERSION=5.0\nSERIAL=LAB-1", ("no FEATURE",), id="no-feature"),
        pytest.param("FEATURE=IPICS_BASE_SERVER", ("SERIAL",), id="no-serial"),
    ],
)
async def test_invalid_license_is_400_with_a_clear_message(
    live_server, seeded: dict, content: str, says: tuple[str, ...]
):
    async with live_server.admin() as c:
        reply = await c.post("/api/v1/licenses", {"content": content})
    assert_refused(reply, 400, "license_refused", says=says)


async def test_license_content_too_large_is_400(live_server, seeded: dict):
    async with live_server.admin() as c:
        reply = await c.post("/api/v1/licenses", {"content": "# " + "x" * 5000})
    assert_refused(reply, 400, "invalid_body", says=("content",))


async def test_ha_license_on_the_primary_is_400(live_server, seeded: dict):
    content = (sample_licenses_dir() / "ha.lic").read_text()
    async with live_server.admin() as c:
        reply = await c.post("/api/v1/licenses", {"content": content})
    assert_refused(
        reply, 400, "license_refused", says=("High Availability license must not be installed", "IPICS Base server")
    )


# --------------------------------------------------------------------- lab and trust
@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param({"fault": "meteor-strike"}, ("fault",), id="unknown-fault"),
        pytest.param({}, ("fault",), id="no-fault"),
        pytest.param({"fault": "crash-service"}, ("service",), id="crash-without-service"),
        pytest.param({"fault": "crash-service", "service": "sshd"}, ("service",), id="unknown-service"),
        pytest.param({"fault": "cut-link"}, ("direction",), id="cut-without-direction"),
        pytest.param({"fault": "cut-link", "direction": "sideways"}, ("direction",), id="unknown-direction"),
        pytest.param({"fault": "clock-offset"}, ("seconds",), id="offset-without-seconds"),
        pytest.param({"fault": "clock-offset", "seconds": 1e12}, ("seconds",), id="offset-too-large"),
        pytest.param({"fault": "clock-offset", "seconds": "10"}, ("seconds",), id="offset-as-string"),
        pytest.param({"fault": "clock-offset", "seconds": 0, "when": "now"}, ("when",), id="unknown-field"),
        pytest.param({"fault": "txlog-capacity"}, ("capacity",), id="capacity-missing"),
        pytest.param({"fault": "txlog-capacity", "capacity": 5}, ("capacity",), id="capacity-too-small"),
        pytest.param({"fault": "txlog-capacity", "capacity": 10.5}, ("capacity",), id="capacity-not-integer"),
        pytest.param({"fault": "txlog-safeguard"}, ("enabled",), id="safeguard-without-enabled"),
        pytest.param({"fault": "txlog-safeguard", "enabled": "no"}, ("enabled",), id="safeguard-not-boolean"),
    ],
)
async def test_bad_lab_fault_is_400(live_server, seeded: dict, body: dict, says: tuple[str, ...]):
    async with live_server.admin() as c:
        reply = await c.post("/api/v1/lab/faults", body)
    assert_refused(reply, 400, says=says)


TIME_SCALE_BAD = [
    pytest.param(b'{"time_scale": 0}', ("time_scale", "greater than 0"), id="zero"),
    pytest.param(b'{"time_scale": -0.5}', ("time_scale", "greater than 0"), id="negative"),
    pytest.param(b'{"time_scale": 10.5}', ("time_scale", "less than or equal to 10"), id="over-ten"),
    pytest.param(b'{"time_scale": 1e308}', ("time_scale", "less than or equal to 10"), id="huge"),
    pytest.param(b'{"time_scale": "0.5"}', ("time_scale", "number"), id="string"),
    pytest.param(b'{"time_scale": true}', ("time_scale", "number"), id="boolean"),
    pytest.param(b'{"time_scale": null}', ("time_scale", "number"), id="null"),
    pytest.param(b'{"time_scale": [0.5]}', ("time_scale", "number"), id="list"),
    pytest.param(b'{"time_scale": {"value": 0.5}}', ("time_scale", "number"), id="object"),
    pytest.param(b'{"time_scale": NaN}', ("time_scale", "finite"), id="nan"),
    pytest.param(b'{"time_scale": Infinity}', ("time_scale", "finite"), id="infinity"),
    pytest.param(b'{"time_scale": -Infinity}', ("time_scale", "finite"), id="minus-infinity"),
    pytest.param(b"{}", ("time_scale", "required"), id="missing"),
    pytest.param(b'{"scale": 0.5}', ("time_scale", "scale"), id="misnamed"),
    pytest.param(b'{"time_scale": 0.5, "speed": 2}', ("speed",), id="unknown-field"),
    pytest.param(b'{"time_scale": 0.5, "at": "now"}', ("at", "number"), id="at-string"),
    pytest.param(b'{"time_scale": 0.5, "at": NaN}', ("at", "finite"), id="at-nan"),
    pytest.param(b'{"time_scale": 0.5, "at": 0}', ("at", "ahead", "behind"), id="at-1970"),
    pytest.param(b'{"time_scale": 0.5, "at": 1e12}', ("at", "ahead", "behind"), id="at-far-future"),
]


@pytest.mark.parametrize(("body", "says"), TIME_SCALE_BAD)
async def test_bad_time_scale_is_400_and_changes_nothing(live_server, seeded: dict, body: bytes, says: tuple[str, ...]):
    async with live_server.admin() as c:
        reply = await c.request("PUT", "/api/v1/lab/time-scale", data=body, headers=JSON)
        assert_refused(reply, 400, says=says)
        assert (await c.get("/api/v1/ha/status"))["time_scale"] == live_server.proc.time_scale


async def test_time_scale_changes_and_back(live_server, seeded: dict):
    """The answer gives the new scale and the server's emulated time; ``at`` a moment ahead."""
    started = live_server.proc.time_scale
    async with live_server.admin() as c:
        for scale, at in ((0.1, None), (started, time.time() + 0.2)):
            reply = await c.put("/api/v1/lab/time-scale", {"time_scale": scale, "at": at})
            assert reply.status == 200, reply.body
            assert reply["time_scale"] == scale and isinstance(reply["time"], float)
            assert reply["at"] == (at if at is not None else pytest.approx(time.time(), abs=5))

            async def taken(scale=scale):
                return (await c.get("/api/v1/ha/status"))["time_scale"] == scale

            await wait_until(taken, 5, f"the time scale {scale} to be in force")


@pytest.mark.parametrize(
    "address",
    [
        "no such host",
        "127.0.0.1:99999",
        "127.0.0.1:port",
        "ftp://127.0.0.1:21",
        "http://127.0.0.1:1/some/path",
        "http://127.0.0.1:1/?q=1",
        "http://",
        "://",
        "x" * 300,
        "",
    ],
)
async def test_trust_with_malformed_partner_address_is_400(live_server, seeded: dict, address: str):
    async with live_server.admin() as c:
        reply = await c.post(
            "/api/v1/ha/trust", {"partner_address": address, "username": "ipicsadmin", "password": "whatever"}
        )
    assert_refused(reply, 400)


async def test_trust_by_plain_http_off_loopback_is_400_saying_https(live_server, seeded: dict):
    # Nothing is sent: a password must not cross a network in the clear.
    async with live_server.admin() as c:
        reply = await c.post(
            "/api/v1/ha/trust",
            {"partner_address": "http://198.18.0.12:8000", "username": "ipicsadmin", "password": "whatever"},
        )
    assert_refused(reply, 400, "bad_request", says=("plain http to 198.18.0.12 is refused", "https"))


async def test_trust_with_own_address_is_400(live_server, seeded: dict):
    own = f"{live_server.proc.host}:{live_server.proc.port}"
    async with live_server.admin() as c:
        reply = await c.post("/api/v1/ha/trust", {"partner_address": own, "password": live_server.admin_password})
    assert_refused(reply, 400, says=("own address",))


# --------------------------------------------------------------------- unknown URLs
async def test_unknown_path_and_wrong_method_are_json(live_server, seeded: dict):
    async with live_server.admin() as c:
        assert_refused(await c.get("/api/v1/no-such-thing"), 404, "not_found")
        assert_refused(await c.get("/"), 404, "not_found")
        assert_refused(await c.delete("/api/v1/users"), 405, "method_not_allowed")
        assert_refused(await c.put("/api/v1/channels", {"name": "refused-put"}), 405, "method_not_allowed")
        assert_refused(await c.delete(f"/api/v1/channels/{'0' * 32}"), 404, "not_found")


async def test_plain_get_on_the_event_socket_is_400_json(live_server, seeded: dict):
    async with live_server.admin() as c:
        assert_refused(await c.get("/api/v1/events"), 400)


# ------------------------------------------------------------- after all of the above
async def test_server_survived_and_lost_nothing(live_server, seeded: dict):
    """Runs last in this module: the process is up and only the accepted data exists."""
    assert live_server.proc.proc.poll() is None, "the server process died"
    async with live_server.client() as c:
        status = await c.get("/api/v1/ha/status")
    assert status.status == 200, status.body

    async with live_server.admin() as c:
        channels = (await c.get("/api/v1/channels"))["channels"]
        users = (await c.get("/api/v1/users"))["users"]
        licenses = (await c.get("/api/v1/licenses")).body
        config = (await c.get("/api/v1/ha/config")).body
        incident = (await c.get(f"/api/v1/incidents/{seeded['incident']['id']}")).body

    assert seeded["channel"] in channels, "the channel made before the bad input is gone or changed"
    assert [ch["name"] for ch in channels if ch["name"].startswith("refused")] == []
    assert [ch for ch in channels if not isinstance(ch.get("name"), str)] == []
    assert sorted(u["username"] for u in users) == ["informix", "ipicsadmin", "plainuser"]
    assert licenses == seeded["licenses"]
    assert licenses["server"] == "primary"
    assert config["heartbeat"] == seeded["heartbeat"]
    assert config["server_status"] == "Not Trusted" and config["partner"] is None
    assert sorted(f["id"] for f in incident["files"]) == sorted(seeded["accepted_files"])
    on_disk = sorted(p.name for p in (live_server.data_dir / "files").iterdir())
    assert on_disk == sorted(seeded["accepted_files"]), "a refused upload left a file behind"

    # the user made before still logs in, and the admin session still works
    token = await live_server.login("plainuser", USER_PASSWORD)
    async with ApiClient(live_server.url, token=token) as c:
        assert (await c.get("/api/v1/me"))["username"] == "plainuser"


async def test_go_standby_outside_a_split_brain_is_409_and_changes_nothing(live_server, seeded: dict):
    async with live_server.admin() as c:
        before = (await c.get("/api/v1/ha/status")).body
        reply = await c.post("/api/v1/ha/go-standby")
        after = (await c.get("/api/v1/ha/status")).body
    assert_refused(reply, 409, says=("split brain",))
    assert after["role"] == before["role"] and not after["awaiting_repair"]
