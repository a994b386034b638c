"""Secrets stay secret: no plain passwords or tokens on disk or in logs, no password
hashes from the API, and the private key readable by its owner only."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import stat
from pathlib import Path

import aiohttp
import pytest

from ipics_lab.supervisor import free_port_on


def secret(label: str) -> str:
    """A password nobody else would write, so finding it anywhere means it leaked."""
    return f"{label}-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def secrets_used(live_server) -> dict:
    """Passwords and tokens that went through the server, for the greps below."""

    async def exercise() -> dict:
        used = {
            "user_password": secret("UserPw"),
            "wrong_password": secret("WrongPw"),
            "trust_password": secret("TrustPw"),
            "full_name": secret("Alice"),
            "tokens": [live_server.admin_token],
        }
        async with live_server.admin() as c:
            created = await c.post(
                "/api/v1/users",
                {
                    "username": "alice",
                    "password": used["user_password"],
                    "role": "dispatcher",
                    "full_name": used["full_name"],
                },
            )
            assert created.status == 201, created.body
            used["created"] = created.body
            # a login that fails must not log the password it was given
            wrong = await c.post("/api/v1/auth/login", {"username": "alice", "password": used["wrong_password"]})
            assert wrong.status == 401, wrong.body
            # nor must a trust attempt whose partner does not answer
            closed_port = free_port_on("127.0.0.1")
            trust = await c.post(
                "/api/v1/ha/trust", {"partner_address": f"127.0.0.1:{closed_port}", "password": used["trust_password"]}
            )
            assert trust.status == 502 and trust["error"] == "partner_unreachable", trust.body
            used["user_list"] = (await c.get("/api/v1/users")).body
        async with live_server.client() as c:
            login = await c.post("/api/v1/auth/login", {"username": "alice", "password": used["user_password"]})
        assert login.status == 200, login.body
        used["login"] = login.body
        used["tokens"].append(login["token"])
        async with live_server.client(login["token"]) as c:
            used["me"] = (await c.get("/api/v1/me")).body
        return used

    return asyncio.run(exercise())


def files_to_search(live_server) -> list[Path]:
    """Everything the server wrote: its data directory (database, WAL, server.log,
    certificates, uploads) and the stderr log the supervisor keeps beside it."""
    found = [p for p in live_server.data_dir.rglob("*") if p.is_file()]
    assert live_server.proc.log_path is not None
    found.append(live_server.proc.log_path)
    names = {p.name for p in found}
    assert "ipics.sqlite3" in names and "server.log" in names, sorted(names)
    return found


def leaks(live_server, needles: dict[str, str]) -> list[str]:
    found = []
    for path in files_to_search(live_server):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # e.g. a WAL or upload part that went away meanwhile
            continue
        for label, needle in needles.items():
            if needle.encode() in data:
                found.append(f"{label} in {path}")
    return found


def all_needles(live_server, used: dict) -> dict[str, str]:
    needles = {
        "admin password": live_server.admin_password,
        "user password": used["user_password"],
        "wrong password": used["wrong_password"],
        "trust password": used["trust_password"],
    }
    needles.update({f"session token {i}": t for i, t in enumerate(used["tokens"])})
    return needles


def assert_no_password_hash(value, where: str) -> None:
    text = json.dumps(value)
    assert "password_hash" not in text, f"{where} returns password_hash: {text}"
    assert "scrypt$" not in text, f"{where} returns a password hash: {text}"
    assert "password" not in (value if isinstance(value, dict) else {}), f"{where} returns a password"


# ------------------------------------------------------------------------ at rest
def test_passwords_are_not_on_disk_or_in_logs(live_server, secrets_used: dict):
    # control: the search does see what the server stored along with the password
    assert leaks(live_server, {"full name": secrets_used["full_name"]}) != []
    needles = all_needles(live_server, secrets_used)
    assert leaks(live_server, {k: v for k, v in needles.items() if "token" not in k}) == []


def test_session_tokens_are_not_on_disk_or_in_logs(live_server, secrets_used: dict):
    """Sessions are stored by the SHA-256 of the token, not the token."""
    needles = all_needles(live_server, secrets_used)
    assert leaks(live_server, {k: v for k, v in needles.items() if "token" in k}) == []


def test_admin_password_is_not_on_the_command_line(live_server):
    cmdline = Path(f"/proc/{live_server.proc.pid}/cmdline").read_bytes()
    assert b"\0--data-dir\0" in cmdline, cmdline  # the server's own command line
    assert live_server.admin_password.encode() not in cmdline


# --------------------------------------------------------------------- in the API
def test_users_api_never_returns_password_hash(secrets_used: dict):
    assert_no_password_hash(secrets_used["created"], "POST /api/v1/users")
    assert_no_password_hash(secrets_used["user_list"], "GET /api/v1/users")
    for user in secrets_used["user_list"]["users"]:
        assert_no_password_hash(user, f"GET /api/v1/users ({user.get('username')})")
    assert {"ipicsadmin", "informix", "alice"} <= {u["username"] for u in secrets_used["user_list"]["users"]}
    assert_no_password_hash(secrets_used["login"], "POST /api/v1/auth/login")
    assert_no_password_hash(secrets_used["login"]["user"], "POST /api/v1/auth/login (user)")
    assert_no_password_hash(secrets_used["me"], "GET /api/v1/me")
    assert secrets_used["me"]["username"] == "alice"


async def test_event_socket_pushes_no_user_or_session_records(live_server, secrets_used: dict):
    """Creating a user and logging in push nothing (nor the login's audit entry); the
    channel made after them does."""
    password = secret("WsPw")
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    seen: list[dict] = []
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"{live_server.url}/api/v1/events", headers=headers) as ws:
            hello = await ws.receive_json(timeout=10)
            assert hello["type"] == "hello"
            async with live_server.admin() as c:
                assert (await c.post("/api/v1/users", {"username": "bob", "password": password})).status == 201
                async with live_server.client() as anon:
                    bob = await anon.post("/api/v1/auth/login", {"username": "bob", "password": password})
                assert bob.status == 200, bob.body
                channel = await c.post("/api/v1/channels", {"name": "after-bob"})
                assert channel.status == 201, channel.body
            async with asyncio.timeout(10):  # the channel event comes after anything the user caused
                while True:
                    event = await ws.receive_json()
                    seen.append(event)
                    if event.get("type") == "record" and event.get("key") == channel["id"]:
                        break
    for event in seen:
        assert event.get("table") not in ("users", "sessions"), event
        # bob's login is in the audit trail, which is read by GET /api/v1/ha/audit, never pushed
        assert event.get("type") != "audit", event
        text = json.dumps(event)
        assert password not in text and "password_hash" not in text and bob["token"] not in text, event


# ------------------------------------------------------------------- certificates
def test_private_key_is_readable_by_its_owner_only(live_server):
    key = live_server.data_dir / "certs" / "server.key"
    assert key.is_file()
    st = key.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(stat.S_IMODE(st.st_mode))
    assert st.st_uid == os.getuid()
    assert b"PRIVATE KEY" in key.read_bytes()


def test_certificate_and_data_directories_are_owner_only(live_server):
    for directory in (live_server.data_dir / "certs", live_server.data_dir):
        mode = stat.S_IMODE(directory.stat().st_mode)
        assert mode & 0o077 == 0, f"{directory} is open to others: {oct(mode)}"


def test_private_key_is_not_in_logs_or_api(live_server):
    key_lines = [
        ln
        for ln in (live_server.data_dir / "certs" / "server.key").read_text().splitlines()
        if ln and not ln.startswith("-----")
    ]
    assert key_lines
    body = "".join(key_lines)
    for path in (live_server.data_dir / "server.log", live_server.proc.log_path):
        text = path.read_text(errors="replace")
        assert key_lines[0] not in text and body not in text.replace("\n", ""), f"the key is in {path}"


# --------------------------------------------------------------- after shutdown
def test_after_shutdown_the_database_holds_only_hashes(live_server, secrets_used: dict):
    """Last in the module: stop the server (checkpointing the WAL) and look again."""
    live_server.proc.stop()
    assert live_server.proc.proc.poll() is not None
    assert leaks(live_server, all_needles(live_server, secrets_used)) == []

    db = sqlite3.connect(f"file:{live_server.data_dir / 'ipics.sqlite3'}?mode=ro", uri=True)
    try:
        users = {
            key: json.loads(value)
            for key, value in db.execute("SELECT key, value FROM records WHERE tbl='users' AND value IS NOT NULL")
        }
        session_keys = [key for (key,) in db.execute("SELECT key FROM records WHERE tbl='sessions'")]
    finally:
        db.close()
    assert {"ipicsadmin", "informix", "alice"} <= set(users)
    for name, user in users.items():
        assert user["password_hash"].startswith("scrypt$"), name
        assert "password" not in user, name
    assert session_keys, "no session was stored"
    for token in secrets_used["tokens"]:
        assert token not in session_keys
