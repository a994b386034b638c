"""Wiring of one server process: the objects, the aiohttp app, its background tasks.

``IpicsServer`` owns the store, clock, certificates, services, HA engine and data
service.  ``make_app`` is the aiohttp app factory; every background task lives in a
``cleanup_ctx`` so it is cancelled and awaited on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import sys
from pathlib import Path

from aiohttp import web

from .adapters.certs import ServerIdentity
from .adapters.files import FileStore
from .adapters.listening import bound_socket, cannot_listen
from .adapters.store import Store
from .adapters.tls import server_context
from .admin_console.views import setup_admin_console
from .api.middlewares import setup_middlewares
from .api.peer_views import peer_routes
from .api.routes import setup_routes
from .appkeys import SERVER
from .audit import KEY as AUDIT_KEY
from .audit import AuditTrail
from .background import background, run_until_signalled
from .clock import Clock
from .config import ServerConfig, ssh_port_file
from .core.licenses import Feature, check_install, designation, parse_license
from .core.roles import ServerDesignation
from .core.throttle import TRUST
from .data import BUILTIN_ACCOUNTS, DataService
from .dial.engine import DialEngine, dial_routes
from .dial.pstn import PstnDirectory
from .dial_login import DialLogin
from .events import EventBus
from .ha import HAEngine, http_address
from .malformed_requests import SockSite
from .media.issuer import TicketIssuer
from .media.link import RouterLink
from .media.ticket import TicketKeyError, load_key
from .phone.service import PhoneService, phone_errors, phone_routes
from .services import Services
from .shell.hostkey import load_or_create_host_key
from .shell.interpreter import Shell
from .shell.sshd import ShellSSHServer

log = logging.getLogger("ipics.server")

JSON_BODY_LIMIT = 1024 * 1024


class DataDirLocked(RuntimeError):
    pass


class IpicsServer:
    """``clock``: the emulated clock to use instead of one built from ``cfg`` (the
    in-process test tier hands both servers clocks on one emulated timeline)."""

    def __init__(self, cfg: ServerConfig, *, clock: Clock | None = None):
        self.cfg = cfg
        if cfg.clean_install and cfg.data_dir.exists():
            shutil.rmtree(cfg.data_dir)
        cfg.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cfg.data_dir.chmod(0o700)  # the database holds password hashes and all data
        self._lock_file = _lock_data_dir(cfg.data_dir)
        # The anchor: a server powered on after the lab changed the time scale starts on
        # the same emulated time as its partner.
        self.clock = clock or Clock(
            cfg.time_scale,
            cfg.clock_epoch if cfg.clock_epoch is not None else _now(),
            anchor_emulated=cfg.clock_anchor_emulated,
        )
        self.store = Store(cfg.data_dir / "ipics.sqlite3")
        self.store.open_sync()
        self.clock.offset_s = self.store.get_local_sync("clock_offset_s", 0.0)
        if cfg.ntp_servers:
            self.store.set_local_sync("ntp", cfg.ntp_servers)
        # Kept in memory: the designation is asked on every heartbeat and status call.
        self._licenses: list[dict] = self.store.get_local_sync("licenses", [])
        self.files = FileStore(cfg.data_dir / "files")
        self.identity = ServerIdentity(cfg.data_dir / "certs", cfg.name, cfg.host)
        self.events = EventBus()
        self.services = Services(self.clock, on_change=self._on_services_changed)
        for path in cfg.licenses:
            self.install_license_sync(path.read_bytes())
        self.engine = HAEngine(
            cfg=cfg,
            clock=self.clock,
            store=self.store,
            files=self.files,
            identity=self.identity,
            services=self.services,
            events=self.events,
            designation=self.designation,
            verify_password=self._verify_password,
            logout=self._logout,
        )
        self.engine.peer.serve(peer_routes(self.engine))
        #: what administrators did here (console, API, shell), for grading and the timeline
        self.audit = AuditTrail(
            self.clock, self.store.get_local_sync(AUDIT_KEY, []), lambda e: self.engine.state.persist(AUDIT_KEY, e)
        )
        self.data = DataService(
            store=self.store,
            files=self.files,
            clock=self.clock,
            events=self.events,
            engine=self.engine,
            services=self.services,
            designation=self.designation,
        )
        self.dial_login = DialLogin(self.data)
        #: push-to-talk tickets (POST /api/v1/media/ticket, and this server's router link)
        self.tickets = (
            TicketIssuer(_media_key(cfg.media_ticket_key_file), self.data, cfg.name)
            if cfg.media_ticket_key_file
            else None
        )
        # Phones and telephones reach the media router through the server they use.
        self.media = RouterLink(cfg.media_router, self.tickets) if cfg.media_router and self.tickets else None
        self.phone = PhoneService(self.data, self.dial_login, media=self.media, audit=self.audit)
        self.dial = DialEngine(
            self.data,
            self.dial_login,
            media=self.media,
            pstn=PstnDirectory(cfg.pstn_directory) if cfg.pstn_directory else None,
        )

    # -- licenses --------------------------------------------------------------------
    def installed_features(self) -> set[Feature]:
        return {Feature(f["feature"]) for f in self._licenses}

    def designation(self) -> ServerDesignation | None:
        return designation(self.installed_features())

    def _with_license(self, data: bytes) -> tuple[dict, list[dict] | None]:
        """The entry for this license file and the new list, or None if already installed.
        Parsing and the rules are cheap and pure; callers persist the new list."""
        lic = parse_license(data)
        features = self.installed_features()
        if lic.feature in features:
            return next(f for f in self._licenses if f["feature"] == lic.feature.value), None
        check_install(features, lic.feature)
        entry = {"feature": lic.feature.value, "title": lic.title, "serial": lic.serial, "version": lic.version}
        return entry, self._licenses + [entry]

    def install_license_sync(self, data: bytes) -> dict:
        """At start-up, before the loop serves anything."""
        entry, licenses = self._with_license(data)
        if licenses is not None:
            self.store.set_local_sync("licenses", licenses)
            self._licenses = licenses
            log.info("installed the %s license", entry["title"])
        return entry

    async def install_license(self, data: bytes) -> dict:
        entry, licenses = self._with_license(data)
        if licenses is not None:
            # Memory first, so a second install arriving meanwhile sees this one.
            self._licenses = licenses
            await self.store.set_local("licenses", licenses)
            log.info("installed the %s license", entry["title"])
            self.engine.on_licenses_changed()
        return entry

    def licenses_view(self) -> dict:
        d = self.designation()
        return {"licenses": list(self._licenses), "server": d.value if d else None}

    # -- the clock ---------------------------------------------------------------------
    async def set_clock_offset(self, seconds: float) -> None:
        """``date -s``, ``ntpsetup`` or the lab's clock-offset fault; kept across restarts."""
        self.clock.offset_s = float(seconds)
        await self.store.set_local("clock_offset_s", self.clock.offset_s)
        log.warning("system clock set: %+.1f s from NTP time", self.clock.offset_s)

    # -- the Administration Console's procedures ----------------------------------------
    async def configure_ha(self, administrator: str) -> None:
        """Configure: activate HA, then log every administrator out until the
        configuration operations are complete (chapter, Step 9).  The merge keeps this
        server's copy of the configuring ``administrator``'s account and of the built-in
        ones, so they log in again (Step 10) with the password they just used."""
        await self.engine.configure(
            on_done=lambda: self.data.logout_all(admins_only=True), keep_accounts={*BUILTIN_ACCOUNTS, administrator}
        )

    # -- callbacks for the engine ------------------------------------------------------
    async def _verify_password(self, username: str, password: str, client: str) -> bool:
        """The partner's trust calls: throttled apart from logins (``core.throttle``)."""
        return await self.data.check_password(username, password, client, way=TRUST) is not None

    async def _logout(self, admins_only: bool) -> None:
        await self.data.logout_all(admins_only)

    def _on_services_changed(self) -> None:
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self.engine.tick())

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        password = self.cfg.admin_password
        if await self.store.get("users", "ipicsadmin") is None:
            if password is None:
                password = secrets.token_urlsafe(12)
                # Printed once to the terminal that started the server, never to the log.
                print(f"ipicsadmin password (first start, shown once): {password}", file=sys.stderr, flush=True)
            await self.data.ensure_builtin_users(password)
        if self.engine.partner:
            await self.engine.peer.start(
                self.engine.partner.cert_pem, self.engine.partner.host, self.engine.settings.port
            )

    async def device_events_loop(self) -> None:
        """Role changes reach the devices' services: the phone service pushes phones to
        a new active, the dial engine drops its calls when this server stops being it;
        data changes reach the media link, which revokes the talk groups users lost."""
        while True:  # a None is the bus dropping a slow subscriber: subscribe again
            events = self.events.subscribe()
            try:
                while (event := await events.get()) is not None:
                    self.phone.on_event(event)
                    self.dial.on_event(event)
                    if self.media is not None:
                        self.media.on_event(event)
            finally:
                self.events.unsubscribe(events)

    async def stop(self) -> None:
        await self.dial.close()
        await self.phone.close()  # closes the media link too
        self.services.cancel()
        await self.engine.peer.stop()
        self.events.close_all()
        if (unwritten := self.audit.take_unwritten()) is not None:  # the last actions, kept
            await self.store.set_local(AUDIT_KEY, unwritten)
        await asyncio.to_thread(self.store.close)


