"""Views of the HA tabs, status and health, and the partner-to-partner trust calls."""

from __future__ import annotations

from aiohttp import web

from ..admin_console.state import ha_tabs
from ..appkeys import BODY, SERVER, USER
from ..core.ha_config import ConfigurationError, HeartbeatSettings
from ..core.licenses import LicenseError
from ..core.roles import Role
from ..errors import ApiError


async def status(request: web.Request) -> web.Response:
    return web.json_response(await request.app[SERVER].engine.status())


async def health_active(request: web.Request) -> web.Response:
    engine = request.app[SERVER].engine
    if engine.role == Role.ACTIVE and engine.accepts_writes:  # not with its IPICS services stopped
        return web.json_response({"active": True, "role": engine.role.value})
    return web.json_response({"active": False, "role": engine.role.value}, status=503)


async def servers(request: web.Request) -> web.Response:
    """The login server selector: every known server and its current role."""
    engine = request.app[SERVER].engine
    st = await engine.status()
    listed = [{"address": engine.address, "server": st["server"], "role": engine.role.value}]
    if engine.partner:
        view = engine.partner_view if engine.missed_now == 0 else None
        listed.append(
            {
                "address": engine.partner.address,
                "server": view.get("server") if view else None,
                "role": view.get("role") if view else "unreachable",
            }
        )
    return web.json_response({"servers": listed, "active": engine.active_address()})


async def list_licenses(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVER].licenses_view())


async def install_license(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    try:
        installed = await server.install_license(request[BODY].content.encode())
    except LicenseError as exc:
        raise ApiError(400, "license_refused", str(exc)) from None
    return web.json_response(installed, status=201)


async def set_ntp(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    await server.engine.set_ntp(request[BODY].servers)
    return web.json_response({"ntp_servers": request[BODY].servers})


async def get_config(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    tabs = await ha_tabs(server)
    return web.json_response(
        {
            **{
                k: tabs[k]
                for k in (
                    "server_status",
                    "partner",
                    "primary_address",
                    "secondary_address",
                    "heartbeat",
                    "ha",
                    "standby_server_status",
                )
            },
            "ntp_servers": server.engine.ntp_servers,
            "certificate_fingerprint": server.identity.info.fingerprint,
            "certificate_not_after": server.identity.info.not_after.isoformat(),
        }
    )


async def establish_trust(request: web.Request) -> web.Response:
    body = request[BODY]
    engine = request.app[SERVER].engine
    partner = await engine.establish_trust(body.partner_address, body.username, body.password)
    return web.json_response({"server_status": "Trusted", "partner": partner.address})


async def delete_trust(request: web.Request) -> web.Response:
    message = await request.app[SERVER].engine.delete_trust(request[BODY].password)
    return web.json_response({"server_status": "Not Trusted", "message": message})


async def trust_exchange(request: web.Request) -> web.Response:
    return web.json_response(
        await request.app[SERVER].engine.accept_trust(request[BODY].model_dump(), client=request.remote or "")
    )


async def trust_remove(request: web.Request) -> web.Response:
    await request.app[SERVER].engine.remove_trust(request[BODY].model_dump(), client=request.remote or "")
    return web.json_response({"server_status": "Not Trusted"})


async def update_settings(request: web.Request) -> web.Response:
    b = request[BODY]
    try:
        settings = HeartbeatSettings(b.port, b.interval_s, b.missed_count)
    except ConfigurationError as exc:
        raise ApiError(400, "out_of_range", str(exc)) from None
    await request.app[SERVER].engine.update_settings(settings)
    return web.json_response({"heartbeat": settings.as_dict()})


async def configure(request: web.Request) -> web.Response:
    await request.app[SERVER].configure_ha(request[USER]["username"])
    return web.json_response(
        {
            "ha": "configured",
            "logged_out": True,
            "message": "HA configured; you are logged out until configuration completes",
        }
    )


async def unconfigure(request: web.Request) -> web.Response:
    await request.app[SERVER].engine.unconfigure()
    return web.json_response(
        {
            "ha": request.app[SERVER].engine.ha.value,
            "role": "transitioning",
            "message": "HA unconfigured: log out and wait a few minutes for the reconfiguration",
        }
    )


async def failover_now(request: web.Request) -> web.Response:
    engine = request.app[SERVER].engine
    await engine.failover_now()
    return web.json_response({"role": engine.role.value, "message": "the standby server is assuming the active role"})


async def go_standby(request: web.Request) -> web.Response:
    engine = request.app[SERVER].engine
    note = await engine.go_standby()
    return web.json_response({"role": engine.role.value, "logged_out": True, "message": note})


async def discarded(request: web.Request) -> web.Response:
    return web.json_response({"discarded": await request.app[SERVER].store.get_local("discarded", [])})


async def audit(request: web.Request) -> web.Response:
    """What administrators did on this server; ``?since=T`` (emulated UTC): only after T."""
    since = request.query.get("since")
    try:
        after = float(since) if since is not None else None
    except ValueError:
        raise ApiError(400, "bad_request", "since must be a time (seconds since the epoch, emulated)") from None
    return web.json_response({"actions": request.app[SERVER].audit.entries(after)})


async def replication_lag(request: web.Request) -> web.Response:
    return web.json_response({"lag_ms": request.app[SERVER].engine.replication_lag_ms()})
