"""Views of sessions, users, channels, VTGs, incidents and files, and the event socket."""

from __future__ import annotations

import asyncio
import re

from aiohttp import WSMsgType, web

from ..adapters.files import FileNameError, check_file_name
from ..appkeys import BODY, SERVER, TOKEN, USER
from ..audit import RESUMING_CLIENTS, reconnect_result
from ..core.roles import Role
from ..data import UserRole
from ..errors import ApiError, bad_request
from ..pushes import PushedView

_CONTENT_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")


def _data(request: web.Request):
    return request.app[SERVER].data


async def login(request: web.Request) -> web.Response:
    b = request[BODY]
    token, user = await _data(request).login(b.username, b.password, client=request.remote or "")
    server = request.app[SERVER]
    engine = server.engine
    if user["role"] != UserRole.SYSTEM_ADMINISTRATOR.value:
        # A person's login (IDC, mobile), for an exercise's grade: where the dispatcher
        # went after a failover.  The administrators' logins are the lab's machinery.
        server.audit.record(
            action="login", via="api", user=user["username"], ok=True, result=f"logged in ({engine.role.value})"
        )
    return web.json_response({"token": token, "user": user, "server": engine.address, "role": engine.role.value})


async def logout(request: web.Request) -> web.Response:
    await _data(request).logout(request[TOKEN])
    return web.json_response({"logged_out": True})


async def me(request: web.Request) -> web.Response:
    return web.json_response(request[USER])


