"""Lab fault injection: only on servers started with ``--lab-faults``, only for admins."""

from __future__ import annotations

import asyncio
import os
import signal

from aiohttp import web

from ..appkeys import SERVER
from ..errors import ApiError, bad_request


async def inject_fault(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    if not server.cfg.lab_faults:
        raise ApiError(403, "forbidden", "fault injection is enabled only on servers started by the lab")
    f = request["body"]
    if f.fault == "power-off":
        # Answer first so the trainer sees it was taken, then die at once like a pulled plug.
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGKILL)
        return web.json_response({"fault": f.fault, "message": "powering off now"}, status=202)
    if f.fault == "crash-service":
        if f.service is None:
            raise bad_request("crash-service needs a service: tomcat, ipics_nm or database")
        server.services.crash(f.service)
        return web.json_response({"fault": f.fault, "service": f.service, "services": server.services.state})
    if f.fault == "cut-link":
        if f.direction is None:
            raise bad_request("cut-link needs a direction: both, outbound or inbound")
        await server.engine.peer.cut(f.direction)
        return web.json_response({"fault": f.fault, "direction": f.direction})
    if f.fault == "heal-link":
        await server.engine.peer.heal()
        return web.json_response({"fault": f.fault})
    if f.fault == "clock-offset":
        if f.seconds is None:
            raise bad_request("clock-offset needs seconds")
        await server.set_clock_offset(f.seconds)
        return web.json_response({"fault": f.fault, "seconds": server.clock.offset_s})
    if f.fault == "txlog-capacity":
        # Shrinks (or grows) the transaction log so prolonged downtime fills it quickly.
        if f.capacity is None:
            raise bad_request("txlog-capacity needs a capacity (entries, at least 10)")
        server.cfg.transaction_log_capacity = f.capacity
        await server.engine.check_transaction_log()
        return web.json_response({"fault": f.fault, "capacity": f.capacity})
    if f.fault == "txlog-safeguard":
        # Off: 90 % no longer unconfigures HA, so the log can reach DDRBLOCK.
        if f.enabled is None:
            raise bad_request("txlog-safeguard needs enabled: true or false")
        server.engine.txlog_safeguard = f.enabled
        await server.engine.check_transaction_log()
        return web.json_response({"fault": f.fault, "enabled": f.enabled})
    raise bad_request(f"unknown fault {f.fault}")