def _now() -> float:
    import time

    return time.time()


def _media_key(path: Path) -> bytes:
    try:
        return load_key(path)
    except TicketKeyError as exc:
        raise SystemExit(f"ipics server: {exc}") from None


def _lock_data_dir(data_dir: Path):
    f = open(data_dir / "server.lock", "w")  # noqa: SIM115 (held, locked, for the server's life)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise DataDirLocked(f"another server is running with the data directory {data_dir}") from None
    return f


def make_app(server: IpicsServer) -> web.Application:
    app = web.Application(client_max_size=JSON_BODY_LIMIT)
    app[SERVER] = server
    setup_middlewares(app)
    setup_routes(app)
    setup_admin_console(app, server)
    # The devices' services, beside the JSON API: the IP phone service (phone XML) and
    # the dial engine's trunk (a WebSocket per call).
    app.router.add_routes(phone_routes())
    app.middlewares.append(phone_errors)  # after the API's: a phone gets phone XML, not JSON
    app.router.add_routes(dial_routes())
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_ssh_server)
    app.cleanup_ctx.append(background(SERVER, lambda s: s.engine.heartbeat_loop()))
    app.cleanup_ctx.append(background(SERVER, lambda s: s.engine.shipper_loop()))
    app.cleanup_ctx.append(background(SERVER, lambda s: s.engine.file_fetch_loop()))
    app.cleanup_ctx.append(background(SERVER, lambda s: s.engine.witness_loop()))
    app.cleanup_ctx.append(background(SERVER, lambda s: s.device_events_loop()))
    return app


