"""The audit trail: what administrators did on a server, through the console, the API
and the shell, with the server's own sentence for what came of it."""

from __future__ import annotations

from .conftest import shell


async def test_the_servers_record_what_administrators_did_and_what_came_of_it(pair):
    # The shell: a look is not an action; ipicsrsync on the secondary is one, refused.
    out, status = await shell(pair, pair.secondary, "service ipics ha-status")
    assert status == 0
    out, status = await shell(pair, pair.secondary, "ipicsrsync run ipicsadmin")
    # The API: Go Standby outside a split brain, refused with the reason.
    async with await pair.admin(pair.primary) as admin:
        refused = await admin.post("/api/v1/ha/go-standby")
        assert refused.status == 409
        trail = (await admin.get("/api/v1/ha/audit")).body["actions"]
        # the lab's own steps to make the pair come first: trust, settings, Configure
        assert [a["action"] for a in trail if a["ok"]][-2:] == ["update-settings", "configure"]
        assert (trail[-1]["action"], trail[-1]["via"], trail[-1]["ok"]) == ("go-standby", "api", False)
        assert trail[-1]["user"] == "ipicsadmin" and "split brain" in trail[-1]["result"]
        bad = await admin.get("/api/v1/ha/audit?since=yesterday")
        assert bad.status == 400
        token = admin.token
    await pair.wait_replicated()
    async with pair.secondary.client(token) as c:  # the session replicated: the standby knows it
        trail = (await c.get("/api/v1/ha/audit")).body["actions"]
    shell_actions = [a for a in trail if a["via"] == "shell"]
    assert [(a["action"], a["command"]) for a in shell_actions] == [("rsync", "ipicsrsync run ipicsadmin")]
    assert shell_actions[0]["ok"] is (status == 0) and shell_actions[0]["result"] == next(
        line for line in out.splitlines() if line.strip()
    )
    assert pair.admin_password not in str(trail)


async def test_a_persons_login_is_recorded_by_the_api_and_the_phones_dial_login(demo):
    pair = demo.pair
    async with pair.primary.client() as c:
        assert (await c.post("/api/v1/auth/login", {"username": "dan", "password": demo.password})).ok
        wrong = await c.post("/api/v1/auth/login", {"username": "amy", "password": "not-hers"})
        assert wrong.status == 401
        # Dan's IP phone: the IPICS service's Dial Login (user ID 1001, the PIN)
        phone = await c.get(f"/phone/ipics/login?userid={demo.dial_ids['dan']}&pin={demo.pin}")
        assert phone.status == 200
    await pair.login(pair.primary)  # the lab's administrator: its machinery, not a person's action
    reply = await pair.admin_attempt(pair.primary, "GET", "/api/v1/ha/audit")
    logins = [(a["action"], a["via"], a["user"], a["ok"]) for a in reply.body["actions"] if a["action"] == "login"]
    assert logins == [("login", "api", "dan", True), ("login", "phone", "dan", True)]


async def test_the_audit_log_in_the_shell_is_the_trail_for_ipicsadmin_only(pair):
    import json

    from ipics_server.core.commands import AUDIT_LOG

    await shell(pair, pair.secondary, "ipicsrsync run ipicsadmin")
    out, status = await shell(pair, pair.secondary, f"tail -n 1 {AUDIT_LOG}")
    assert status == 0
    entry = json.loads(out)
    assert (entry["action"], entry["via"], entry["command"]) == ("rsync", "shell", "ipicsrsync run ipicsadmin")
    out, status = await shell(pair, pair.secondary, f"cat {AUDIT_LOG}", user="informix")
    assert status != 0 and "Permission denied" in out


async def test_the_consoles_ha_security_and_settings_forms_are_recorded_by_the_chapters_words(pair):
    """Delete on the HA Security tab and Save on the HA Configuration tab, as a browser
    posts them: an exercise grades Method 2's delete-trust and establish-trust from these."""
    from ..admin_console.test_admin_console_http import Browserless

    console = Browserless(pair.primary.url)
    try:
        await console.log_in(pair.admin_password)
        token = await console.token("/admin/ha/security")
        await console.post("/admin/ha/security/delete", {"csrf_token": token, "password": pair.admin_password})
        token = await console.token("/admin/ha/configuration")
        await console.post("/admin/ha/configuration", {"csrf_token": token, "interval_s": "abc"})
    finally:
        await console.http.close()
    async with await pair.admin(pair.primary) as admin:
        trail = (await admin.get("/api/v1/ha/audit")).body["actions"]
    # HA is configured: Delete is refused (Unconfigure first), the bad interval too; both kept
    assert [(a["action"], a["via"], a["ok"]) for a in trail if a["via"] == "console"] == [
        ("delete-trust", "console", False),
        ("update-settings", "console", False),
    ]
