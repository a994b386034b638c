"""Login and Logout in the browser: names and passwords, the throttle, the session
cookie, the standby's redirect, and what never appears in a page."""

from __future__ import annotations

import os
import signal

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.pair


async def test_user_names_are_case_insensitive_passwords_are_not(lab, admin_console, page):
    await lab.start()
    p = lab.primary
    await admin_console.log_in(p, "IPICSAdmin", lab.admin_password.swapcase())
    await expect(page.locator("#error")).to_have_text("Wrong user name or password.")
    await expect(page.locator("#username")).to_have_value("IPICSAdmin")
    assert lab.admin_password.swapcase() not in await page.content()

    await admin_console.log_in(p, "IPICSAdmin")
    await expect(page.locator("#server-status")).to_have_text("Not Trusted")
    await expect(page.locator(".user")).to_have_text("ipicsadmin")

    # The session cookie: HttpOnly, SameSite, only for the Administration Console, named for this server.
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies[f"ipics_admin_session_{p.port}"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/admin"
    assert await page.evaluate("document.cookie") == ""  # no script can read it
    assert lab.admin_password not in await page.content()

    await page.click("#logout")
    await expect(page.locator("#notice")).to_have_text("You were logged out.")
    # Back to an Administration Console page after Logout: the login page, not a cached copy.
    await admin_console.open(p, "/admin/ha/security")
    await expect(page.locator("#notice")).to_have_text("Log in to continue.")


async def test_repeated_wrong_passwords_are_throttled(lab, admin_console, page):
    await lab.start()
    p = lab.primary
    for _ in range(5):
        await admin_console.log_in(p, "ipicsadmin", "guess")
        await expect(page.locator("#error")).to_have_text("Wrong user name or password.")
    # Locked out: even the right password is refused, and says for how long.
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await admin_console.log_in(p)
    assert (await answer.value).status == 429 and 1 <= int((await answer.value).headers["retry-after"]) <= 30
    await expect(page.locator("#error")).to_contain_text("Too many failed logins for ipicsadmin")
    await expect(page.locator("#error")).to_contain_text("try again in")
    # The server keeps serving everyone else.
    assert (await lab.status(p))["role"]


async def test_a_user_who_is_not_a_system_administrator_is_refused(pair, admin_console, page):
    async with await pair.admin(pair.primary) as admin:
        reply = await admin.post(
            "/api/v1/users", {"username": "olga", "password": "operator-pass-1", "role": "operator"}
        )
        assert reply.ok, reply.body
    await admin_console.log_in(pair.primary, "olga", "operator-pass-1")
    await expect(page.locator("#error")).to_have_text(
        "The Administration Console's High Availability pages are for a system administrator."
    )
    await admin_console.open(pair.primary, "/admin/ha/configuration")
    await expect(page.locator("#login")).to_be_visible()


async def test_the_standby_sends_the_login_page_to_the_active(pair, admin_console, page):
    await admin_console.open(pair.secondary)
    assert page.url == f"{pair.primary.url}/admin/login?notice=redirected"
    await expect(page.locator("#notice")).to_contain_text("you were sent to the active server")
    await expect(page.locator("#server-address")).to_have_text(pair.primary.url)


async def test_a_killed_server_shows_on_the_open_page(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    pair.primary.kill()
    await expect(page.locator("#banner")).to_contain_text("This server does not answer")


async def test_a_paused_server_shows_on_the_open_page(pair, admin_console, page):
    """SIGSTOP: the connection is accepted and never answered; the page says so."""
    await admin_console.log_in(pair.primary)
    os.kill(pair.primary.pid, signal.SIGSTOP)
    try:
        await expect(page.locator("#banner")).to_contain_text("does not answer (no answer in 3 s)")
    finally:
        os.kill(pair.primary.pid, signal.SIGCONT)
    await expect(page.locator("#banner")).to_be_hidden()


async def test_reload_after_a_refusal_does_not_post_the_form_again(lab, admin_console, page):
    await lab.start()
    await admin_console.log_in(lab.primary)
    await page.fill("#partner-address", f"{lab.secondary.host}:{lab.secondary.port}")
    await page.fill("#partner-password", "not-the-password")
    await page.click("#save")
    await expect(page.locator("#error")).to_contain_text("password")
    methods: list[str] = []
    page.on("request", lambda r: methods.append(r.method) if r.url.endswith("/admin/ha/security") else None)
    await page.reload()
    await expect(page.locator("#server-status")).to_have_text("Not Trusted")
    assert methods == ["GET"]


async def test_the_page_shows_the_servers_own_refusal(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    # ipics_nm first: with the node manager down, nothing restarts tomcat.
    await pair.fault(pair.primary, fault="crash-service", service="ipics_nm")
    await pair.fault(pair.primary, fault="crash-service", service="tomcat")
    await expect(page.locator("#banner")).to_contain_text(
        "The server answers: the Administration Console is not available: tomcat is not running on this server"
    )
