"""The IP phone's XML services browser: what the phone does between its keys and a
phone service (``../shared/reference/ipphone-xml.md``).

It GETs service URLs with the phone's model header and its cookies, shows
``text/xml`` objects (and plain text as text), honours ``Refresh`` and
``Expires: -1``, follows the SoftKey and Init URIs, submits input screens as query
strings, and turns every failure (no answer, an HTTP error, a wrong content type,
bad or oversized XML) into an error screen: the phone keeps working.  It speaks to any
service that serves these objects, not only the IPICS one.

Qt-free: the phone window renders ``screen`` and calls the key methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp
from ipics_server.clock import Clock

from .phone_xml import (
    MAX_XML_BYTES,
    Directory,
    Input,
    Menu,
    MenuItem,
    PhoneObject,
    PhoneXmlError,
    SoftKey,
    Text,
    parse,
)

log = logging.getLogger("ipics.phone")

MODEL = "CP-8865"
REQUEST_TIMEOUT_S = 10.0
EXIT, SELECT, UPDATE, BACK = "SoftKey:Exit", "SoftKey:Select", "SoftKey:Update", "SoftKey:Back"
SERVICES = "Init:Services"


@dataclass(frozen=True)
class Service:
    """One entry of the phone's Services menu, as the phone administrator set it up."""

    name: str
    url: str


@dataclass
class Screen:
    obj: PhoneObject
    url: str | None = None  # None: the phone's own screens (Services, errors)
    refresh_s: float = 0.0
    refresh_url: str | None = None
    keep_in_history: bool = True  # False for Expires: -1
    error: bool = False


