"""Every URL the IPICS phone service writes is absolute and reachable.

Cisco phones need absolute URLs (some firmware resolves no relative ones): the service
is crawled as a phone would walk it -- every menu item, softkey URL and URLDown, input
URL (submitted), Refresh URL and redirect -- once by the address it was given and once
by a DNS name, and each URL found must be absolute on the address the phone used and
answer a phone object.  A Host header that is not a well-formed ``host[:port]`` is
not reflected: the URLs then carry the server's own address.
"""

from __future__ import annotations

import socket
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ipics_clients.phone_xml import Input, Menu, parse
from ipics_server.phone.origin import well_formed_host
from ipics_server.phone.service import BASE

from .conftest import raw_http

PHONE_URIS = ("SoftKey:", "Init:")  # the phone's own keys, not HTTP
MAX_REQUESTS = 200
LAB_NAME = "ipics-primary.lab.example"


class LabNames(AbstractResolver):
    """The phone's DNS: ``names`` -> IPv4 address."""

    def __init__(self, names: dict[str, str]):
        self.names = names

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET) -> list[ResolveResult]:
        address = self.names[host]
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST
            )
        ]

    async def close(self) -> None:
        pass


def urls_in(obj, login: dict[str, str]) -> list[str]:
    """What a phone could request next from ``obj``: its items, keys and input."""
    found = [k.url for k in obj.softkeys] + [k.url_down for k in obj.softkeys if k.url_down]
    if isinstance(obj, Menu):
        found += [i.url for i in obj.items]
    if isinstance(obj, Input):
        found.append(obj.url)
        found.append(f"{obj.url}?{urlencode({i.param: login.get(i.param, '') for i in obj.items})}")
    return found


async def crawl(entry: str, login: dict[str, str], *, names: dict[str, str] | None = None) -> dict:
    """Walk the service from ``entry`` as a phone: every URL it finds, with where it was
    found (``found``), and what each visited URL answered (``answers``).  Logout waits
    until everything else was visited, as it ends the session."""
    connector = aiohttp.TCPConnector(resolver=LabNames(names)) if names else None
    found: dict[str, str] = {entry: "the Services menu"}
    answers: dict[str, str] = {}
    queue = [entry]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector) as http:
        while queue:
            assert len(answers) < MAX_REQUESTS, "the crawl does not end"
            queue.sort(key=lambda u: "/logout" in u)
            url = queue.pop(0)
            async with http.get(url, allow_redirects=False, headers={"X-CiscoIPPhoneModelName": "CP-8865"}) as resp:
                body = await resp.read()
                next_urls = []
                if resp.status in (301, 302, 303, 307):
                    next_urls.append(resp.headers["Location"])
                    answers[url] = f"redirect {resp.status}"
                else:
                    assert resp.status == 200 and resp.content_type == "text/xml", (url, resp.status, body[:200])
                    next_urls += urls_in(parse(body), login)
                    answers[url] = type(parse(body)).__name__
                refresh = resp.headers.get("Refresh", "")
                if "url=" in refresh:
                    next_urls.append(refresh.split("url=", 1)[1].strip())
            for u in next_urls:
                if u.startswith(PHONE_URIS):
                    continue
                found.setdefault(u, url)
                if u not in answers and u not in queue:
                    queue.append(u)
    return {"found": found, "answers": answers}


def assert_absolute_on(result: dict, origin: str) -> None:
    for url, where in result["found"].items():
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == origin, f"{url!r} (found on {where}) is not on {origin}"
    assert set(result["answers"]) == set(result["found"])  # each one visited, and answered
    paths = {urlsplit(u).path for u in result["answers"]}
    assert paths >= {BASE, BASE + "/login", BASE + "/talk", BASE + "/logout"}, paths
    assert sum("/talk?" in u for u in result["answers"]) >= 5 * 3  # each group: talk, press, release


async def test_a_phone_crawling_the_service_finds_only_absolute_urls_that_answer(demo):
    primary = demo.pair.primary
    login = {"userid": "1001", "pin": demo.pin}
    result = await crawl(primary.url + BASE, login)
    assert_absolute_on(result, primary.url)
    assert "Menu" in result["answers"].values()  # logged in: the menu was crawled too

    # The same service reached by a name: the URLs carry the name the phone used.
    named = f"http://{LAB_NAME}:{primary.port}"
    result = await crawl(named + BASE, login, names={LAB_NAME: primary.host})
    assert_absolute_on(result, named)


async def test_the_resume_redirect_is_absolute(demo):
    pair = demo.pair
    async with aiohttp.ClientSession() as http:
        url = f"{pair.primary.url}{BASE}/resume?{urlencode({'session': 'not-a-session', 'next': BASE + '/menu'})}"
        async with http.get(url) as resp:  # an unknown session: the login, absolute
            obj = parse(await resp.read())
    assert isinstance(obj, Input) and obj.url == pair.primary.url + BASE + "/login"


async def test_a_host_header_that_is_not_a_host_is_not_reflected(demo):
    primary = demo.pair.primary
    for host in (
        "evil.example/phish",
        "user@evil.example",
        "evil.example:99999",
        "two words",
        "evil.example:",
        "[::1",
        "999.1.1.1",
        "x" * 300,
        None,
    ):
        # HTTP/1.0 for the request without a Host (HTTP/1.1 requires one)
        version, header = ("1.1", f"Host: {host}\r\n") if host is not None else ("1.0", "")
        status, headers, body = await raw_http(
            primary.url, (f"GET {BASE} HTTP/{version}\r\n{header}Connection: close\r\n\r\n").encode()
        )
        assert status == 200 and headers["content-type"].startswith("text/xml"), (host, status, body)
        obj = parse(body)
        assert isinstance(obj, Input) and obj.url == primary.url + BASE + "/login", (host, obj.url)


def test_which_host_headers_are_well_formed():
    for host in (
        "127.0.0.1:8080",
        "localhost",
        "ipics-primary.lab.example:80",
        "[::1]:443",
        "[2001:db8::2]",
        "198.18.0.11:3000",
    ):
        assert well_formed_host(host), host
    for host in (
        "",
        "evil.example/x",
        "a@b:80",
        "host:0",
        "host:65536",
        "host:12a",
        "bad host",
        "-a.b",
        "a..b",
        "999.1.1.1",
        "[::1",
        "[::1]x",
        "[fe80::1%eth0]:80",
        "x\r\nSet-Cookie: a=b",
        "h\u00e9.example",
    ):
        assert not well_formed_host(host), host
