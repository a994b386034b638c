"""Typed application keys, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .app import IpicsServer

SERVER: web.AppKey["IpicsServer"] = web.AppKey("server")
