"""Configuring Cisco IPICS Servers for HA, in the browser, from two fresh servers."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from ipics_lab.supervisor import free_port_on

from ..pair.conftest import INTERVAL_S, MISSED, TAKEOVER_DEADLINE_S

pytestmark = pytest.mark.pair


async def test_the_whole_configuration_procedure(lab, admin_console, page):
    await lab.start()
    p, s = lab.primary, lab.secondary

    # Step 6-7: log in to the primary; HA Security says Not Trusted, no HA Configuration tab.
    await admin_console.log_in(p)
    await expect(page.locator("#server-status")).to_have_text("Not Trusted")
    await expect(page.locator("#tab-configuration")).to_be_hidden()
    await expect(page.locator("#partner-username")).to_have_value("ipicsadmin")
    await expect(page.locator("#partner-username")).to_have_attribute("readonly", "")

    # A wrong partner password is refused in words, and nothing is trusted.
    await page.fill("#partner-address", f"{s.host}:{s.port}")
    await page.fill("#partner-password", "not-the-password")
    await page.click("#save")
    await expect(page.locator("#error")).to_contain_text("password")
    await expect(page.locator("#server-status")).to_have_text("Not Trusted")
    assert "not-the-password" not in await page.content()
    await expect(page.locator("#partner-address")).to_have_value(f"{s.host}:{s.port}")

    # Save with the right password: Trusted, and the HA Configuration tab appears.
    await page.fill("#partner-password", lab.admin_password)
    await page.click("#save")
    await expect(page.locator("#server-status")).to_have_text("Trusted")
    await expect(page.locator("#flash")).to_contain_text("Trust established")
    assert lab.admin_password not in await page.content()

    # Step 8: the addresses are read-only; Not Ready until configured; Failover Now off.
    await admin_console.tab("configuration")
    await expect(page.locator("#primary-address")).to_have_text(p.url)
    await expect(page.locator("#secondary-address")).to_have_text(s.url)
    await expect(page.locator("#standby-server-status")).to_have_text("Not Ready")
    # The trusted secondary answers (heartbeats flow once trusted): never "not answering".
    await expect(page.locator("#primary-role")).to_have_text("Active")
    await expect(page.locator("#secondary-role")).to_have_text("Standby")
    # Before Configure the page says whose passwords survive the merge.
    await expect(page.locator('[data-why="configure"]')).to_contain_text(
        "your account, ipicsadmin and informix keep this server's passwords"
    )
    # The lab starts each pair on a free heartbeat port; the chapter's default is shown.
    await expect(page.locator("#heartbeat-port")).to_have_value(str(p.heartbeat_port))
    await expect(page.locator("#heartbeat-port-range")).to_have_text("1 to 65535; default 3444")
    await expect(page.locator("#heartbeat-interval")).to_have_value("15")
    await expect(page.locator("#missed-heartbeat-count")).to_have_value("5")
    await expect(page.locator("#failover")).to_be_disabled()
    await expect(page.locator("#go-standby")).to_be_disabled()
    await expect(page.locator("#unconfigure")).to_be_disabled()

    # An out-of-range Heartbeat Interval is refused with its range; nothing changes.
    await page.fill("#heartbeat-interval", "700")
    await page.click("#update")
    await expect(page.locator("#error")).to_have_text(
        "Heartbeat Interval (seconds) must be from 5 to 600; 700 is out of range."
    )
    await expect(page.locator("#heartbeat-interval")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#heartbeat-interval")).to_have_value("700")
    assert (await lab.status(p))["heartbeat"]["interval_s"] == 15

    # A Heartbeat Port this server cannot listen on (its own web port) is refused.
    await page.fill("#heartbeat-interval", str(INTERVAL_S))
    await page.fill("#heartbeat-port", str(p.port))
    await page.click("#update")
    await expect(page.locator("#error")).to_have_text(
        f"Cannot listen on heartbeat port {p.port} on {p.host}: Address already in use; nothing was changed."
    )
    assert (await lab.status(p))["heartbeat"]["port"] == p.heartbeat_port

    # Step 8a-d with a new port: both servers take it, so Configure finds the partner.
    port = free_port_on(p.host, s.host)
    await page.fill("#heartbeat-port", str(port))
    await page.fill("#missed-heartbeat-count", str(MISSED))
    await page.click("#update")
    await expect(page.locator("#flash")).to_contain_text("Heartbeat settings updated")
    await expect(page.locator("#heartbeat-interval")).to_have_value(str(INTERVAL_S))
    for server in (p, s):
        assert (await lab.status(server))["heartbeat"]["port"] == port
    assert (await lab.status(p))["heartbeat"]["interval_s"] == INTERVAL_S

    # Step 9: Configure asks first; Cancel does nothing.
    await page.click("#configure")
    await expect(page.locator("#confirm-message")).to_contain_text("Configure HA now?")
    await page.click("#confirm-cancel")
    assert (await lab.status(p))["ha"] == "trusted"

    # OK: HA is configured and the administrator is logged out.
    await admin_console.click_confirmed("#configure")
    await expect(page.locator("#notice")).to_contain_text("HA is configured. You were logged out")
    await expect(page.locator("#login")).to_be_visible()
    assert (await lab.status(p))["ha"] == "configured"

    # Step 10: log in again; the Standby Server Status becomes Ready without a reload.
    await admin_console.log_in(p)
    await admin_console.tab("configuration")
    await expect(page.locator("#server-role")).to_have_text("Active")
    await expect(page.locator("#standby-server-status")).to_have_text("Ready", timeout=TAKEOVER_DEADLINE_S * 1000)
    await expect(page.locator("#primary-role")).to_have_text("Active")
    await expect(page.locator("#secondary-role")).to_have_text("Standby")
    await expect(page.locator("#failover")).to_be_enabled()
    await expect(page.locator("#configure")).to_be_disabled()

    # Logout.
    await page.click("#logout")
    await expect(page.locator("#notice")).to_have_text("You were logged out.")
    await admin_console.open(p, "/admin/ha/configuration")
    await expect(page.locator("#login")).to_be_visible()
