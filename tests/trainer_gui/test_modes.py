"""The trainer panel in the modes beyond IPICS: each card says the modes and the
synchronous state, the witness box who holds the vote and who voted for whom, and the
timeline gets the witness's and synchronous replication's lanes; an IPICS lab shows none
of them."""

from __future__ import annotations

import pytest

from ipics_lab.supervisor import wait_until

from .conftest import DEADLINE_S


@pytest.mark.parametrize("trainer_modes", ["witness+synchronous-strict"])
async def test_the_cards_and_the_witness_box_follow_a_failover_with_the_witness_s_vote(panel, trainer_lab):
    primary, secondary, witness = panel.cards["primary"], panel.cards["secondary"], panel.witness_box
    await wait_until(lambda: "this server (the primary)" in primary.witness.text(), DEADLINE_S, "the primary's vote")
    assert primary.modes.text() == secondary.modes.text() == "synchronous (strict) + witness"
    assert primary.synchronous.text() == "synchronous: writes wait for the standby  (strict)"
    assert primary.synchronous.property("fact") == "good"
    assert primary.witness.text().startswith("reachable  \u00b7  vote: this server (the primary), ")
    assert witness.isVisible() and witness.title.text() == f"Witness {trainer_lab.summary['witness']['url']}"
    assert witness.holder.text().startswith("the primary holds the vote (lease ")
    assert "Modes: synchronous (strict) + witness" in primary.accessibleDescription()

    primary.power_off.click()  # kill -9: the standby takes over with the witness's vote
    await wait_until(
        lambda: secondary.role_label.text() == "ACTIVE" and witness.holder.text().startswith("the secondary holds"),
        DEADLINE_S,
        "the secondary active with the witness's vote",
    )
    assert any(
        "secondary asked" in line and "granted, the witness votes for the secondary" in line
        for line in witness.vote_lines
    ), witness.vote_lines
    await wait_until(
        lambda: secondary.synchronous.text().startswith("refusing writes: no standby is Ready"),
        DEADLINE_S,
        "the secondary refusing writes without a standby",
    )
    assert secondary.synchronous.property("fact") == "bad"
    # down, it keeps its modes; what it knew of its state is gone
    assert primary.modes.text() == "synchronous (strict) + witness"
    assert primary.synchronous.text() == primary.witness.text() == "\u2014"
    assert "primary: does not answer" in witness.reach.text()
    lanes = [lane.title for lane in panel.plot.lanes()]
    assert "Witness votes" in lanes and "Synchronous" in lanes
    counts = panel.plot.counts()
    assert counts["witness"] >= 1 and counts["synchronous"] >= 1, counts


async def test_an_ipics_lab_shows_ipics_and_no_witness_nor_synchronous_rows(panel):
    card = panel.cards["primary"]
    assert card.modes.text() == "IPICS"
    assert not card.synchronous.isVisibleTo(card) and not card.witness.isVisibleTo(card)
    assert not panel.witness_box.isVisibleTo(panel)
    assert "Witness votes" not in [lane.title for lane in panel.plot.lanes()]
