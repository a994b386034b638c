"""Reestablishing HA Configuration After Prolonged Server Downtime: the active's
transaction log fills while the standby is down: a message at 75 %, another at 90 %
with HA unconfigured automatically; with that safeguard off, DDRBLOCK at 100 %."""

from __future__ import annotations

from .conftest import create_channel, when

CAPACITY = 40


async def fill(pair, client, until, what: str, limit: int = 2 * CAPACITY):
    """Write channels one at a time until the primary's status satisfies ``until``
    (returned), or a write is refused (that answer returned)."""
    for i in range(limit):
        reply = await client.post("/api/v1/channels", {"name": f"{what} {i}"})
        if reply.status != 201:
            return reply
        st = await pair.status(pair.primary)
        if until(st):
            return st
    raise AssertionError(f"{what}: not reached after {limit} writes")


def messages(st) -> list[str]:
    return [m["text"] for m in st["messages"]]


def used(st) -> float:
    return st["replication"]["transaction_log_used_percent"]


async def test_a_message_at_75_percent_then_at_90_percent_ha_unconfigured_and_the_partner_follows(pair):
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=CAPACITY)
    await pair.power_off(pair.secondary)
    await when(pair, pair.primary, 15, standby_server_status="Not Ready")
    async with await pair.admin(pair.primary) as admin:
        st = await fill(pair, admin, lambda s: used(s) >= 75, "Queued")
        assert st["replication"]["transaction_log_state"] == "warning" and st["ha"] == "configured"
        assert [m for m in messages(st) if "%" in m] == [next(m for m in messages(st) if "75%" in m)]

        st = await fill(pair, admin, lambda s: s["role"] == "standalone", "More")
        assert any("90%" in m and "unconfigured automatically" in m for m in messages(st)), messages(st)
        assert st["ha"] == "trusted" and used(st) == 0
        # It reached 90 %, never 100 %: the active keeps serving on its own.
        await create_channel(admin, "After The Unconfigure")

    await pair.power_on(pair.secondary)  # back to a primary that unconfigured HA: it follows
    _, st = await when(pair, pair.secondary, 15 + 120, role="standalone")
    assert st["ha"] == "trusted"


async def test_with_the_safeguard_off_a_full_log_blocks_every_update_until_the_standby_returns(pair):
    await pair.fault(pair.primary, fault="txlog-safeguard", enabled=False)
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=CAPACITY)
    await pair.power_off(pair.secondary)
    await when(pair, pair.primary, 15, standby_server_status="Not Ready")
    async with await pair.admin(pair.primary) as admin:
        blocked = await fill(pair, admin, lambda s: False, "Queued")
        assert blocked.status == 503 and blocked["error"] == "ddrblock", blocked.body
        st = await pair.status(pair.primary)
        assert st["replication"]["transaction_log_state"] == "DDRBLOCK" and st["ha"] == "configured"
        assert any("switched off" in m for m in messages(st)) and any("DDRBLOCK" in m for m in messages(st))
        assert (await admin.post("/api/v1/channels", {"name": "Still Blocked"})).status == 503

        await pair.power_on(pair.secondary)
        await pair.wait_ready(60)
        _, st = await when(pair, pair.primary, 15, role="active")
        assert st["replication"]["transaction_log_state"] == "normal"
        assert any("DDRBLOCK cleared" in m for m in messages(st))
        await create_channel(admin, "After The Block")
