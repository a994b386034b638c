"""Login rules on a real server: user names are not case-sensitive, passwords are, and
five wrong passwords in a row lock that user name out for that client address (the
sixth attempt is refused with 429 and Retry-After even with the right password).

Each test uses its own users, so the order of the tests does not matter.  A second
client address is 127.0.0.2: the whole of 127/8 is loopback, so a connection bound to
it reaches the server on 127.0.0.1 from another address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import aiohttp
import pytest

from ipics_server.core.throttle import FIRST_LOCKOUT_S, MAX_FAILURES

HOST, OTHER_HOST = "127.0.0.1", "127.0.0.2"


@dataclass
class Answer:
    status: int
    retry_after: str | None
    body: dict


async def log_in(url: str, username: str, password: str, *, source: str = HOST) -> Answer:
    """A login from ``source``, with the headers (the ApiClient returns only the body)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    body = {"username": username, "password": password}
    async with (
        aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as s,
        s.post(f"{url}/api/v1/auth/login", json=body) as r,
    ):
        return Answer(r.status, r.headers.get("Retry-After"), await r.json())


async def new_user(live_server, username: str, role: str = "dispatcher") -> str:
    password = "Pw-" + secrets.token_urlsafe(12)
    async with live_server.admin() as c:
        created = await c.post("/api/v1/users", {"username": username, "password": password, "role": role})
    assert created.status == 201, created.body
    return password


def wrong(password: str) -> str:
    return password + "x"


async def test_the_user_name_is_not_case_sensitive(live_server):
    answer = await log_in(live_server.url, "IPICSADMIN", live_server.admin_password)
    assert answer.status == 200, answer.body
    assert answer.body["user"]["username"] == "ipicsadmin"
    async with live_server.client(answer.body["token"]) as c:
        me = await c.get("/api/v1/me")
    assert me.status == 200 and me["username"] == "ipicsadmin", me.body

    password = await new_user(live_server, "Kate")
    for name in ("kate", "KATE", "Kate"):
        answer = await log_in(live_server.url, name, password)
        assert answer.status == 200, answer.body
        assert answer.body["user"]["username"] == "Kate", "the session must carry the name as created"
        async with live_server.client(answer.body["token"]) as c:
            assert (await c.get("/api/v1/me"))["username"] == "Kate"


async def test_the_password_is_case_sensitive(live_server):
    password = await new_user(live_server, "lena")
    assert password.swapcase() != password
    answer = await log_in(live_server.url, "lena", password.swapcase())
    assert answer.status == 401 and answer.body["error"] == "unauthorized", answer.body
    assert answer.body["message"] == "wrong user name or password"
    assert (await log_in(live_server.url, "LENA", password)).status == 200


async def test_five_wrong_passwords_lock_out_the_sixth_even_with_the_right_one(live_server):
    password = await new_user(live_server, "gina")
    for _ in range(MAX_FAILURES):
        answer = await log_in(live_server.url, "gina", wrong(password))
        assert answer.status == 401, answer.body
    locked = await log_in(live_server.url, "gina", password)
    assert locked.status == 429, locked.body
    assert locked.body["error"] == "too_many_attempts"
    assert "token" not in locked.body
    assert locked.retry_after is not None and locked.retry_after.isdigit(), locked.retry_after
    seconds = int(locked.retry_after)
    assert 1 <= seconds <= FIRST_LOCKOUT_S
    assert locked.body["retry_after_s"] == seconds
    assert locked.body["message"] == (f"too many failed logins for gina from this address: try again in {seconds} s")
    # Another case of the same name is the same user, so locked too.
    assert (await log_in(live_server.url, "GINA", password)).status == 429


async def test_a_lockout_leaves_other_users_and_other_clients_alone(live_server):
    password = await new_user(live_server, "hana")
    other_password = await new_user(live_server, "ivan")
    for _ in range(MAX_FAILURES):
        assert (await log_in(live_server.url, "hana", wrong(password))).status == 401
    assert (await log_in(live_server.url, "hana", password)).status == 429

    other_user = await log_in(live_server.url, "ivan", other_password)
    assert other_user.status == 200, other_user.body
    other_client = await log_in(live_server.url, "hana", password, source=OTHER_HOST)
    assert other_client.status == 200, other_client.body
    # ... and the other client's success does not lift this client's lockout.
    assert (await log_in(live_server.url, "hana", password)).status == 429

    # The server keeps answering everything else.
    async with live_server.admin() as c:
        assert (await c.get("/api/v1/me")).status == 200
        assert (await c.get("/api/v1/ha/status")).status == 200


