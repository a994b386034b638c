"""The IP phone's XML services browser: what the phone does between its keys and a
phone service (``../shared/reference/ipphone-xml.md``).

It GETs service URLs with the phone's model header and its cookies, shows
``text/xml`` objects (and plain text as text), honours ``Refresh`` and
``Expires: -1``, follows the SoftKey and Init URIs, and turns every failure (no
answer, an HTTP error, a wrong content type, bad or oversized XML) into an error
screen: the phone keeps working.  It speaks to any service that serves these objects,
not only the IPICS one.

The phone's own keys are handled here too (``phone_keys``): the keypad types into an
input screen's fields (``form``), Submit sends them as a query string, ``<<`` deletes,
Cancel goes back; on a directory Dial dials the highlighted entry (off hook on the
speaker) and EditDial opens its number for editing first.

Keys that only change what is on the phone (typing, ``<<``, moving the highlight or
the field) take effect at once; ``press_key`` and ``press_softkey`` return the request
a key needs as an action, so a caller can run those in the order the keys were
pressed; ``softkey`` and ``select`` do the whole key.  ``follow`` takes a URI as a
softkey or a push gives it: the phone's own (``SoftKey:Exit``, ``Init:Services``) or
a service's URL.

Qt-free: the phone window renders ``screen``, ``form``, ``softkey_row``, ``hook``,
``dialing`` and ``notice`` (``phone_screen`` words them) and calls the key methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

from ipics_clients.addresses import origin
from ipics_clients.phone_keys import (
    BACK,
    BACKSPACE,
    CANCEL,
    DIAL,
    EDIT_DIAL,
    EXIT,
    SELECT,
    SERVICES,
    SUBMIT,
    UPDATE,
    Hook,
    InputForm,
    SoftKeyRow,
    shown_softkeys,
)
from ipics_clients.phone_xml import (
    MAX_XML_BYTES,
    Directory,
    Input,
    InputItem,
    Menu,
    MenuItem,
    PhoneObject,
    PhoneXmlError,
    SoftKey,
    Text,
    parse,
)
from ipics_server.adapters.httpclient import client_ssl_context
from ipics_server.clock import Clock

log = logging.getLogger("ipics.phone")

MODEL = "CP-8865"
#: real seconds a service may take to answer before the phone shows "not answering": a
#: silent server (paused, or cut off by a network that drops packets) says nothing else.
#: The 5 seconds after which the console, too, calls a server not answering.
REQUEST_TIMEOUT_S = 5.0

#: the request a key needs, for the caller to run in the order of the keys
Action = Callable[[], Awaitable[None]]
EDIT_DIAL_PARAM = "number"


#: where an IPICS server serves its phone service (the server's ``phone.service.BASE``)
IPICS_PHONE_PATH = "/phone/ipics"


@dataclass(frozen=True)
class Service:
    """One entry of the phone's Services menu, as the phone administrator set it up."""

    name: str
    url: str


def ipics_service(server: str, url: str) -> Service:
    """The IPICS phone service of server ``server`` (primary, secondary) at ``url``: the
    chapter wants one for each server, so that after a failover the user picks the new
    active in Services."""
    return Service(f"IPICS {server}", url.rstrip("/") + IPICS_PHONE_PATH)


@dataclass
class Screen:
    obj: PhoneObject
    url: str | None = None  # None: the phone's own screens (Services, errors)
    refresh_s: float = 0.0
    refresh_url: str | None = None
    keep_in_history: bool = True  # False for Expires: -1
    error: bool = False
    #: a screen of the phone's own (Edit Dial) over this one: Cancel returns to it
    parent: Screen | None = None
    parent_selected: int = 0


