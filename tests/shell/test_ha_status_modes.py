"""``service ipics ha-status`` says the pair's modes: synchronous replication's state and
policy, and the witness (reachable, who holds its vote, the lease, who voted for whom),
on a real pair in witness + strict synchronous mode."""

from __future__ import annotations

import pytest

from ..pair.conftest import TAKEOVER_DEADLINE_S, lab, pair  # noqa: F401 (fixtures)


async def _ha_status(pair, server) -> str:  # noqa: F811
    out, status = await pair.shell(server, "service ipics ha-status", user="informix")
    assert status == 0, out
    return out


@pytest.mark.parametrize("ipics_modes", ["witness+synchronous-strict"])
async def test_ha_status_shows_the_modes_the_synchronous_state_and_who_the_witness_voted_for(pair):  # noqa: F811
    await pair.wait_status(pair.primary, 10, witness=lambda w: w["holds_vote"])
    out = await _ha_status(pair, pair.primary)
    assert "  Modes                        : synchronous (strict) + witness\n" in out
    assert "  Synchronous replication      : synchronous: writes wait for the standby\n" in out
    assert "  Synchronous policy           : strict (no standby Ready, no writes)\n" in out
    assert f"  Witness                      : {pair.witness.url} (reachable)\n" in out
    assert "  Witness's vote held by       : this server (the primary)\n" in out
    assert "granted, the witness votes for the primary" in out

    # kill -9 of the active: the standby takes over with the witness's vote, and strict
    # synchronous replication refuses writes, having no standby.
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    async with await pair.admin(pair.secondary) as admin:
        refused = await admin.post("/api/v1/channels", {"name": "No Standby"})
    assert refused.status == 503, refused.body
    out = await _ha_status(pair, pair.secondary)
    assert "  Synchronous replication      : refusing writes: no standby is Ready\n" in out
    assert "  Writes refused               : 1," in out
    assert "  Witness's vote held by       : this server (the secondary)\n" in out
    assert "secondary asked (the missed heartbeats would make this server assume the active role)" in out
    assert "granted, the witness votes for the secondary" in out


@pytest.mark.parametrize("ipics_modes", ["ipics"])
async def test_ha_status_of_an_ipics_pair_says_ipics_and_nothing_of_a_witness(pair):  # noqa: F811
    out = await _ha_status(pair, pair.primary)
    assert "  Modes                        : IPICS\n" in out
    assert "Witness" not in out and "Synchronous" not in out
