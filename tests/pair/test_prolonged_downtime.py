"""Reestablishing HA Configuration After Prolonged Server Downtime: the transaction log
fills while the partner is down: a message at 75 %, another at 90 % with HA unconfigured
automatically, and with that safeguard off, DDRBLOCK at 100 %."""

from __future__ import annotations

from ipics_lab.supervisor import wait_until

from .conftest import TAKEOVER_DEADLINE_S, create_channel

CAPACITY = 40


async def fill_until(pair, client, predicate, what: str, limit: int = 2 * CAPACITY):
    """Write channels one at a time until the primary's status satisfies ``predicate``."""
    for i in range(limit):
        reply = await client.post("/api/v1/channels", {"name": f"{what} {i}"})
        if reply.status != 201:
            return reply
        st = await pair.status(pair.primary)
        if predicate(st):
            return st
    raise AssertionError(f"{what}: not reached after {limit} writes")


def messages(st) -> str:
    return "\n".join(m["text"] for m in st["messages"])


async def test_75_and_90_percent_messages_then_ha_unconfigured_automatically(pair):
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=CAPACITY)
    async with await pair.admin(pair.primary) as admin:
        pair.secondary.kill()
        await pair.wait_status(pair.primary, 10, standby_server_status="Not Ready")

        st = await fill_until(pair, admin, lambda s: s["replication"]["transaction_log_used_percent"] >= 75, "Queued")
        st = await wait_until(lambda: _with_message(pair, "75%"), 10, "the 75% message")
        assert st["ha"] == "configured" and st["replication"]["transaction_log_state"] == "warning"
        assert "90%" not in messages(st)

        await fill_until(pair, admin, lambda s: s["role"] == "standalone", "More")
        st = await pair.status(pair.primary)
        assert "90%" in messages(st) and "unconfigured automatically" in messages(st)
        assert st["ha"] == "trusted" and st["replication"]["transaction_log_used_percent"] == 0
        # The active keeps serving on its own.
        await create_channel(admin, "After The Unconfigure")

    # The secondary comes back to a primary that unconfigured HA: it unconfigures too.
    await pair.secondary.power_on()
    st = await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="standalone")
    assert st["ha"] == "trusted"


async def test_with_the_safeguard_off_a_full_log_blocks_every_update_until_cleared(pair):
    await pair.fault(pair.primary, fault="txlog-safeguard", enabled=False)
    await pair.fault(pair.primary, fault="txlog-capacity", capacity=CAPACITY)
    async with await pair.admin(pair.primary) as admin:
        pair.secondary.kill()
        await pair.wait_status(pair.primary, 10, standby_server_status="Not Ready")

        blocked = await fill_until(pair, admin, lambda s: False, "Queued")
        assert blocked.status == 503 and blocked["error"] == "ddrblock", blocked.body
        st = await pair.status(pair.primary)
        assert st["replication"]["transaction_log_state"] == "DDRBLOCK" and st["ha"] == "configured"
        assert "DDRBLOCK" in messages(st) and "switched off" in messages(st)
        again = await admin.post("/api/v1/channels", {"name": "Still Blocked"})
        assert again.status == 503 and "DDRBLOCK" in again["message"]
        # An administrator can still log in to clear it (the session stays on this server).
        async with pair.primary.client() as c:
            login = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password})
        assert login.status == 200

        # The secondary returns and catches up: the log is cleared and updates flow again.
        await pair.secondary.power_on()
        await pair.wait_ready(TAKEOVER_DEADLINE_S)
        st = await wait_until(lambda: _with_message(pair, "DDRBLOCK cleared"), 10, "DDRBLOCK to clear")
        assert st["replication"]["transaction_log_state"] == "normal"
        await create_channel(admin, "After The Block")


async def _with_message(pair, text: str):
    st = await pair.status(pair.primary)
    return st if text in messages(st) else None