class PhoneBrowser:
    def __init__(
        self,
        services: list[Service],
        *,
        model: str = MODEL,
        clock: Clock | None = None,
        on_change: Callable[[PhoneBrowser], None] | None = None,
        headers: dict[str, str] | None = None,
        now: Callable[[], float] = time.monotonic,
    ):
        self.services = list(services)
        self.model = model
        #: sent besides the model header, only to the hosts of the configured services
        #: (the lab phone's push address and secret: no other site may push to it)
        self.headers = dict(headers or {})
        self.clock = clock or Clock()
        self.now = now  # real time, for the keypad's multi-tap (a human's pace)
        self.on_change = on_change
        self.history: list[str] = []
        self.selected = 0
        #: what is typed into the input screen shown (None on other screens)
        self.form: InputForm | None = None
        self.hook = Hook()
        #: the softkey buttons: the screen's keys and their page (kept across screens)
        self.softkey_row = SoftKeyRow()
        self.dialing = ""  # the number Dial dialled, until the phone is on hook again
        self.notice = ""  # a word for the status line: a refused key, a push
        self.screen = self._services_screen()
        self.softkey_row.show(self.softkeys())
        self._http: aiohttp.ClientSession | None = None
        self._refresh: asyncio.Task | None = None
        #: the one request on its way, and its number: a newer request or screen abandons it
        self._fetching: asyncio.Task | None = None
        self._requests = 0

    async def close(self) -> None:
        self._cancel_refresh()
        self._abandon_request()
        if self._http:
            await self._http.close()

    def _session(self) -> aiohttp.ClientSession:
        # Its own session, not the JSON API client: a phone keeps cookies per host
        # (IP addresses included) and reads XML and plain text, with their headers.
        if self._http is None:
            # HTTPS servers verified as every client verifies them (the lab's CA included).
            self._http = aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(ssl=client_ssl_context())
            )
        return self._http

    # -------------------------------------------------------------------- keys
    def softkeys(self) -> tuple[SoftKey, ...]:
        """The softkeys of the screen shown: its own, or the phone's for its kind."""
        return shown_softkeys(self.screen.obj, self.screen.refresh_url)

    async def press_services(self) -> None:
        """The Services button: the list of configured services, a fresh start."""
        self.history.clear()
        self._show(self._services_screen())

    def navigate(self, delta: int) -> None:
        """The navigation cluster: the highlight of a list, or the field of an input."""
        if self.form is not None:
            self.form.move(delta)
            self._changed()
            return
        count = len(_choices(self.screen.obj))
        if count:
            self.selected = max(0, min(count - 1, self.selected + delta))
            self._changed()

    async def select(self, index: int | None = None) -> None:
        """The Select key (the highlighted item) or a keypad digit (item ``index``): a
        menu opens the item, an input is submitted, a directory entry is dialled."""
        obj = self.screen.obj
        if isinstance(obj, Input):
            await self.submit()
        elif isinstance(obj, Directory):
            self.dial(index)
        elif isinstance(obj, Menu):
            choices = _choices(obj)
            index = self.selected if index is None else index
            if 0 <= index < len(choices):
                await self.open(self._absolute(choices[index]))

    def press_key(self, key: str) -> Action | None:
        """A keypad key: on an input it types into the focused field (at once); on a
        menu a digit chooses that item (0 the tenth), returned as the action to run."""
        if self.form is not None:
            self._note(self.form.press_key(key, self.now()))
            return None
        if isinstance(self.screen.obj, Menu) and key.isdigit():
            index = 9 if key == "0" else int(key) - 1
            if index < len(self.screen.obj.items):
                return partial(self.select, index)
        return None

    def type_text(self, text: str) -> bool:
        """Text from a computer keyboard into the focused input field, if its flags
        allow; False when no input field is shown."""
        if self.form is None or self.form.focused is None or not text:
            return False
        self._note(self.form.type_text(text))
        return True

    def backspace(self) -> None:
        """``<<``: delete the last character of the focused input field."""
        if self.form is not None:
            self.form.backspace()
            self._note(None)

    def press_softkey(self, key: SoftKey) -> Action | None:
        """A softkey let go: the keys that leave the screen as it is take effect at once
        (``<<``, so typing never overtakes it; Dial); every other key is returned as the
        action to run."""
        if key.url == BACKSPACE:
            self.backspace()
        elif key.url == DIAL:
            self.dial()
        else:
            return partial(self.softkey, key)
        return None

    async def softkey(self, key: SoftKey) -> None:
        """A softkey let go: its URL."""
        await self.follow(key.url)

    async def follow(self, url: str) -> None:
        """A URI, as a softkey or a push gives it: the phone's own keys and screens, or a
        service's URL (relative to the screen shown)."""
        if url in (EXIT, SERVICES):
            await self.press_services()
        elif url == BACK:
            await self.back()
        elif url == UPDATE:
            await self.reload()
        elif url == SELECT:
            await self.select()
        elif url == SUBMIT:
            await self.submit()
        elif url == BACKSPACE:
            self.backspace()
        elif url == CANCEL:
            await self.cancel()
        elif url == DIAL:
            self.dial()
        elif url == EDIT_DIAL:
            self.edit_dial()
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
            await self.follow(url)

    async def execute(self, url: str) -> None:
        """A service pushed ``url`` to the phone (``CiscoIPPhoneExecute``): open it now."""
        await self.follow(url)
        self._note(f"pushed by {urlsplit(url).netloc or 'a service'}")

    async def submit(self, values: dict[str, str] | None = None) -> None:
        """Submit an input screen: GET its URL with each item's parameter, the values
        typed (``values``, else the form's; an item not given keeps its default).  On
        Edit Dial, dial the number."""
        obj = self.screen.obj
        if not isinstance(obj, Input):
            return
        if values is None:
            values = dict(self.form.values) if self.form is not None else {}
        if self.screen.parent is not None:  # Edit Dial: the phone's own input
            self.dial(number=values.get(EDIT_DIAL_PARAM, ""))
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

    async def cancel(self) -> None:
        """Cancel: Edit Dial returns to its directory; an input goes back."""
        edit = self.screen
        if edit.parent is None:
            await self.back()
            return
        self._show(edit.parent, selected=edit.parent_selected)

    def dial(self, index: int | None = None, *, number: str | None = None) -> None:
        """Dial: the highlighted directory entry (or entry ``index``, or ``number``),
        off hook on the speaker unless the handset is lifted."""
        if number is None:
            number = self._entry_number(index)
        number = number.strip()
        if not number:
            self._note("Nothing to dial")
            return
        if not self.hook.off_hook:
            self.hook.set(speaker=True)
        self.dialing = number
        self._changed()

    def edit_dial(self) -> None:
        """EditDial: the highlighted entry's number in an input of the phone's own, to
        change before Dial; Cancel returns to the directory."""
        number = self._entry_number(None)
        if not number:
            return
        obj = Input(
            title="Edit Dial",
            prompt="Edit the number, then Dial",
            url="",
            items=(InputItem("Number", EDIT_DIAL_PARAM, number, "T"),),
            softkeys=(SoftKey("Dial", DIAL, 1), SoftKey("<<", BACKSPACE, 2), SoftKey("Cancel", CANCEL, 3)),
        )
        self._show(Screen(obj, parent=self.screen, parent_selected=self.selected))

    def set_hook(self, *, handset: bool | None = None, speaker: bool | None = None) -> None:
        """The handset lifted or hung up, the speaker on or off; on hook ends the dialling."""
        self.hook.set(handset=handset, speaker=speaker)
        if not self.hook.off_hook:
            self.dialing = ""
        self._changed()

    def _entry_number(self, index: int | None) -> str:
        obj = self.screen.obj
        if self.screen.parent is not None and self.form is not None:  # Dial on Edit Dial
            return self.form.values.get(EDIT_DIAL_PARAM, "")
        if not isinstance(obj, Directory) or not obj.entries:
            return ""
        index = self.selected if index is None else index
        return obj.entries[max(0, min(index, len(obj.entries) - 1))].telephone

    def _note(self, notice: str | None) -> None:
        self.notice = notice or ""
        self._changed()

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
        """GET ``url`` and show what it answers, unless another page is asked for or shown
        before the answer comes (a key, a push, a refresh, Services): a phone drops the
        page it was loading then.  A request held by a silent server would otherwise, at
        its deadline, cover with its error the page the new active pushed meanwhile."""
        previous = self.screen
        self._cancel_refresh()  # this page is being left: its own reload must not abandon this
        self._abandon_request()
        number = self._requests
        fetching = self._fetching = asyncio.ensure_future(self._fetch(url))
        try:
            await asyncio.wait((fetching,))
        finally:  # the caller cancelled: the request goes with it
            fetching.cancel()
        if fetching.cancelled() or number != self._requests:
            return
        screen = fetching.result()
        if push and previous.url and previous.keep_in_history and not previous.error and previous.url != url:
            self.history.append(previous.url)
        self._show(screen)

    async def _fetch(self, url: str) -> Screen:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with self._session().get(
                url,
                headers={**self._private_headers(url), "X-CiscoIPPhoneModelName": self.model},
                timeout=timeout,
                allow_redirects=True,
                max_redirects=5,
            ) as resp:
                body = await _read_at_most(resp, MAX_XML_BYTES + 1)  # a larger one is refused, not read
                final_url = str(resp.url)
                if resp.status != 200:
                    return _error(f"HTTP error {resp.status} from {resp.url.host}", url)
                refresh_s, refresh_url = _refresh(resp.headers.get("Refresh"), final_url)
                keep = resp.headers.get("Expires", "").strip() != "-1"
                kind = resp.content_type
        except aiohttp.ClientConnectorCertificateError as exc:
            log.info("phone request to %s refused: %s", url, exc)
            return _error(f"Certificate not trusted: {urlsplit(url).netloc}", url)
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
    def _abandon_request(self) -> None:
        """Drop the request on its way, if any: its answer is no longer wanted."""
        self._requests += 1
        fetching, self._fetching = self._fetching, None
        if fetching is not None:
            fetching.cancel()

    def _show(self, screen: Screen, *, selected: int = 0) -> None:
        self._cancel_refresh()
        self._abandon_request()
        self.screen, self.selected = screen, selected
        self.form = InputForm.of(screen.obj) if isinstance(screen.obj, Input) else None
        self.softkey_row.show(self.softkeys())
        self.notice = ""
        if screen.refresh_s > 0:
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_after(screen))
        self._changed()

    async def _refresh_after(self, screen: Screen) -> None:
        await self.clock.sleep(screen.refresh_s)
        url = screen.refresh_url or screen.url
        # A refresh comes only with a fetched screen, which has its URL; the phone's own
        # screens (url None) never refresh.
        if self.screen is screen and url is not None:
            await self.open(url, push=False)

    def _cancel_refresh(self) -> None:
        task, self._refresh = self._refresh, None
        if task and task is not asyncio.current_task():
            task.cancel()

    def _services_screen(self) -> Screen:
        items = tuple(MenuItem(s.name, s.url) for s in self.services)
        return Screen(
            Menu(
                title="Services",
                prompt="Select a service",
                items=items,
                softkeys=(SoftKey("Select", SELECT, 1), SoftKey("Exit", EXIT, 2)),
            )
        )

    def _private_headers(self, url: str) -> dict[str, str]:
        """The phone's push address and secret, for its own services only."""
        return self.headers if origin(url) in {origin(s.url) for s in self.services} else {}

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
    return Screen(
        Text(title="Error", text=text, softkeys=(SoftKey("Back", BACK, 1), SoftKey("Exit", EXIT, 2))), url, error=True
    )


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
