"""Typed application and request keys, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .app import IpicsServer

SERVER: web.AppKey[IpicsServer] = web.AppKey("server")

#: what the route guard put on a request: the logged-in user, the parsed body, the token
USER: web.RequestKey[dict[str, Any]] = web.RequestKey("user", dict)
BODY: web.RequestKey[Any] = web.RequestKey("body", object)
TOKEN: web.RequestKey[str] = web.RequestKey("token", str)