class PhoneBrowser:
    def __init__(self, services: list[Service], *, model: str = MODEL, clock: Clock | None = None,
                 on_change: Callable[[PhoneBrowser], None] | None = None,
                 headers: dict[str, str] | None = None):
        self.services = list(services)
        self.model = model
        #: sent besides the model header, only to the hosts of the configured services
        #: (the lab phone's push address and secret: no other site may push to it)
        self.headers = dict(headers or {})
        self.clock = clock or Clock()
        self.on_change = on_change
        self.history: list[str] = []
        self.selected = 0
        self.screen = self._services_screen()
        self._http: aiohttp.ClientSession | None = None
        self._refresh: asyncio.Task | None = None

    async def close(self) -> None:
        self._cancel_refresh()
        if self._http:
            await self._http.close()

    def _session(self) -> aiohttp.ClientSession:
        # Its own session, not the JSON API client: a phone keeps cookies per host
        # (IP addresses included) and reads XML and plain text, with their headers.
        if self._http is None:
            self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        return self._http

    # -------------------------------------------------------------------- keys
    async def press_services(self) -> None:
        """The Services button: the list of configured services, a fresh start."""
        self.history.clear()
        self._show(self._services_screen())

    async def navigate(self, delta: int) -> None:
        """The navigation cluster: move the highlight up or down a list."""
        count = len(_choices(self.screen.obj))
        if count:
            self.selected = max(0, min(count - 1, self.selected + delta))
            self._changed()

    async def select(self, index: int | None = None) -> None:
        """The Select key (the highlighted item) or a keypad digit (item ``index``)."""
        choices = _choices(self.screen.obj)
        index = self.selected if index is None else index
        if isinstance(self.screen.obj, Menu) and 0 <= index < len(choices):
            await self.open(self._absolute(choices[index]))

    async def softkey(self, key: SoftKey | str) -> None:
        url = key.url if isinstance(key, SoftKey) else key
        if url == EXIT:
            await self.press_services()
        elif url == BACK:
            await self.back()
        elif url == UPDATE:
            await self.reload()
        elif url == SELECT:
            await self.select()
        elif url == SERVICES:
            await self.press_services()
        elif url.startswith(("http://", "https://")) or not urlsplit(url).scheme:
            await self.open(self._absolute(url))
        else:
            self._show(_error(f"The phone cannot open {url[:60]}"))

    async def softkey_down(self, key: SoftKey) -> None:
        """A softkey held down: its ``URLDown`` (push-to-talk).  Press and release of
        such a key change the screen in place: they never grow the Back history."""
        if key.url_down:
            await self._in_place(key.url_down)

    async def softkey_up(self, key: SoftKey) -> None:
        """A softkey let go: its ``URL``; for a key with ``URLDown``, in place."""
        if key.url_down:
            await self._in_place(key.url)
        else:
            await self.softkey(key)

    async def _in_place(self, url: str) -> None:
        if url.startswith(("http://", "https://")) or not urlsplit(url).scheme:
            await self.open(self._absolute(url), push=False)
        else:
            await self.softkey(url)

    async def execute(self, url: str) -> None:
        """A service pushed ``url`` to the phone (``CiscoIPPhoneExecute``): open it now."""
        await self.softkey(url)

    async def submit(self, values: dict[str, str]) -> None:
        """Submit an input screen: GET its URL with each item's parameter."""
        obj = self.screen.obj
        if not isinstance(obj, Input):
            return
        query = {}
        for item in obj.items:
            value = values.get(item.param, item.default)
            if not item.accepts(value):
                if self.screen.url and self.screen.keep_in_history:
                    self.history.append(self.screen.url)  # Back returns to the input
                self._show(_error(f"{item.display_name or item.param}: not allowed here"))
                return
            query[item.param] = value
        url = self._absolute(obj.url)
        await self.open(url + ("&" if "?" in url else "?") + urlencode(query))

    async def back(self) -> None:
        if self.history:
            await self.open(self.history.pop(), push=False)
        else:
            await self.press_services()

    async def reload(self) -> None:
        if self.screen.url:
            await self.open(self.screen.url, push=False)

    # -------------------------------------------------------------------- HTTP
    async def open(self, url: str, *, push: bool = True) -> None:
        """GET ``url`` and show what it answers."""
        previous = self.screen
        screen = await self._fetch(url)
        if push and previous.url and previous.keep_in_history and not previous.error and previous.url != url:
            self.history.append(previous.url)
        self._show(screen)

    async def _fetch(self, url: str) -> Screen:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with self._session().get(url, headers={**self._private_headers(url), "X-CiscoIPPhoneModelName": self.model}, timeout=timeout,
                                      allow_redirects=True, max_redirects=5) as resp:
                body = await _read_at_most(resp, MAX_XML_BYTES + 1)  # a larger one is refused, not read
                final_url = str(resp.url)
                if resp.status != 200:
                    return _error(f"HTTP error {resp.status} from {resp.url.host}", url)
                refresh_s, refresh_url = _refresh(resp.headers.get("Refresh"), final_url)
                keep = resp.headers.get("Expires", "").strip() != "-1"
                kind = resp.content_type
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.info("phone request to %s failed: %s", url, exc)
            return _error(f"Host not found or not answering: {urlsplit(url).netloc}", url)
        if kind == "text/xml":
            try:
                obj = parse(body)
            except PhoneXmlError as exc:
                return _error(f"XML error: {exc}", final_url)
        elif kind == "text/plain":
            if len(body) > MAX_XML_BYTES:
                return _error("The page is too large", final_url)
            obj = Text(text=body.decode("utf-8", "replace"))
        else:
            return _error(f"The phone cannot show {kind or 'this content'}", final_url)
        return Screen(obj, final_url, refresh_s, refresh_url, keep)

    # ----------------------------------------------------------------- screens
    def _show(self, screen: Screen) -> None:
        self._cancel_refresh()
        self.screen, self.selected = screen, 0
        if screen.refresh_s > 0:
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_after(screen))
        self._changed()

    async def _refresh_after(self, screen: Screen) -> None:
        await self.clock.sleep(screen.refresh_s)
        if self.screen is screen:
            await self.open(screen.refresh_url or screen.url, push=False)

    def _cancel_refresh(self) -> None:
        task, self._refresh = self._refresh, None
        if task and task is not asyncio.current_task():
            task.cancel()

    def _services_screen(self) -> Screen:
        items = tuple(MenuItem(s.name, s.url) for s in self.services)
        return Screen(Menu(title="Services", prompt="Select a service", items=items,
                           softkeys=(SoftKey("Select", SELECT, 1), SoftKey("Exit", EXIT, 2))))

    def _private_headers(self, url: str) -> dict[str, str]:
        hosts = {urlsplit(s.url).netloc for s in self.services}
        return self.headers if urlsplit(url).netloc in hosts else {}

    def _absolute(self, url: str) -> str:
        return urljoin(self.screen.url, url) if self.screen.url else url

    def _changed(self) -> None:
        if self.on_change:
            self.on_change(self)


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    body = bytearray()
    while len(body) < limit:
        chunk = await resp.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _choices(obj: PhoneObject) -> tuple:
    if isinstance(obj, Menu):
        return tuple(i.url for i in obj.items)
    if isinstance(obj, Directory):
        return tuple(e.telephone for e in obj.entries)
    return ()


def _error(text: str, url: str | None = None) -> Screen:
    return Screen(Text(title="Error", text=text, softkeys=(SoftKey("Back", BACK, 1), SoftKey("Exit", EXIT, 2))),
                  url, error=True)


def _refresh(header: str | None, base: str) -> tuple[float, str | None]:
    """``Refresh: <seconds>[; url=<URL>]``; 0 or absent seconds: no automatic refresh."""
    if not header:
        return 0.0, None
    seconds, _, rest = header.partition(";")
    with contextlib.suppress(ValueError):
        value = float(seconds.strip())
        url = None
        if rest.strip().lower().startswith("url="):
            url = urljoin(base, rest.strip()[4:].strip())
        return (value if value > 0 else 0.0), url
    return 0.0, None
