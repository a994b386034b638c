"""The IPICS phone service on the real pair, through the phone's own browser.

Login with the Dial Login user ID and PIN; the user's channels then VTGs, each
alphabetically; Update; the talk screen; and the chapter's failover paths: the server
that becomes active pushes the phone over, and where it cannot, the user opens
Services, picks the other server and logs in again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ipics_clients.phone_xml import Input, Menu, Text
from ipics_lab.supervisor import wait_until
from ipics_server.dial_login import LOCKOUT_S

from ..pair.conftest import TAKEOVER_DEADLINE_S
from .conftest import PRIMARY, SECONDARY, ipics_phone, log_in, menu_names, shown_text

DAN_MENU = ["EMS", "Fire", "Police", "Downtown Response", "Mutual Aid"]


def host_of(url: str | None) -> str:
    return urlsplit(url or "").netloc


async def test_login_shows_channels_then_vtgs_alphabetically(demo):
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        assert menu_names(phone.browser) == DAN_MENU
        keys = {k.name: k.url for k in phone.browser.screen.obj.softkeys}
        assert keys["Update"] == "SoftKey:Update" and keys["Exit"] == "SoftKey:Exit"
        # Back on the service later: still logged in, the menu at once.
        await phone.browser.press_services()
        await phone.browser.select(PRIMARY)
        assert menu_names(phone.browser) == DAN_MENU
    async with ipics_phone(demo.pair) as phone:
        # Fred, a user, has Fire and the one VTG he is a member of.
        await log_in(phone.browser, PRIMARY, "1005", demo.pin)
        assert menu_names(phone.browser) == ["Fire", "Downtown Response"]


async def test_a_wrong_pin_or_a_non_numeric_entry_is_refused_with_the_login_again(demo):
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", "000000" if demo.pin != "000000" else "111111")
        assert isinstance(phone.browser.screen.obj, Input)
        assert phone.browser.screen.obj.prompt == "Login failed: wrong ID or PIN"
        await log_in(phone.browser, PRIMARY, "9999", demo.pin)
        assert phone.browser.screen.obj.prompt == "Login failed: wrong ID or PIN"
        # The phone's keypad filter is bypassed here: the server checks too.
        await phone.browser.open(demo.pair.primary.url + "/phone/ipics/login?userid=10a1&pin=" + "9" * 50)
        assert phone.browser.screen.obj.prompt == "ID 1-10 digits, PIN 4-10"
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        assert menu_names(phone.browser) == DAN_MENU


async def test_five_wrong_pins_lock_the_user_id_for_a_while(demo):
    async with ipics_phone(demo.pair) as phone:
        wrong = "1111" if demo.pin != "1111" else "2222"
        for _ in range(5):
            await log_in(phone.browser, PRIMARY, "1004", wrong)
        await log_in(phone.browser, PRIMARY, "1004", demo.pin)  # the right PIN, too late
        assert phone.browser.screen.obj.prompt == "Too many tries: wait 5 min"
        # Five emulated minutes later (3 real seconds here) the lockout still holds: it
        # protects real people, so it counts real time.
        await phone.browser.clock.sleep(LOCKOUT_S + 30)
        await log_in(phone.browser, PRIMARY, "1004", demo.pin)
        assert phone.browser.screen.obj.prompt == "Too many tries: wait 5 min"
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)  # other user IDs are not locked
        assert menu_names(phone.browser) == DAN_MENU


async def test_the_list_reflects_the_start_until_update(demo):
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1005", demo.pin)  # Fred
        assert menu_names(phone.browser) == ["Fire", "Downtown Response"]
        async with await demo.pair.admin(demo.pair.primary) as admin:
            works = demo.seeded["channels"]["Public Works"]
            reply = await admin.post(f"/api/v1/channels/{works}/assignments", {"username": "fred"})
            assert reply.ok, reply.body
        assert menu_names(phone.browser) == ["Fire", "Downtown Response"]  # the server does not push
        await phone.browser.follow("SoftKey:Update")
        assert menu_names(phone.browser) == ["Fire", "Public Works", "Downtown Response"]


async def test_a_channel_opens_its_talk_screen_with_a_push_to_talk_key(demo):
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        await phone.browser.select(DAN_MENU.index("Fire"))
        screen = phone.browser.screen
        assert isinstance(screen.obj, Text) and screen.obj.title == "Fire"
        talk = next(k for k in screen.obj.softkeys if k.name == "Talk")
        assert talk.url_down and "ptt=down" in talk.url_down and "ptt=up" in talk.url
        assert screen.refresh_s > 0 and "auto=1" in (screen.refresh_url or "")
        await phone.browser.follow("SoftKey:Back")
        assert menu_names(phone.browser) == DAN_MENU


async def test_logout_returns_to_the_login_and_the_cookie_no_longer_works(demo):
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        logout = next(k for k in phone.browser.screen.obj.softkeys if k.name == "Logout")
        await phone.browser.softkey(logout)
        assert isinstance(phone.browser.screen.obj, Input) and "Logged out" in shown_text(phone.browser)
        await phone.browser.open(demo.pair.primary.url + "/phone/ipics/menu")
        assert isinstance(phone.browser.screen.obj, Input)


async def test_the_new_active_pushes_the_phone_over_and_keeps_it_logged_in(demo):
    pair = demo.pair
    async with ipics_phone(pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        assert menu_names(phone.browser) == DAN_MENU
        await pair.wait_ready()  # the phone session has reached the standby
        pair.primary.kill()
        await wait_until(lambda: phone.receiver.received, TAKEOVER_DEADLINE_S, "the new active's push")
        await wait_until(
            lambda: (
                host_of(phone.browser.screen.url) == host_of(pair.secondary.url)
                and isinstance(phone.browser.screen.obj, Menu)
            ),
            10,
            "the menu from the secondary",
        )
        assert menu_names(phone.browser) == DAN_MENU  # no login asked
        # Absolute, on the new active's own address (some phones resolve no relative URL).
        assert phone.receiver.received[0].startswith(pair.secondary.url + "/phone/ipics/resume?ticket=")
        # The ticket is spent: it does not open a session a second time.
        await phone.browser.open(phone.receiver.received[0])
        assert isinstance(phone.browser.screen.obj, Input)
        # The new active's audit trail says the phone came back with no user action (a
        # phone user's exercise, which wants the Services menu, tells it from a login).
        async with await pair.admin(pair.secondary) as admin:
            trail = (await admin.get("/api/v1/ha/audit")).body["actions"]
        back = [(a["action"], a["via"], a["user"]) for a in trail if a["action"] in ("login", "reconnect")]
        assert back == [("reconnect", "phone", "dan")], trail


async def test_without_the_push_the_user_picks_the_new_active_in_services_and_logs_in_again(demo):
    pair = demo.pair
    async with ipics_phone(pair) as phone:
        phone.receiver.enabled = False  # the new active cannot reach this phone
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        await pair.wait_ready()
        pair.primary.kill()
        await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
        await phone.browser.follow("SoftKey:Update")
        assert phone.browser.screen.error and "not answering" in shown_text(phone.browser)
        await log_in(phone.browser, SECONDARY, "1001", demo.pin)
        assert menu_names(phone.browser) == DAN_MENU
        assert host_of(phone.browser.screen.url) == host_of(pair.secondary.url)


async def test_the_old_active_back_as_standby_redirects_the_phone_with_its_session(demo):
    pair = demo.pair
    async with ipics_phone(pair) as phone:
        phone.receiver.enabled = False
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        await pair.wait_ready()
        pair.primary.kill()
        await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
        await pair.primary.power_on()
        await pair.wait_status(
            pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active", standby_server_status="Ready"
        )  # the primary is the standby now
        # The user opens the service of the server it knew, the primary, now standby.
        await phone.browser.press_services()
        await phone.browser.select(PRIMARY)
        assert isinstance(phone.browser.screen.obj, Menu), shown_text(phone.browser)
        assert menu_names(phone.browser) == DAN_MENU
        assert host_of(phone.browser.screen.url) == host_of(pair.secondary.url)


async def test_every_answer_is_a_phone_object_even_for_nonsense(demo):
    base = demo.pair.primary.url + "/phone/ipics"
    async with ipics_phone(demo.pair) as phone:
        await log_in(phone.browser, PRIMARY, "1001", demo.pin)
        for path in (
            "/talk?group=../../etc/passwd",
            "/talk",
            "/talk?group=" + "f" * 32,
            "/resume?session=nonsense",
            "/resume?ticket=x&next=http://evil.example/",
            "/login?userid=&pin=",
            "/login?userid=1001&pin=" + "1" * 5000,
        ):
            await phone.browser.open(base + path)
            assert not phone.browser.screen.error, (path, shown_text(phone.browser))
            assert host_of(phone.browser.screen.url) == host_of(base), path
        await phone.browser.open(base + "/menu")
        assert menu_names(phone.browser) == DAN_MENU  # still logged in, still serving


async def test_the_standby_with_no_reachable_active_says_so(demo):
    pair = demo.pair
    async with ipics_phone(pair) as phone:
        await pair.fault(pair.secondary, fault="cut-link", direction="both")
        await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="transitioning")
        await phone.browser.press_services()
        await phone.browser.select(SECONDARY)
        assert isinstance(phone.browser.screen.obj, Text)
        assert "becoming the active" in shown_text(phone.browser)
