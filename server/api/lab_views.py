"""Lab fault injection and the trainer's time-scale control: only on servers started
with ``--lab-faults``, only for admins."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from aiohttp import web

from ..appkeys import BODY, SERVER
from ..errors import ApiError, bad_request

#: how far from this server's real time the moment of a time-scale change may be: the
#: lab picks one a moment ahead; one in the past recounts the time since at the new scale
TIME_SCALE_AT_AHEAD_S = 60.0
TIME_SCALE_AT_BEHIND_S = 5.0


def _lab_server(request: web.Request, what: str):
    server = request.app[SERVER]
    if not server.cfg.lab_faults:
        raise ApiError(403, "forbidden", f"{what} is enabled only on servers started by the lab")
    return server


async def inject_fault(request: web.Request) -> web.Response:
    server = _lab_server(request, "fault injection")
    f = request[BODY]
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


async def set_time_scale(request: web.Request) -> web.Response:
    """The trainer's time-scale control.  Both servers get the same ``at``, so their
    emulated clocks switch at the same real moment and keep agreeing."""
    server = _lab_server(request, "the time-scale control")
    body = request[BODY]
    real_now = time.time()
    at = real_now if body.at is None else body.at
    if not real_now - TIME_SCALE_AT_BEHIND_S <= at <= real_now + TIME_SCALE_AT_AHEAD_S:
        raise bad_request(
            f"at must be a real Unix time at most {TIME_SCALE_AT_AHEAD_S:.0f} s ahead of and "
            f"{TIME_SCALE_AT_BEHIND_S:.0f} s behind this server's time ({real_now:.3f}), "
            f"not {at:.3f}"
        )
    server.clock.set_time_scale(body.time_scale, at_real=at)
    # The heartbeat loop's current wait was computed at the old scale: a heartbeat at
    # the switch starts the next wait at the new one (an extra one never counts as missed).
    asyncio.get_running_loop().call_later(max(0.0, at - time.time()), server.engine.kick)
    return web.json_response({"time_scale": body.time_scale, "at": at, "time": server.clock.now()})
