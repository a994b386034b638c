"""Push-to-talk tickets for the media router (``ipics_server.media.ticket``)."""

from __future__ import annotations

import time

from aiohttp import web

from ..appkeys import SERVER, USER
from ..errors import ApiError
from ..media.issuer import TooManyTalkGroups
from ..media.ticket import REFRESH_AFTER_S


async def media_ticket(request: web.Request) -> web.Response:
    """A ticket naming the caller and the talk groups (channels and VTGs) he has, valid
    for ``TICKET_LIFETIME_S`` real seconds; ask again after ``refresh_after_s``, and when
    the channels or VTGs change."""
    issuer = request.app[SERVER].tickets
    if issuer is None:
        raise ApiError(
            503,
            "no_media_tickets",
            "this server issues no push-to-talk tickets: it was started without --media-ticket-key-file",
        )
    try:
        issued = await issuer.for_user(request[USER])
    except TooManyTalkGroups as exc:
        raise ApiError(409, "too_many_talk_groups", str(exc)) from None
    claims = issued.claims
    return web.json_response(
        {
            "ticket": issued.ticket,
            "user": claims.who,
            "groups": sorted(claims.groups),
            "issuer": claims.issuer,
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "expires_in_s": round(claims.expires_at - time.time(), 3),
            "refresh_after_s": REFRESH_AFTER_S,
        }
    )
