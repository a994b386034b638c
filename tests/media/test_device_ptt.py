"""Push-to-talk from the devices that reach the router through a server: the IP
phone's Talk softkey and a dial-in telephone's star key.  A console (a router client
of its own) hears them with their talker ID and the voice tone."""

from __future__ import annotations

from ipics_clients.phone_xml import Text
from ipics_clients.telephone import Telephone
from ipics_lab.supervisor import wait_until
from ipics_server.media.client import MediaClient
from ipics_server.media.tone import is_tone

from ..phone.conftest import PRIMARY, ipics_phone, log_in, shown_text
from .conftest import Ear, user_ticket


async def test_the_phones_talk_key_is_heard_by_a_console_with_the_talker_id(media_demo):
    demo = media_demo
    fire = demo.seeded["channels"]["Fire"]
    dan = await MediaClient.connect(demo.router.url, await user_ticket(demo.pair.primary, "dan", demo.password))
    ear = Ear(dan)
    try:
        assert await dan.join(fire)
        async with ipics_phone(demo.pair) as phone:
            await log_in(phone.browser, PRIMARY, "1005", demo.pin)  # Fred: Fire, Downtown Response
            await phone.browser.select(0)
            talk = next(k for k in phone.browser.screen.obj.softkeys if k.name == "Talk")
            await phone.browser.softkey_down(talk)
            assert isinstance(phone.browser.screen.obj, Text)
            assert "You are talking" in shown_text(phone.browser)
            await wait_until(lambda: len(ear.heard(fire)) >= 10, 10, "Dan to hear 10 frames")
            assert {h.talker for h in ear.heard(fire)} == {"fred"}
            assert all(is_tone(h.payload) for h in ear.heard(fire))
            assert dan.talker(fire) == "fred"
            await phone.browser.softkey_up(talk)
            # The answer to the release already says so: no "You are talking." after letting go.
            assert "Idle. Hold Talk to speak." in shown_text(phone.browser), shown_text(phone.browser)
            await wait_until(lambda: dan.talker(fire) is None, 10, "the floor to be free")
            # Dan takes the floor: the phone's talk screen names him when it reloads.
            assert await dan.press(fire)
            await wait_until(lambda: "Talking: dan" in shown_text(phone.browser), 10, "the phone to show Dan")
            await phone.browser.softkey_down(talk)
            assert "dan holds the floor" in shown_text(phone.browser)
            dan.release(fire)
    finally:
        await dan.close()


async def test_a_dial_in_caller_talks_with_star_and_stops_with_pound(media_demo):
    demo = media_demo
    police = demo.seeded["channels"]["Police"]
    ursula = await MediaClient.connect(demo.router.url, await user_ticket(demo.pair.primary, "ursula", demo.password))
    ear = Ear(ursula)
    phone = Telephone("5553001", [demo.pair.primary.url])
    try:
        assert await ursula.join(police)
        assert await phone.dial()
        await phone.press(f"1001#{demo.pin}#3#")  # Dan; EMS, Fire, Police: 3
        await wait_until(lambda: phone.group == "Police", 10, "Police joined")
        await phone.press("*")
        await wait_until(lambda: len(ear.heard(police)) >= 10, 10, "Ursula to hear the caller")
        assert {h.talker for h in ear.heard(police)} == {"dan"} and phone.talker == "dan"
        await phone.press("#")
        await wait_until(lambda: ursula.talker(police) is None, 10, "the floor to be free")
        # Hanging up while talking frees the floor too.
        await phone.press("*")
        await wait_until(lambda: ursula.talker(police) == "dan", 10, "Dan talking again")
        await phone.hang_up()
        await wait_until(lambda: ursula.talker(police) is None, 10, "the floor freed by the hang-up")
    finally:
        await phone.hang_up()
        await ursula.close()


async def test_a_phone_that_goes_away_while_talking_frees_the_floor(media_demo):
    demo = media_demo
    fire = demo.seeded["channels"]["Fire"]
    dan = await MediaClient.connect(demo.router.url, await user_ticket(demo.pair.primary, "dan", demo.password))
    try:
        assert await dan.join(fire)
        async with ipics_phone(demo.pair) as phone:
            await log_in(phone.browser, PRIMARY, "1005", demo.pin)
            await phone.browser.select(0)
            talk = next(k for k in phone.browser.screen.obj.softkeys if k.name == "Talk")
            await phone.browser.softkey_down(talk)
            await wait_until(lambda: dan.talker(fire) == "fred", 10, "Fred talking")
            await phone.browser.close()  # the phone dies, Talk still held: no release comes
            # It stops reloading its talk screen; the server lets go for it.
            await wait_until(lambda: dan.talker(fire) is None, 10, "the floor freed")
    finally:
        await dan.close()
