"""The chapter's procedures in the browser, on a configured pair: Performing a Manual
Failover, Resolving a Split Brain Scenario (Go Standby), Unconfiguring HA and deleting
the trust certificates."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from ..pair.conftest import TAKEOVER_DEADLINE_S
from .conftest import AdminConsole

pytestmark = pytest.mark.pair
TAKEOVER_MS = TAKEOVER_DEADLINE_S * 1000


async def test_failover_now_hands_the_active_role_over_and_logins_follow_it(pair, admin_console, page):
    p, s = pair.primary, pair.secondary
    await admin_console.log_in(p)
    await admin_console.tab("configuration")
    await expect(page.locator("#standby-server-status")).to_have_text("Ready")

    await page.click("#failover")
    await expect(page.locator("#confirm-message")).to_contain_text("Transfer the active role to the standby")
    await page.click("#confirm-ok")
    await expect(page.locator("#flash")).to_contain_text("Failover Now: this server is the standby now")
    await expect(page.locator("#server-role")).to_have_text("Standby")
    # Without a reload, the page names the new active once it has taken over.
    await expect(page.locator("#banner a")).to_have_text(s.url, timeout=TAKEOVER_MS)
    await expect(page.locator("#failover")).to_be_disabled()
    assert (await pair.status(s))["role"] == "active"

    # Logout on the standby: its login page sends the browser to the active server.
    await page.click("#logout")
    await page.wait_for_url(f"{s.url}/admin/login?notice=redirected")
    await admin_console.open(p)
    await expect(page.locator("#notice")).to_contain_text("This server is the standby server")
    assert page.url.startswith(s.url + "/admin/login")
    await admin_console.log_in(s)  # the same browser, the other server's own session
    await expect(page.locator("#server-name")).to_have_text("Secondary server")
    await expect(page.locator("#server-role")).to_have_text("Active")


async def split_the_pair(pair) -> None:
    await pair.fault(pair.primary, fault="cut-link", direction="both")
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")


async def test_split_brain_then_go_standby_on_the_secondary(pair, admin_console, page):
    p, s = pair.primary, pair.secondary
    await split_the_pair(pair)
    await admin_console.log_in(s)  # the secondary is active too now
    await admin_console.tab("configuration")
    await expect(page.locator("#server-role")).to_have_text("Active")
    # Both active but not communicating: Go Standby is still disabled.
    await expect(page.locator("#go-standby")).to_be_disabled()
    await expect(page.locator("[data-why=go_standby]")).to_contain_text("communicating again")

    await pair.fault(p, fault="heal-link")
    # The link is back: the page shows the split brain and enables Go Standby by itself.
    await expect(page.locator("#split-brain")).to_be_visible()
    await expect(page.locator("#go-standby")).to_be_enabled()

    # On the primary, Go Standby is possible too, but the page says the chapter does it
    # on the secondary, and so does its confirmation.
    primary = AdminConsole(await page.context.new_page(), pair)
    await primary.log_in(p)
    await primary.tab("configuration")
    await expect(primary.page.locator("#go-standby")).to_be_enabled()
    await expect(primary.page.locator("[data-why=go_standby]")).to_have_text(
        "the chapter does this on the secondary server; this is the primary"
    )
    await primary.page.click("#go-standby")
    await expect(primary.page.locator("#confirm-message")).to_contain_text("This is the PRIMARY server")
    await primary.page.click("#confirm-cancel")
    await primary.page.close()

    await page.click("#go-standby")
    await expect(page.locator("#confirm-message")).to_contain_text("Every user session on this server is logged out")
    await page.click("#confirm-ok")
    # Every session is logged out; the login page is now the primary's, the active one.
    await expect(page.locator("#notice")).to_contain_text("The secondary server went standby")
    assert page.url.startswith(p.url + "/admin/login")
    st = await pair.wait_status(s, 10, role="standby")
    assert st["awaiting_repair"] is True
    await pair.wait_status(p, 10, split_brain=False, partner_role="standby")


async def test_go_standby_refused_outside_a_split_brain_says_why(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    await expect(page.locator("#go-standby")).to_be_disabled()
    # A stale page (or a crafted form) still posts: the engine refuses in words.  Enabled
    # and clicked in one go: the page's poll would disable the button again.
    await page.evaluate("const b = document.getElementById('go-standby'); b.disabled = false; b.click()")
    await page.click("#confirm-ok")
    await expect(page.locator("#error")).to_have_text(
        "Go Standby is enabled only in a split brain: both servers active and communicating again."
    )
    assert (await pair.status(pair.primary))["role"] == "active"


async def test_unconfigure_then_delete_the_trust_certificates(pair, admin_console, page):
    p, s = pair.primary, pair.secondary
    await admin_console.log_in(p)
    # Configured: Delete cannot be, and its password field says so by being off.
    await expect(page.locator("#delete-password")).to_be_disabled()
    await expect(page.locator("[data-why=delete]")).to_contain_text("unconfigure HA")
    await admin_console.tab("configuration")
    await admin_console.click_confirmed("#unconfigure")
    await expect(page.locator("#flash")).to_contain_text("HA unconfigured. Click Logout")
    await expect(page.locator("#ha-status")).to_contain_text("Not configured")

    # Step 4-5: Logout, wait a few minutes for the active server to reconfigure.
    await page.click("#logout")
    await pair.wait_status(p, TAKEOVER_DEADLINE_S, role="standalone", transition=None)

    # Step 6: log in again; Delete is enabled only once the partner's password is entered.
    await admin_console.log_in(p)
    await expect(page.locator("#server-status")).to_have_text("Trusted")
    await expect(page.locator("#delete")).to_be_disabled()
    await page.fill("#delete-password", "wrong-partner-password")
    await expect(page.locator("#delete")).to_be_enabled()
    await admin_console.click_confirmed("#delete")
    await expect(page.locator("#error")).to_have_text("The partner refused the password; nothing was deleted.")
    await expect(page.locator("#server-status")).to_have_text("Trusted")
    assert "wrong-partner-password" not in await page.content()

    await page.fill("#delete-password", pair.admin_password)
    await page.click("#delete")
    await expect(page.locator("#confirm-message")).to_contain_text("Delete the trust certificates")
    await page.click("#confirm-ok")
    await expect(page.locator("#flash")).to_have_text("The trust certificates were deleted on both servers.")
    await expect(page.locator("#server-status")).to_have_text("Not Trusted")
    await expect(page.locator("#tab-configuration")).to_be_hidden()
    for server in (p, s):
        assert (await pair.status(server))["partner"] is None


async def test_the_servers_messages_appear_without_a_reload(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    await expect(page.locator("#messages")).to_have_text("No messages.")
    # More than 30 s apart (the clock-skew rule): the primary says so on the open page.
    await pair.fault(pair.secondary, fault="clock-offset", seconds=45)
    await expect(page.locator("#messages li.error").first).to_contain_text(
        "the partner's clock is", timeout=TAKEOVER_MS
    )


async def test_the_open_page_follows_changes_made_elsewhere(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    # Another administrator's Update shows in the fields.
    async with await pair.admin(pair.primary) as admin:
        reply = await admin.put(
            "/api/v1/ha/settings", {"port": pair.primary.heartbeat_port, "interval_s": 7, "missed_count": 9}
        )
        assert reply.ok, reply.body
    await expect(page.locator("#heartbeat-interval")).to_have_value("7")
    await expect(page.locator("#missed-heartbeat-count")).to_have_value("9")
    # Logout in another tab of the same browser: this page goes to the login page.
    other = await page.context.new_page()
    await other.goto(pair.primary.url + "/admin/ha/security")
    await other.click("#logout")
    await expect(page.locator("#notice")).to_have_text("You were logged out.")


async def test_a_double_click_sends_the_form_once(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await page.dblclick("#update")
    await expect(page.locator("#flash")).to_contain_text("Heartbeat settings updated")
    assert posts == [pair.primary.url + "/admin/ha/configuration"]
