"""An IP phone (the Qt-free browser and its push receiver) against the real pair.

The phone's Services menu lists the IPICS service of both servers, as the chapter asks
the phone administrator to configure it.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from types import SimpleNamespace
from urllib.parse import urlsplit

from ipics_clients.phone_browser import PhoneBrowser, Service
from ipics_clients.phone_push import PushReceiver
from ipics_clients.phone_xml import Input, Menu
from ipics_lab.supervisor import wait_until
from ipics_server.clock import Clock

from ..pair.conftest import TIME_SCALE, demo, lab, pair  # noqa: F401 (fixtures)

PRIMARY, SECONDARY = 0, 1  # positions in the Services menu


@asynccontextmanager
async def ipics_phone(lab_pair, *, time_scale: float = TIME_SCALE):
    browser = PhoneBrowser(
        [
            Service("IPICS primary", lab_pair.primary.url + "/phone/ipics"),
            Service("IPICS secondary", lab_pair.secondary.url + "/phone/ipics"),
        ],
        clock=Clock(time_scale),
    )
    receiver = PushReceiver(browser.execute)
    await receiver.start()
    browser.headers.update(receiver.headers())
    try:
        yield SimpleNamespace(browser=browser, receiver=receiver)
    finally:
        await receiver.close()
        await browser.close()


async def log_in(browser: PhoneBrowser, service: int, user_id: str, pin: str) -> None:
    """Services, the IPICS service at ``service``, user ID and PIN, Submit."""
    await browser.press_services()
    await browser.select(service)
    assert isinstance(browser.screen.obj, Input), browser.screen.obj
    await browser.submit({"userid": user_id, "pin": pin})


def menu_names(browser: PhoneBrowser) -> list[str]:
    obj = browser.screen.obj
    assert isinstance(obj, Menu), obj
    return [item.name for item in obj.items]


def shown_text(browser: PhoneBrowser) -> str:
    obj = browser.screen.obj
    return " ".join(filter(None, (obj.title, obj.prompt, getattr(obj, "text", ""))))


async def wait_for_screen(browser: PhoneBrowser, predicate, what: str, timeout_s: float = 15):
    return await wait_until(lambda: predicate(browser.screen), timeout_s, what)


async def raw_http(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """``request`` sent byte for byte to the server of ``url`` (it should ask for
    ``Connection: close``): the answer's status, headers (lower-case names) and body."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)  # to the end: the server closes
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body
