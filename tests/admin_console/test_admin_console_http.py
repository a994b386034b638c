"""The console's forms under bad input, without a browser: expired or forged forms,
wrong types, oversized bodies, path tricks, a stopped tomcat.  Every refusal is a page
that says why, and the server keeps serving."""

from __future__ import annotations

import io
import re

import aiohttp
import pytest

pytestmark = pytest.mark.pair

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browserless:
    """An HTTP client with a cookie jar, reading CSRF tokens out of the pages."""

    def __init__(self, base: str):
        self.base = base
        # unsafe: the lab's servers are IP addresses, where aiohttp keeps no cookies by default
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def page(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as r:
            return r.status, await r.text()

    async def token(self, path: str) -> str:
        status, text = await self.page(path)
        assert status == 200, text
        return _CSRF.search(text).group(1)

    async def post(self, path: str, data, **kw) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(self.base + path, data=data, allow_redirects=False, **kw) as r:
            return r.status, await r.text(), r

    async def log_in(self, password: str) -> None:
        token = await self.token("/admin/login")
        status, text, r = await self.post(
            "/admin/login", {"csrf_token": token, "username": "ipicsadmin", "password": password}
        )
        assert status == 303 and r.headers["Location"] == "/admin/ha/security", text


@pytest.fixture
async def client(lab):
    await lab.start()
    c = Browserless(lab.primary.url)
    yield c
    await c.http.close()


def refusal(text: str) -> str:
    return re.search(r'id="error"[^>]*>([^<]*)<', text).group(1)


async def test_forms_without_the_session_token_are_refused(lab, client):
    await client.log_in(lab.admin_password)
    form = {"partner_address": f"{lab.secondary.host}:{lab.secondary.port}", "password": lab.admin_password}
    status, text, _ = await client.post("/admin/ha/security", form)  # no csrf_token
    assert status == 403 and "The form has expired or did not come from this console" in refusal(text)
    status, text, _ = await client.post("/admin/ha/security", {**form, "csrf_token": "0" * 64})
    # An expired form (a server restart renews the key) comes back as the tab, ready again.
    assert status == 403 and 'id="save"' in text and _CSRF.search(text)
    # The right token from another site's page: the browser's Origin gives it away.
    token = await client.token("/admin/ha/security")
    status, text, _ = await client.post(
        "/admin/ha/security", {**form, "csrf_token": token}, headers={"Origin": "http://evil.example"}
    )
    assert status == 403 and "posted from another site" in refusal(text)
    assert (await lab.status(lab.primary))["partner"] is None  # nothing was done
    # The login form has its own token; a cookie that is not one is not trusted either.
    status, _, _ = await client.post("/admin/login", {"username": "ipicsadmin", "password": lab.admin_password})
    assert status == 403
    client.http.cookie_jar.update_cookies({f"ipics_admin_login_{lab.primary.port}": "é" * 43})
    status, text, _ = await client.post(
        "/admin/login", {"csrf_token": "é" * 43, "username": "ipicsadmin", "password": lab.admin_password}
    )
    assert status == 403 and "The form has expired" in refusal(text)


async def test_wrong_types_and_out_of_range_values_are_refused_by_name(lab, client):
    await lab.establish_trust()
    await client.log_in(lab.admin_password)
    token = await client.token("/admin/ha/configuration")
    for fields, message in [
        (
            {"port": "abc", "interval_s": "15", "missed_count": "5"},
            "Heartbeat Port must be a whole number from 1 to 65535.",
        ),
        (
            {"port": "3444", "interval_s": "4", "missed_count": "5"},
            "Heartbeat Interval (seconds) must be from 5 to 600; 4 is out of range.",
        ),
        (
            {"port": "3444", "interval_s": "15", "missed_count": "31"},
            "Missed Heartbeat Count must be from 5 to 30; 31 is out of range.",
        ),
        (
            {"port": "3444", "interval_s": "1e3", "missed_count": "5"},
            "Heartbeat Interval (seconds) must be a whole number from 5 to 600.",
        ),
        (
            {"port": "3444", "interval_s": "15", "missed_count": ""},
            "Missed Heartbeat Count must be a whole number from 5 to 30.",
        ),
    ]:
        status, text, _ = await client.post("/admin/ha/configuration", {**fields, "csrf_token": token})
        assert (status, refusal(text)) == (400, message)
    # A file where a field belongs.
    form = aiohttp.FormData({"csrf_token": token, "interval_s": "15", "missed_count": "5"})
    form.add_field("port", b"3444", filename="port.txt")
    status, text, _ = await client.post("/admin/ha/configuration", form)
    assert status == 400 and refusal(text) == "Heartbeat Port must be text."
    assert (await lab.status(lab.primary))["heartbeat"]["interval_s"] == 15


async def test_oversized_forms_and_path_tricks(lab, client):
    body = io.BytesIO(b"username=" + b"x" * (2 * 1024 * 1024))
    status, text, _ = await client.post(
        "/admin/login", body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 413 and "too large" in refusal(text)
    for path in (
        "/admin/static/../app.py",
        "/admin/static/%2e%2e%2fapp.py",
        "/admin/static/admin_console.py",
        "/admin/nowhere",
    ):
        status, text = await client.page(path)
        assert status == 404, path
    status, text = await client.page("/admin/static/admin.js")
    assert status == 200 and 'fetch("/admin/ha/state"' in text
    status, _ = await client.page("/admin/login")
    assert status == 200  # still serving


async def test_pages_carry_the_security_headers(lab, client):
    async with client.http.get(lab.primary.url + "/admin/login") as r:
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
        assert "<script>" not in await r.text()  # no inline script for the policy to allow


async def test_the_console_is_down_while_tomcat_is(lab, client):
    # ipics_nm first: with the node manager down, nothing restarts tomcat meanwhile.
    await lab.fault(lab.primary, fault="crash-service", service="ipics_nm")
    await lab.fault(lab.primary, fault="crash-service", service="tomcat")
    status, text = await client.page("/admin/login")
    assert status == 503 and "tomcat is not running on this server" in refusal(text)


async def test_no_password_reaches_the_server_log(lab, client):
    secret = "Zebra-Quartz-991"
    await client.log_in(lab.admin_password)
    token = await client.token("/admin/ha/security")
    await client.post(
        "/admin/ha/security",
        {"csrf_token": token, "password": secret, "partner_address": f"{lab.secondary.host}:{lab.secondary.port}"},
    )
    lab.stop()
    for server in lab.servers:
        log = server.log_path.read_text()
        assert secret not in log and lab.admin_password not in log


async def test_forms_that_cannot_be_read_are_refused_in_words(lab, client):
    await client.log_in(lab.admin_password)
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    for body, headers in [
        (b"csrf_token=%C3%A9t%C3%A9&username=a&password=b", urlencoded),  # a token that is not ASCII
        (b"username=\xff\xfe&password=x", urlencoded),  # not UTF-8
        (b"username=a", {"Content-Type": "multipart/form-data"}),  # no boundary
        (b"username=a", {"Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset"}),
    ]:
        status, text, _ = await client.post("/admin/login", body, headers=headers)
        assert status in (400, 403), (body, status, text)
        assert refusal(text)  # a sentence on a page, not a traceback
    status, _ = await client.page("/admin/ha/security")
    assert status == 200  # still serving, still logged in


async def test_a_server_cannot_trust_itself_under_another_name(lab, client):
    await client.log_in(lab.admin_password)
    token = await client.token("/admin/ha/security")
    status, text, _ = await client.post(
        "/admin/ha/security",
        {"csrf_token": token, "partner_address": f"localhost:{lab.primary.port}", "password": lab.admin_password},
    )
    # The "partner" (this server) refuses the exchange: its own certificate came back.
    assert status == 502 and refusal(text) == (
        "The partner refused trust: the partner address is this server&#39;s own address."
    )
    assert (await lab.status(lab.primary))["partner"] is None
    # A typo that lands on a service that is not HTTP (the partner's SSH port).
    status, text, _ = await client.post(
        "/admin/ha/security",
        {
            "csrf_token": token,
            "partner_address": f"{lab.secondary.host}:{lab.secondary.ssh_port}",
            "password": lab.admin_password,
        },
    )
    assert status == 502 and refusal(text).startswith(
        f"The partner server at http://{lab.secondary.host}:{lab.secondary.ssh_port} does not answer"
    )
    status, text, _ = await client.post(
        "/admin/ha/security", {"csrf_token": token, "partner_address": "127.0.0.2:\x01", "password": lab.admin_password}
    )
    assert status == 400 and refusal(text) == "The partner address must be host:port or an http URL."