async def test_four_wrong_passwords_then_the_right_one_start_the_count_again(live_server):
    password = await new_user(live_server, "jack")
    for _ in range(2):
        for _ in range(MAX_FAILURES - 1):
            assert (await log_in(live_server.url, "jack", wrong(password))).status == 401
        assert (await log_in(live_server.url, "jack", password)).status == 200


async def test_an_unknown_user_name_counts_and_says_nothing_more(live_server):
    """Guessing user names is throttled too, with the same answers as for a real user."""
    for _ in range(MAX_FAILURES):
        answer = await log_in(live_server.url, "nobody-here", "whatever-1")
        assert answer.status == 401 and answer.body["message"] == "wrong user name or password"
    locked = await log_in(live_server.url, "nobody-here", "whatever-1")
    assert locked.status == 429 and locked.retry_after is not None, locked.body
    assert locked.body["message"].startswith("too many failed logins for nobody-here from this address")


@pytest.mark.parametrize(("existing", "duplicate"), [("dan", "DAN"), ("Dave", "DAVE"), ("Eve", "eve")])
async def test_a_user_name_differing_only_in_case_is_refused(live_server, existing: str, duplicate: str):
    await new_user(live_server, existing)
    async with live_server.admin() as c:
        again = await c.post("/api/v1/users", {"username": existing, "password": "long-enough-1"})
        assert again.status == 409 and again["message"] == f"user {existing} already exists", again.body
        refused = await c.post("/api/v1/users", {"username": duplicate, "password": "long-enough-1"})
        assert refused.status == 409 and refused["error"] == "conflict", refused.body
        assert refused["message"] == (
            f"user {existing} already exists: user names are not case-sensitive, so {duplicate} would be the same user"
        )
        users = (await c.get("/api/v1/users"))["users"]
    names = [u["username"] for u in users]
    assert existing in names and duplicate not in names
    assert all("name_key" not in u for u in users), "the store's uniqueness key is not the API's business"


async def test_the_partner_trust_calls_are_throttled_too(live_server):
    """The trust exchange takes the ipicsadmin password without a login: guessing it
    there meets the same throttle (from its own address, so no other test is locked)."""
    source = "127.0.0.3"
    body = {
        "username": "ipicsadmin",
        "password": "guess",
        "certificate": "not a certificate",
        "address": "127.0.0.9:1",
        "heartbeat_port": 3444,
    }
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as s:
        for _ in range(MAX_FAILURES):
            async with s.post(f"{live_server.url}/api/v1/ha/trust/exchange", json=body) as r:
                assert r.status == 401
        async with s.post(
            f"{live_server.url}/api/v1/ha/trust/exchange", json={**body, "password": live_server.admin_password}
        ) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) <= FIRST_LOCKOUT_S
            assert "too many failed logins for ipicsadmin" in (await r.json())["message"]
    # The administrator's own logins from elsewhere are not locked.
    assert (await log_in(live_server.url, "ipicsadmin", live_server.admin_password)).status == 200


async def test_failed_logins_do_not_lock_the_partners_trust_calls_out(live_server):
    """Issue 14: five wrong passwords at the console or API from the partner's address
    locked the partner's trust calls from there; each way in is throttled on its own."""
    source = "127.0.0.4"
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as s:
        for _ in range(MAX_FAILURES + 1):
            async with s.post(
                f"{live_server.url}/api/v1/auth/login", json={"username": "ipicsadmin", "password": "guess"}
            ) as r:
                last = r.status
        assert last == 429
        # The partner's trust call from that address is judged on its password, not locked:
        # right password, a certificate that is not one, so refused for that (400), not 429.
        body = {
            "username": "ipicsadmin",
            "password": live_server.admin_password,
            "certificate": "not a certificate",
            "address": "127.0.0.9:1",
            "heartbeat_port": 3444,
        }
        async with s.post(f"{live_server.url}/api/v1/ha/trust/exchange", json=body) as r:
            assert r.status == 400, await r.text()
