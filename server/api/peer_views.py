"""The peer link's views: what this server answers its partner on the heartbeat port.

The peer link (``adapters/peer.py``: mutual TLS, the pinned certificate) serves this
route table; each view turns a partner's request into a call on one of the HA
engine's parts and its answer into JSON.  A server whose IPICS services are stopped
(``service ipics stop``) answers 503 ``ipics_stopped``, as if it were down.

Chapter: Overview (Remote Server Locations Using Secure Communication; Server Failover
Due to Lost Heartbeat Message); Resolving a Split Brain Scenario (REPAIR, ipicsrsync).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.ha_config import HeartbeatSettings
from ..errors import ApiError

if TYPE_CHECKING:
    from ..ha import HAEngine


def peer_routes(engine: HAEngine) -> list[web.RouteDef]:
    views = PeerViews(engine)
    return [
        web.post("/peer/heartbeat", views.heartbeat),
        web.post("/peer/replicate", views.replicate),
        web.get("/peer/snapshot", views.snapshot),
        web.post("/peer/control", views.control),
        web.get("/peer/info", views.info),
        web.get("/peer/files/{file_id}", views.file),
        # ipicsedr_control_repl REPAIR and ipicsrsync, the partner's side
        web.get("/peer/table/{table}", views.table),
        web.get("/peer/files", views.files),
        web.put("/peer/files/{file_id}", views.put_file),
        web.delete("/peer/files/{file_id}", views.delete_file),
    ]


def _stopped() -> web.Response:
    return web.json_response({"error": "ipics_stopped"}, status=503)


class PeerViews:
    def __init__(self, engine: HAEngine):
        self.engine = engine

    async def heartbeat(self, request: web.Request) -> web.Response:
        engine = self.engine
        if engine.suspended:
            return _stopped()
        if not engine.heartbeats.hear(await request.json()):
            return web.json_response({"error": "clock_skew", "skew_s": engine.heartbeats.clock_skew_s}, status=409)
        return web.json_response(engine.heartbeats.payload())

    async def replicate(self, request: web.Request) -> web.Response:
        engine = self.engine
        if engine.suspended:
            return _stopped()
        refusal = await engine.replication.apply(await request.json())
        if refusal is not None:
            return web.json_response({"error": refusal, "applied_seq": engine.replication.applied_seq}, status=409)
        return web.json_response({"applied_seq": engine.replication.applied_seq})

    async def snapshot(self, request: web.Request) -> web.Response:
        if self.engine.suspended:
            return _stopped()
        return web.Response(text=await self.engine.replication.snapshot(), content_type="application/json")

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(self.engine.own_info())

    async def file(self, request: web.Request) -> web.Response:
        if self.engine.suspended:
            return _stopped()
        found = await self.engine.file_replication.for_partner(request.match_info["file_id"])
        if found is None:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(found)

    async def control(self, request: web.Request) -> web.Response:
        engine = self.engine
        if engine.suspended:
            return _stopped()
        body = await request.json()
        command = body.get("command")
        if command == "configure":
            await engine.configuration.on_partner_configure(HeartbeatSettings(**body["settings"]))
            return web.json_response({"ok": True})
        if command == "settings":
            why = engine.configuration.on_partner_settings(HeartbeatSettings(**body["settings"]))
            if why is not None:
                return web.json_response({"error": "port_in_use", "message": why}, status=409)
            return web.json_response({"ok": True})
        if command == "unconfigure":
            await engine.configuration.on_partner_unconfigure()
            return web.json_response({"ok": True})
        if command == "repair":
            try:
                message = await engine.repair.start()
            except ApiError as exc:
                return web.json_response({"error": exc.code, "message": exc.message}, status=exc.status)
            return web.json_response({"message": message})
        if command == "repaired":
            await engine.repair.on_repaired(body.get("replaced") or [])
            return web.json_response({"ok": True})
        if command == "takeover":
            why = engine.failover.on_takeover(body.get("kind"), body.get("reason"))
            if why is not None:
                return web.json_response({"error": "not_standby", "message": why}, status=409)
            return web.json_response({"ok": True})
        return web.json_response({"error": "unknown_command"}, status=400)

    # ------------------------------------------------ REPAIR and ipicsrsync
    async def table(self, request: web.Request) -> web.Response:
        body = await self.engine.repair.table_body(request.match_info["table"])
        if body is None:
            return web.json_response({"error": "unknown_table"}, status=404)
        return web.Response(text=body, content_type="application/json")

    async def files(self, request: web.Request) -> web.Response:
        return web.json_response({"files": await self.engine.repair.file_listing()})

    async def put_file(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await self.engine.repair.receive_file(
                request.match_info["file_id"], base64.b64decode(body["content"]), float(body["mtime"])
            )
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad_request"}, status=400)
        return web.json_response({"ok": True})

    async def delete_file(self, request: web.Request) -> web.Response:
        try:
            await self.engine.repair.delete_file(request.match_info["file_id"])
        except ValueError:
            return web.json_response({"error": "bad_request"}, status=400)
        return web.json_response({"ok": True})