async def events(request: web.Request) -> web.StreamResponse:
    """Pushes ``{"type": "hello"|"record"|"role"|"message"|"logout", ...}``; a record as
    this session's user could read it through the API at that moment, ``value: null``
    when he no longer can (``pushes.py``).  Closes when this server stops being the
    active one, so the console looks for the new active, and when the session ends."""
    server = request.app[SERVER]
    ws = web.WebSocketResponse(heartbeat=10, max_msg_size=4096)
    await ws.prepare(request)
    # Subscribed before the first look at the listings: no change falls in between.
    queue = server.events.subscribe()
    view = PushedView(server.data, request[TOKEN])

    async def drain_incoming():
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break

    reader = asyncio.ensure_future(drain_incoming())
    try:
        if not await view.start():
            return ws  # the session ended since it was checked
        await ws.send_json({"type": "hello", "role": server.engine.role.value, "server": server.engine.address})
        user, resumed = request[USER], request.query.get("resumed")
        if resumed in RESUMING_CLIENTS and user["role"] != UserRole.SYSTEM_ADMINISTRATOR.value:
            # A console taking its session back by itself after losing its server (to the
            # new active, or the same one back): for a dispatcher's exercise, where his
            # console went with no user action (as a login would say).
            server.audit.record(
                action="reconnect",
                via="api",
                user=user["username"],
                ok=True,
                result=reconnect_result(resumed, server.engine.role.value),
            )
        while not ws.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                break
            # Everything already queued at once: a burst of writes is one look at the listings.
            batch = [getter.result()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            if not await _forward(ws, view, request[USER], batch):
                break
    finally:
        server.events.unsubscribe(queue)
        reader.cancel()
        await ws.close()
    return ws


async def _forward(ws: web.WebSocketResponse, view: PushedView, user: dict, batch: list[dict | None]) -> bool:
    """Send ``batch`` in order, each run of record changes as the pushes it makes for
    this user; False once the socket is to close."""
    changed: set[str] = set()
    for event in batch:
        if event is not None and event["type"] == "record":
            changed.add(event["table"])
            continue
        if not await _push_changes(ws, view, changed) or event is None:
            return False  # None: the bus dropped this subscriber (too slow), or the server stops
        await ws.send_json(event)
        if event["type"] == "role" and event.get("role") != Role.ACTIVE.value:
            return False
        if event["type"] == "logout" and (
            not event["admins_only"] or user["role"] == UserRole.SYSTEM_ADMINISTRATOR.value
        ):
            return False
    return await _push_changes(ws, view, changed)


async def _push_changes(ws: web.WebSocketResponse, view: PushedView, changed: set[str]) -> bool:
    if not changed:
        return True
    pushes = await view.changes(changed)
    changed.clear()
    if pushes is None:  # logged out or expired: he may read nothing any more
        return False
    for push in pushes:
        await ws.send_json(push)
    return True


async def list_users(request: web.Request) -> web.Response:
    return web.json_response({"users": await _data(request).users()})


async def create_user(request: web.Request) -> web.Response:
    b = request[BODY]
    user = await _data(request).create_user(b.username, b.password, UserRole(b.role), b.full_name, by=request[USER])
    return web.json_response(user, status=201)


async def set_dial_login(request: web.Request) -> web.Response:
    b = request[BODY]
    user = await _data(request).set_dial_login(request.match_info["username"], b.user_id, b.pin)
    return web.json_response(user)


async def list_channels(request: web.Request) -> web.Response:
    return web.json_response({"channels": await _data(request).channels_for(request[USER])})


async def create_channel(request: web.Request) -> web.Response:
    b = request[BODY]
    return web.json_response(await _data(request).create_channel(b.name, b.description), status=201)


async def delete_channel(request: web.Request) -> web.Response:
    await _data(request).delete_channel(request.match_info["channel_id"])
    return web.json_response({"deleted": True})


async def assign_channel(request: web.Request) -> web.Response:
    value = await _data(request).assign_channel(request.match_info["channel_id"], request[BODY].username)
    return web.json_response(value, status=201)


async def unassign_channel(request: web.Request) -> web.Response:
    await _data(request).unassign_channel(request.match_info["channel_id"], request.match_info["username"])
    return web.json_response({"deleted": True})


async def list_assignments(request: web.Request) -> web.Response:
    return web.json_response({"assignments": await _data(request).assignments_for(request[USER])})


async def list_vtgs(request: web.Request) -> web.Response:
    vtgs = await _data(request).vtgs_for(request[USER])
    return web.json_response({"vtgs": [request.app[SERVER].dial.with_call_status(v) for v in vtgs]})


async def dial_out(request: web.Request) -> web.Response:
    """Invite a telephone into a VTG: recorded, then called by this server's dial engine."""
    number = request[BODY].number
    vtg = await _data(request).add_dial_out(request.match_info["vtg_id"], number)
    dial = request.app[SERVER].dial
    await dial.call_out(vtg, number)
    return web.json_response(dial.with_call_status(vtg))


async def create_vtg(request: web.Request) -> web.Response:
    b = request[BODY]
    return web.json_response(await _data(request).create_vtg(b.name, b.channels, b.members), status=201)


async def list_incidents(request: web.Request) -> web.Response:
    return web.json_response({"incidents": await _data(request).incidents_for(request[USER])})


async def create_incident(request: web.Request) -> web.Response:
    b = request[BODY]
    value = await _data(request).create_incident(b.name, b.description, b.participants)
    return web.json_response(value, status=201)


async def set_participants(request: web.Request) -> web.Response:
    value = await _data(request).set_participants(
        request.match_info["incident_id"], request[BODY].participants, request[USER]
    )
    return web.json_response(value)


async def get_incident(request: web.Request) -> web.Response:
    return web.json_response(await _data(request).incident(request.match_info["incident_id"], request[USER]))


async def upload_file(request: web.Request) -> web.Response:
    """Raw body upload: ``POST .../files?name=photo.jpg`` with the file's Content-Type."""
    try:
        name = check_file_name(request.query.get("name", ""))
    except FileNameError as exc:
        raise bad_request(str(exc)) from None
    content_type = request.content_type or "application/octet-stream"
    if not _CONTENT_TYPE.match(content_type):
        raise bad_request("unsupported Content-Type")
    content = await _read_upload(request)
    value = await _data(request).add_file(request.match_info["incident_id"], request[USER], name, content_type, content)
    return web.json_response(value, status=201)


async def restore_file(request: web.Request) -> web.Response:
    """``PUT .../files/{file_id}``: the content of a file missing after a failover."""
    content = await _read_upload(request)
    value = await _data(request).restore_file(
        request.match_info["incident_id"], request.match_info["file_id"], request[USER], content
    )
    return web.json_response(value)


async def _read_upload(request: web.Request) -> bytes:
    limit = request.app[SERVER].cfg.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"the upload is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the upload is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise bad_request("the upload is empty")
    return b"".join(chunks)


#: uploads a browser only shows, served as what they are; any other (HTML, SVG, XML,
#: scripts...) is served as bytes: nothing uploaded may run on the API's origin
PASSIVE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "video/mp4",
        "video/quicktime",
        "video/3gpp",
        "video/webm",
        "video/mpeg",
    }
)
#: sent with every download: saved, never shown in a page; never sniffed into an active
#: type; and if a browser rendered it anyway, sandboxed with nothing allowed
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def download_file(request: web.Request) -> web.Response:
    meta, content = await _data(request).file_content(
        request.match_info["incident_id"], request.match_info["file_id"], request[USER]
    )
    content_type = meta["content_type"] if meta["content_type"] in PASSIVE_TYPES else "application/octet-stream"
    return web.Response(
        body=content,
        content_type=content_type,
        headers={**DOWNLOAD_HEADERS, "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(meta['name'])}"},
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
