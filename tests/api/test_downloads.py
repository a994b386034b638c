"""Uploaded files are served so a browser never runs them (issue 14, item 18).

Anyone who may upload to an incident chooses the file's bytes and its Content-Type; the
download comes from the API's own origin.  Over HTTP: every download is an attachment,
never sniffed, sandboxed by its CSP, and anything but a photo or video type is served as
plain bytes.  In Debian's headless Chromium (as tests/admin_console drives it): neither
opening a download nor embedding it in a page of the API's own origin runs its script.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from ..admin_console.conftest import browser  # noqa: F401 (fixture)

#: each script reports that it ran to the page that embeds it (same origin) and to the console
RAN = "(window.parent.ran = window.parent.ran || []).push('{name}'); console.log('ran {name}')"
ACTIVE = {
    "page.html": ("text/html", f"<html><body><script>{RAN.format(name='page.html')}</script></body></html>"),
    "drawing.svg": (
        "image/svg+xml",
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f"<script>{RAN.format(name='drawing.svg')}</script></svg>",
    ),
    "tool.js": ("text/javascript", RAN.format(name="tool.js")),
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="module")
def uploads(live_server) -> dict[str, str]:
    """Each active file and a PNG uploaded to one incident: name -> download path."""

    async def upload() -> dict[str, str]:
        async with live_server.admin() as c:
            incident = await c.post("/api/v1/incidents", {"name": "downloads"})
            assert incident.status == 201, incident.body
            paths = {}
            for name, (content_type, content) in {
                **{n: (t, s.encode()) for n, (t, s) in ACTIVE.items()},
                "scene.png": ("image/png", PNG),
            }.items():
                base = f"/api/v1/incidents/{incident['id']}/files"
                reply = await c.request(
                    "POST", f"{base}?name={name}", data=content, headers={"Content-Type": content_type}
                )
                assert reply.status == 201, reply.body
                paths[name] = f"{base}/{reply['id']}"
            return paths

    return asyncio.run(upload())


async def _download(live_server, path: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as s:
        async with s.get(
            live_server.url + path, headers={"Authorization": f"Bearer {live_server.admin_token}"}
        ) as resp:
            await resp.read()
            return resp


@pytest.mark.parametrize("name", sorted(ACTIVE))
async def test_an_active_upload_is_served_as_bytes_to_save(live_server, uploads, name):
    resp = await _download(live_server, uploads[name])
    assert resp.status == 200
    assert resp.content_type == "application/octet-stream"  # not text/html, image/svg+xml, text/javascript
    assert resp.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{name}"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"].split(";")[0] == "sandbox"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_a_photo_keeps_its_type_and_is_still_an_attachment(live_server, uploads):
    resp = await _download(live_server, uploads["scene.png"])
    assert resp.status == 200 and resp.content_type == "image/png"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")


async def test_the_record_keeps_the_type_it_was_uploaded_with(live_server, uploads):
    """The clients choose their icons from the record: it still says what was uploaded."""
    incident_id = uploads["page.html"].split("/")[4]
    async with live_server.admin() as c:
        files = {f["name"]: f for f in (await c.get(f"/api/v1/incidents/{incident_id}")).body["files"]}
    assert {n: files[n]["content_type"] for n in ACTIVE} == {n: t for n, (t, _s) in ACTIVE.items()}


async def test_in_chromium_no_uploaded_script_runs(live_server, uploads, browser):  # noqa: F811
    context = await browser.new_context()
    # What a logged-in client sends; a browser page on the API's origin would carry it too.
    await context.set_extra_http_headers({"Authorization": f"Bearer {live_server.admin_token}"})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    try:
        # Opened directly, each is a download, not a page.
        for name in ACTIVE:
            async with page.expect_download() as download:
                with contextlib.suppress(Exception):  # Chromium aborts the navigation: "Download is starting"
                    await page.goto(live_server.url + uploads[name])
            assert (await download.value).suggested_filename == name

        # Embedded every way a page can, by a page of the API's own origin (the worst
        # case: the attacker's page would have the API's cookies and storage).  A frame
        # of the page itself shows that a script that runs is seen.
        html = RAN.format(name="control")
        frames = "".join(
            f'<iframe src="{p}"></iframe><object data="{p}"></object><embed src="{p}"><img src="{p}">'
            for p in (uploads[n] for n in ACTIVE)
        )
        scripts = f'<script src="{uploads["tool.js"]}"></script>'
        page_html = (
            f"<html><body><script>window.ran = [];</script>{frames}{scripts}"
            f'<iframe srcdoc="<script>{html}</script>"></iframe></body></html>'
        )
        await page.route(
            f"{live_server.url}/embedding-page.html",
            lambda route: route.fulfill(status=200, content_type="text/html", body=page_html),
        )
        await page.goto(f"{live_server.url}/embedding-page.html", wait_until="load")
        await page.wait_for_function("window.ran.includes('control')")
        assert await page.evaluate("window.ran") == ["control"]
        assert [t for t in console if t.startswith("ran ") and t != "ran control"] == []
    finally:
        await context.close()
