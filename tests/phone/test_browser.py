"""The phone's services browser against a real HTTP service that speaks the phone's
objects (any service, not only IPICS): keys, URIs, headers, cookies, and every kind of
failure ending on an error screen with the phone still working."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from ipics_clients.phone_browser import (
    BACK,
    EXIT,
    SERVICES,
    UPDATE,
    PhoneBrowser,
    Service,
)
from ipics_clients.phone_keys import BACKSPACE, CANCEL, DIAL, EDIT_DIAL, SUBMIT
from ipics_clients.phone_xml import MAX_XML_BYTES, Input, Menu, SoftKey, Text
from ipics_lab.supervisor import wait_until

from ..recording_clock import RecordingClock
from ..silent_server import SilentServer


def xml(body: str, **headers) -> web.Response:
    return web.Response(body=body.encode(), content_type="text/xml", headers=headers)


def text(title: str, body: str, **headers) -> web.Response:
    keys = (
        "<SoftKeyItem><Name>Back</Name><URL>SoftKey:Back</URL><Position>1</Position></SoftKeyItem>"
        "<SoftKeyItem><Name>Update</Name><URL>SoftKey:Update</URL><Position>2</Position></SoftKeyItem>"
    )
    return xml(f"<CiscoIPPhoneText><Title>{title}</Title><Text>{body}</Text>{keys}</CiscoIPPhoneText>", **headers)


@pytest.fixture
async def service(aiohttp_server):
    hits: dict[str, int] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hits[name] = hits.get(name, 0) + 1
        if name == "menu":
            return xml(
                "<CiscoIPPhoneMenu><Title>Demo</Title><Prompt>Pick one</Prompt>"
                "<MenuItem><Name>News</Name><URL>news</URL></MenuItem>"
                "<MenuItem><Name>Login</Name><URL>/input</URL></MenuItem>"
                "<MenuItem><Name>Once</Name><URL>/once</URL></MenuItem></CiscoIPPhoneMenu>"
            )
        if name == "news":
            return text("News", f"hit {hits[name]}")
        if name == "once":
            return text("Once", "not kept", Expires="-1")
        if name == "input":
            return xml(
                "<CiscoIPPhoneInput><Title>Login</Title><URL>/login?x=1</URL>"
                "<InputItem><DisplayName>User ID</DisplayName><QueryStringParam>id</QueryStringParam>"
                "<InputFlags>N</InputFlags></InputItem>"
                "<InputItem><DisplayName>PIN</DisplayName><QueryStringParam>pin</QueryStringParam>"
                "<DefaultValue>0000</DefaultValue><InputFlags>NP</InputFlags></InputItem>"
                "</CiscoIPPhoneInput>"
            )
        if name == "login":
            resp = text("Hello", f"id={request.query['id']} pin={request.query['pin']} x={request.query['x']}")
            resp.set_cookie("session", "s-" + request.query["id"])
            return resp
        if name == "whoami":
            return text("Who", request.cookies.get("session", "nobody"))
        if name == "model":
            return text("Model", request.headers.get("X-CiscoIPPhoneModelName", "none"))
        if name == "secret":
            return text("Secret", request.headers.get("X-Lab-Phone-Execute-Auth", "none"))
        if name == "refresh":
            return text("Soon", "wait", Refresh="1; url=/refreshed")
        if name == "refreshed":
            return text("Refreshed", "done")
        if name == "norefresh":
            return text("Still", "here", Refresh="0")
        if name == "plain":
            return web.Response(text="plain words", content_type="text/plain")
        if name == "html":
            return web.Response(text="<html></html>", content_type="text/html")
        if name == "broken":
            return xml("<CiscoIPPhoneText><Text>oops</CiscoIPPhoneText>")
        if name == "big":
            return xml("<CiscoIPPhoneText><Text>" + "x" * MAX_XML_BYTES + "</Text></CiscoIPPhoneText>")
        if name == "fail":
            return web.Response(status=500, text="boom")
        if name == "directory":  # no SoftKeyItems: the phone's own Dial, EditDial and Exit
            return xml(
                "<CiscoIPPhoneDirectory><Title>Crew</Title>"
                "<DirectoryEntry><Name>Adam</Name><Telephone>5001</Telephone></DirectoryEntry>"
                "<DirectoryEntry><Name>Ursula</Name><Telephone>5002</Telephone></DirectoryEntry>"
                "</CiscoIPPhoneDirectory>"
            )
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = await aiohttp_server(app)
    server.hits = hits
    return server


@pytest.fixture
async def phone(service):
    browser = PhoneBrowser(
        [Service("Demo", str(service.make_url("/menu"))), Service("Other", str(service.make_url("/model")))],
        clock=RecordingClock(0.01),
    )
    try:
        yield browser
    finally:
        await browser.close()


def url(service, path: str) -> str:
    return str(service.make_url(path))


async def test_the_services_menu_lists_the_configured_services_and_opens_one(phone, service):
    assert isinstance(phone.screen.obj, Menu) and [i.name for i in phone.screen.obj.items] == ["Demo", "Other"]
    await phone.select(1)  # keypad digit 2
    assert phone.screen.obj.text == "CP-8865"  # the phone says which model it is
    await phone.press_services()
    await phone.select()  # Select on the highlighted first entry
    assert phone.screen.obj.title == "Demo" and [i.name for i in phone.screen.obj.items] == ["News", "Login", "Once"]


async def test_navigation_select_back_and_exit(phone, service):
    await phone.open(url(service, "/menu"))
    phone.navigate(+1)
    phone.navigate(-1)
    await phone.select()  # "News", a relative URL
    assert phone.screen.obj.title == "News" and phone.history == [url(service, "/menu")]
    await phone.softkey(phone.screen.obj.softkeys[0])  # Back
    assert phone.screen.obj.title == "Demo" and phone.history == []
    await phone.follow(EXIT)
    assert phone.screen.obj.title == "Services"


async def test_update_reloads_and_init_services_goes_home(phone, service):
    await phone.open(url(service, "/news"))
    await phone.follow(UPDATE)
    assert phone.screen.obj.text == "hit 2" and phone.history == []
    await phone.follow(SERVICES)
    assert phone.screen.obj.title == "Services"


async def test_an_input_is_submitted_as_a_query_string_and_cookies_are_kept(phone, service):
    await phone.open(url(service, "/input"))
    assert isinstance(phone.screen.obj, Input) and phone.screen.obj.items[1].masked
    await phone.submit({"id": "1001"})  # the PIN keeps its default
    assert phone.screen.obj.text == "id=1001 pin=0000 x=1"
    await phone.open(url(service, "/whoami"))
    assert phone.screen.obj.text == "s-1001"


async def test_an_input_the_keypad_could_not_type_is_refused_on_the_phone(phone, service):
    await phone.open(url(service, "/input"))
    await phone.submit({"id": "12ab"})
    assert phone.screen.error and "not allowed" in phone.screen.obj.text
    assert "login" not in service.hits
    await phone.follow(BACK)
    assert isinstance(phone.screen.obj, Input)


async def test_refresh_loads_the_next_page_by_itself(phone, service):
    await phone.open(url(service, "/refresh"))
    await wait_until(lambda: phone.screen.obj.title == "Refreshed", 5, "the refresh")
    assert 1.0 in phone.clock.slept  # after the header's 1 (emulated) second
    await phone.open(url(service, "/norefresh"))
    assert phone._refresh is None  # Refresh: 0 means never


async def test_a_page_with_expires_minus_1_is_not_kept_for_back(phone, service):
    await phone.open(url(service, "/menu"))
    await phone.open(url(service, "/once"))
    await phone.open(url(service, "/news"))
    await phone.back()
    assert phone.screen.obj.title == "Demo"


async def test_plain_text_is_shown_as_text(phone, service):
    await phone.open(url(service, "/plain"))
    assert isinstance(phone.screen.obj, Text) and phone.screen.obj.text == "plain words" and not phone.screen.error


@pytest.mark.parametrize(
    "path, says",
    [
        ("/html", "cannot show text/html"),
        ("/broken", "XML error"),
        ("/big", "larger than"),
        ("/fail", "HTTP error 500"),
        ("/nothing-here", "HTTP error 404"),
    ],
)
async def test_every_failure_is_an_error_screen_and_the_phone_keeps_working(phone, service, path, says):
    await phone.open(url(service, "/menu"))
    await phone.open(url(service, path))
    assert phone.screen.error and says in phone.screen.obj.text
    await phone.back()  # the error is not in the history
    assert phone.screen.obj.title == "Demo"


async def test_a_service_that_does_not_answer_is_an_error_screen(phone, unused_tcp_port):
    await phone.open(f"http://127.0.0.1:{unused_tcp_port}/menu")
    assert phone.screen.error and "not answering" in phone.screen.obj.text
    await phone.press_services()
    assert phone.screen.obj.title == "Services"


async def test_the_push_secret_goes_only_to_the_configured_services(phone, service):
    phone.headers["X-Lab-Phone-Execute-Auth"] = "s3cret-for-my-services"
    await phone.open(url(service, "/secret"))
    assert phone.screen.obj.text == "s3cret-for-my-services"
    # The same page on a host the phone was not configured with: no secret.
    elsewhere = str(service.make_url("/secret")).replace("127.0.0.1", "localhost")
    await phone.open(elsewhere)
    assert phone.screen.obj.text == "none"


# ------------------------------------------------- the phone's own keys, without a screen
def softkeys(phone: PhoneBrowser) -> list[tuple[str, str]]:
    return [(k.name, k.url) for k in phone.softkeys()]


def shown_key(phone: PhoneBrowser, url: str) -> SoftKey:
    """The softkey on screen that follows ``url``."""
    return next(k for k in phone.softkeys() if k.url == url)


async def test_submit_backspace_and_cancel_on_an_input(phone, service):
    await phone.open(url(service, "/menu"))
    await phone.select(1)  # Login: an input without SoftKeyItems
    await phone.follow(CANCEL)  # back where the phone came from
    assert phone.screen.obj.title == "Demo" and not phone.screen.error
    await phone.select(1)
    await phone.follow(SUBMIT)  # the defaults, as typed so far
    assert phone.screen.obj.text == "id= pin=0000 x=1" and not phone.screen.error
    await phone.back()
    assert softkeys(phone) == [("Submit", SUBMIT), ("<<", BACKSPACE), ("Cancel", CANCEL)]
    for key in "1009":
        assert phone.press_key(key) is None  # typed at once: no request
    await phone.follow(BACKSPACE)
    phone.press_key("1")
    phone.navigate(+1)  # the PIN, its default 0000 typed over
    for _ in range(4):
        assert phone.press_softkey(shown_key(phone, BACKSPACE)) is None
    for key in "4321":
        phone.press_key(key)
    assert phone.form.values == {"id": "1001", "pin": "4321"} and service.hits["login"] == 1
    await phone.follow(SUBMIT)
    assert phone.screen.obj.text == "id=1001 pin=4321 x=1" and not phone.screen.error


async def test_select_submits_an_input_and_a_refused_key_is_noted(phone, service):
    await phone.open(url(service, "/input"))
    phone.press_key("*")  # the user ID takes digits only
    assert phone.notice == "User ID: 123 only" and phone.form.values["id"] == ""
    assert phone.type_text("42") and phone.notice == ""
    action = phone.press_softkey(shown_key(phone, SUBMIT))  # a key that needs a request: the caller runs it in turn
    assert action is not None and "login" not in service.hits
    await action()
    assert phone.screen.obj.text == "id=42 pin=0000 x=1"
    await phone.open(url(service, "/input"))
    await phone.select()
    assert phone.screen.obj.text == "id= pin=0000 x=1"


async def test_dial_and_editdial_on_a_directory(phone, service):
    await phone.open(url(service, "/directory"))
    assert softkeys(phone) == [("Dial", DIAL), ("EditDial", EDIT_DIAL), ("Exit", EXIT)]
    phone.navigate(+1)
    await phone.follow(DIAL)
    assert phone.dialing == "5002" and phone.hook.speaker and not phone.screen.error  # off hook on the speaker
    phone.set_hook(speaker=False)
    assert phone.dialing == "" and not phone.hook.off_hook  # on hook: the call is over
    requests = dict(service.hits)

    await phone.follow(EDIT_DIAL)  # Ursula's number, to edit first
    assert phone.screen.obj.title == "Edit Dial" and phone.form.values == {"number": "5002"}
    assert softkeys(phone) == [("Dial", DIAL), ("<<", BACKSPACE), ("Cancel", CANCEL)]
    phone.backspace()
    await phone.follow(CANCEL)  # back to the directory as it was, Ursula highlighted
    assert phone.screen.obj.title == "Crew" and phone.selected == 1 and phone.dialing == ""

    phone.set_hook(handset=True)
    await phone.follow(EDIT_DIAL)
    phone.backspace()
    for key in "7#":
        phone.press_key(key)
    await phone.follow(DIAL)
    assert phone.dialing == "5007#" and phone.hook.handset_lifted and not phone.hook.speaker
    await phone.follow(CANCEL)
    await phone.select(0)  # Select on a directory dials the entry
    assert phone.dialing == "5001"
    assert service.hits == requests  # all of it on the phone: no request


async def test_a_page_pushed_while_a_request_waits_on_a_silent_server_stays(phone, service):
    """The old active went silent with a request of the phone on its way; the new
    active pushes its page: the request is dropped, its error never covers that page."""
    async with SilentServer() as silent:
        waiting = asyncio.ensure_future(phone.open(silent.url + "/menu"))
        await wait_until(lambda: silent.requests, 5, "the request to reach the silent server")
        await phone.execute(url(service, "/news"))
        assert phone.screen.obj.title == "News"
        await asyncio.wait_for(waiting, 1)  # dropped at once, not at its deadline
        assert phone.screen.obj.title == "News" and not phone.screen.error
        assert phone.history == []  # nothing of the dropped request is kept for Back
