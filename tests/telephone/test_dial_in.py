"""Telephones dialling in to the real pair: the voice menu, and the chapter's failover
rule for them: "Standard dial-in phone calls are dropped, but users can call back in to
the system after a short delay"."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

from ipics_clients.telephone import State, Telephone
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

from ..pair.conftest import TAKEOVER_DEADLINE_S

DAN_GROUPS = ["EMS", "Fire", "Police", "Downtown Response", "Mutual Aid"]


@asynccontextmanager
async def telephone(trunk: list[str], number: str = "5551234"):
    phone = Telephone(number, trunk)
    try:
        yield phone
    finally:
        await phone.hang_up()


async def heard(phone: Telephone, words: str, timeout_s: float = 10) -> str:
    return await wait_until(
        lambda: next((s for s in phone.heard if words in s), None),
        timeout_s,
        f"the voice menu to say {words!r} (heard {phone.heard})",
    )


async def join(phone: Telephone, pin: str, user_id: str = "1001", group: str = "Fire") -> None:
    await phone.press(f"{user_id}#{pin}#")
    listing = await heard(phone, "press 1")
    position = next(i for i, name in enumerate(DAN_GROUPS, 1) if f"For {name}, press {i}" in listing and name == group)
    await phone.press(f"{position}#")
    await wait_until(lambda: phone.group == group, 10, f"joined {group}")


async def test_dial_in_enters_user_id_and_pin_and_joins_a_channel(demo):
    async with telephone([demo.pair.primary.url, demo.pair.secondary.url]) as phone:
        assert await phone.dial()
        await heard(phone, "Enter your user ID")
        await phone.press(f"1001#{demo.pin}#")
        listing = await heard(phone, "press 1")
        # The user's channels then VTGs, each alphabetically, as on the IP phone.
        assert listing.startswith(" ".join(f"For {n}, press {i}." for i, n in enumerate(DAN_GROUPS, 1)))
        await phone.press("2#")
        await wait_until(lambda: phone.group == "Fire", 10, "Fire joined")
        assert phone.user == "dan" and phone.state == State.CONNECTED
        assert phone.display.startswith("Fire")


async def test_the_standby_does_not_take_the_call_the_trunk_goes_on_to_the_active(demo):
    async with telephone([demo.pair.secondary.url, demo.pair.primary.url]) as phone:
        assert await phone.dial()
        assert phone.server == demo.pair.primary.url


async def test_wrong_pins_end_the_call_with_goodbye(demo):
    wrong = "1111" if demo.pin != "1111" else "2222"
    async with telephone([demo.pair.primary.url]) as phone:
        assert await phone.dial()
        await phone.press(f"1003#{wrong}#" * 3)
        await wait_until(lambda: phone.state == State.ON_HOOK, 10, "the voice menu to hang up")
        assert phone.heard[-1] == "Goodbye." and phone.user is None


async def test_a_failover_drops_the_call_and_calling_back_after_a_short_delay_works(demo):
    pair = demo.pair
    async with telephone([pair.primary.url, pair.secondary.url]) as phone:
        assert await phone.dial()
        await join(phone, demo.pin)
        pair.primary.kill()
        await wait_until(lambda: phone.state == State.DROPPED, 10, "the call to drop")
        # At once, nobody takes it: the old active is gone, the standby is taking over.
        assert not await phone.dial()
        assert phone.state == State.BUSY
        await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
        assert await phone.dial()  # after the short delay
        assert phone.server == pair.secondary.url
        await join(phone, demo.pin, group="Police")


async def test_failover_now_drops_the_calls_of_the_server_that_goes_standby(demo):
    pair = demo.pair
    async with telephone([pair.primary.url, pair.secondary.url]) as phone:
        assert await phone.dial()
        await join(phone, demo.pin)
        async with await pair.admin(pair.primary) as admin:
            reply = await admin.post("/api/v1/ha/failover")
            assert reply.ok, reply.body
        await wait_until(lambda: phone.state == State.DROPPED, TAKEOVER_DEADLINE_S, "the call to drop")


async def test_nonsense_on_the_line_is_answered_and_the_call_goes_on(demo):
    async with ApiClient(demo.pair.primary.url) as c:
        ws = await c.websocket("/dial/call?from=5550001")
        for message in ("not json", '{"dtmf": "A"}', '{"dtmf": 5}', "[1, 2]", '{"dtmf": "55"}'):
            await ws.send_str(message)
            await ws.send_bytes(b"\x00" * 100)  # audio is not the engine's: ignored
            for _ in range(5):
                answer = json.loads((await ws.receive(timeout=5)).data)
                if "error" in answer:
                    break
            assert "error" in answer, message
        await ws.send_str(json.dumps({"dtmf": "#"}))  # an empty user ID: the menu goes on
        while "PIN" not in (answer := json.loads((await ws.receive(timeout=5)).data)).get("say", ""):
            pass
        await ws.close()


async def test_a_call_without_the_callers_number_is_refused(demo):
    async with ApiClient(demo.pair.primary.url) as c:
        reply = await c.get("/dial/call")
    assert reply.status == 400 and "caller" in reply.body["message"]
