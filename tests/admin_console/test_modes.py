"""The HA tabs show the pair's modes: the synchronous state with its policy and the
writes refused, and the witness (its address, whether it answers, who holds the vote,
the lease, who voted for whom), kept current without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from ..pair.conftest import TAKEOVER_DEADLINE_S

pytestmark = pytest.mark.pair
TAKEOVER_MS = TAKEOVER_DEADLINE_S * 1000


@pytest.mark.parametrize("ipics_modes", ["witness+synchronous-strict"])
async def test_the_tabs_show_the_modes_and_follow_the_witness_through_a_self_demotion(pair, admin_console, page):
    p = pair.primary
    await pair.wait_status(p, 10, witness=lambda w: w["holds_vote"])
    await admin_console.log_in(p)
    await admin_console.tab("configuration")
    await expect(page.locator("#server-modes")).to_have_text("synchronous (strict) + witness")
    await expect(page.locator("#synchronous-state")).to_have_text("synchronous: writes wait for the standby")
    await expect(page.locator("#synchronous-state")).to_have_class("status good")
    await expect(page.locator("#synchronous-policy")).to_contain_text("strict")
    await expect(page.locator("#writes-refused")).to_have_text("0")
    await expect(page.locator("#witness-address")).to_have_text(pair.witness.url)
    await expect(page.locator("#witness-reachable")).to_have_text("reachable")
    await expect(page.locator("#witness-holder")).to_have_text("this server (the primary)")
    await expect(page.locator("#witness-lease")).to_contain_text(" s left")
    await expect(page.locator("#witness-votes li").first).to_contain_text("granted, the witness votes for the primary")

    # The active loses both its partner and the witness: it steps down (fencing by
    # self-demotion), and the open page says so by itself.
    pair.witness.pause()
    await pair.fault(p, fault="cut-link", direction="both")
    await pair.wait_status(p, TAKEOVER_DEADLINE_S, role="standby")
    await expect(page.locator("#server-role")).to_have_text("Standby")
    await expect(page.locator("#witness-reachable")).to_have_text("NOT reachable")
    await expect(page.locator("#witness-lease")).to_have_text("none held")
    await expect(page.locator("#witness-votes")).to_contain_text("unanswered, the witness does not answer")
    await expect(page.locator("#synchronous-state")).to_have_text("idle: not the active server of a configured pair")
    await expect(page.locator("#messages")).to_contain_text("fencing by self-demotion")
    pair.witness.resume()


@pytest.mark.parametrize("ipics_modes", ["ipics"])
async def test_an_ipics_pair_says_ipics_and_shows_no_modes_section(pair, admin_console, page):
    await admin_console.log_in(pair.primary)
    await admin_console.tab("configuration")
    await expect(page.locator("#server-modes")).to_have_text("IPICS")
    await expect(page.locator("#modes-heading")).to_have_count(0)
    await expect(page.locator("#witness-votes")).to_have_count(0)