async def _lifecycle(app: web.Application):
    server = app[SERVER]
    await server.start()
    yield
    await server.stop()


async def _ssh_server(app: web.Application):
    """The shell's SSH server, bound on this server's address; after ``_lifecycle`` so the
    shell users exist, and closed before the store is."""
    server = app[SERVER]
    cfg = server.cfg
    if cfg.ssh_port is None:
        yield
        return
    host_key = await asyncio.to_thread(load_or_create_host_key, cfg.data_dir, cfg.name)
    sshd = ShellSSHServer(Shell(server), host_key)
    try:
        cfg.ssh_port = await sshd.start(cfg.host, cfg.ssh_port)
    except OSError as exc:
        raise cannot_listen("the SSH shell", cfg.host, cfg.ssh_port, exc) from None
    yield
    await sshd.close()


def _write_port(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, path)


async def listen(server: IpicsServer) -> web.AppRunner:
    """Start the server's app and its client API on ``cfg.host:cfg.port`` (port 0: the OS
    picks a free one, written back to ``cfg.port``), over HTTPS with ``--tls-cert``, and
    the redirecting plain-HTTP port if asked; the caller cleans the runner up."""
    cfg = server.cfg
    sock = bound_socket("the client API", cfg.host, cfg.port)
    cfg.port = sock.getsockname()[1]
    server.engine.address = http_address(cfg.host, cfg.port, tls=cfg.tls)
    app = make_app(server)
    if cfg.tls and cfg.http_redirect_port is not None:
        app.cleanup_ctx.append(_redirect_to_https(cfg.host, cfg.http_redirect_port, server.engine.address))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    ssl_context = server_context(cfg.tls_cert, cfg.tls_key) if cfg.tls_cert and cfg.tls_key else None
    site = SockSite(runner, sock, ssl_context=ssl_context)  # refuses malformed requests without echoing them
    await site.start()
    return runner


def _redirect_to_https(host: str, port: int, https_address: str):
    """``--http-redirect-port``: every plain-HTTP request is answered 308 to the same
    path at this server's own HTTPS address (never at the request's ``Host``: a
    redirect goes where this server is).  Nothing else is served there."""

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(https_address + str(request.rel_url))

    async def listening(_app: web.Application):
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", redirect)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await SockSite(runner, bound_socket("the HTTP redirect", host, port)).start()
            yield
        finally:
            await runner.cleanup()

    return listening


async def serve(cfg: ServerConfig) -> None:
    """Run one server until SIGINT or SIGTERM."""
    server = IpicsServer(cfg)
    runner = await listen(server)
    port = cfg.port
    if cfg.port_file:
        # The SSH port first: whoever waits for the port file then finds both.
        if cfg.ssh_port is not None:
            _write_port(ssh_port_file(cfg.port_file), cfg.ssh_port)
        _write_port(cfg.port_file, port)
    log.warning(
        "IPICS server %s listening on %s (role %s)%s",
        cfg.name,
        server.engine.address,
        server.engine.role.value,
        f", SSH on port {cfg.ssh_port}" if cfg.ssh_port is not None else "",
    )
    await run_until_signalled(runner, lambda: log.warning("IPICS server %s stopping", cfg.name))
