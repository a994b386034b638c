"""Dial-out participants of a VTG, and the chapter's note: "Cisco IPICS does not
automatically call back dial-out users participating in a VTG when a failover occurs"."""

from __future__ import annotations

from ipics_clients.telephone import State, Telephone
from ipics_lab.supervisor import wait_until
from ipics_server.dial.pstn import PstnDirectory

from ..pair.conftest import TAKEOVER_DEADLINE_S

NUMBER = "5557001"


async def dial_out_status(client, vtg_id: str) -> dict[str, str]:
    reply = await client.get("/api/v1/vtgs")
    assert reply.ok, reply.body
    vtg = next(v for v in reply.body["vtgs"] if v["id"] == vtg_id)
    return {p["number"]: p["status"] for p in vtg.get("dial_out", [])}


async def downtown(client) -> str:
    reply = await client.get("/api/v1/vtgs")
    return next(v["id"] for v in reply.body["vtgs"] if v["name"] == "Downtown Response")


async def test_a_dial_out_participant_is_called_and_not_called_back_after_a_failover(demo):
    pair = demo.pair
    phone = Telephone(NUMBER, [])
    await phone.connect_to(PstnDirectory(pair.pstn_directory))
    try:
        dan = await pair.login(pair.primary, "dan", demo.password)
        async with pair.primary.client(dan) as c:
            vtg = await downtown(c)
            reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": NUMBER})
            assert reply.ok, reply.body
            assert reply.body["dial_out"] == [{"number": NUMBER, "status": "connected"}]
        await wait_until(lambda: phone.state == State.CONNECTED, 10, "the telephone to answer")
        assert phone.group == "Downtown Response"
        await pair.wait_ready()  # the VTG's participant has reached the standby
        pair.primary.kill()
        await wait_until(lambda: phone.state == State.DROPPED, 10, "the dial-out call to drop")
        await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
        async with pair.secondary.client(dan) as c:
            # The participant is still in the VTG, shown disconnected; nobody calls it.
            assert await dial_out_status(c, vtg) == {NUMBER: "disconnected"}
            assert phone.state == State.DROPPED
            # A dispatcher invites it again: that call is placed.
            reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": NUMBER})
            assert reply.body["dial_out"] == [{"number": NUMBER, "status": "connected"}]
        await wait_until(lambda: phone.state == State.CONNECTED, 10, "the telephone to answer again")
    finally:
        await phone.disconnect()


async def test_an_unknown_number_or_a_busy_telephone_shows_disconnected(demo):
    pair = demo.pair
    busy = Telephone("5557002", [pair.primary.url])
    await busy.connect_to(PstnDirectory(pair.pstn_directory))
    try:
        assert await busy.dial()  # on a call of its own
        dan = await pair.login(pair.primary, "dan", demo.password)
        async with pair.primary.client(dan) as c:
            vtg = await downtown(c)
            for number in ("5557999", "5557002"):
                reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": number})
                assert reply.ok, reply.body
            assert await dial_out_status(c, vtg) == {"5557999": "disconnected", "5557002": "disconnected"}
            for bad in ({"number": "12"}, {"number": "55a7002"}, {"number": 5557002}, {}):
                reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", bad)
                assert reply.status == 400, (bad, reply.body)
            fred = await pair.login(pair.primary, "fred", demo.password)
        async with pair.primary.client(fred) as c:  # a user may not invite anyone
            reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": "5557003"})
            assert reply.status == 403
    finally:
        await busy.disconnect()
