"""The HA engine of one server: trust, HA configuration, heartbeats, takeover, replication.

One reconcile tick observes, asks ``core.roles.decide`` and acts, logging the sentence
that says why (``roles``).  Heartbeats, the replication shipper (active) and the file
fetcher (standby) are background tasks owned by the app's cleanup context.  The parts
of the engine share one ``NodeState`` (``node``).

Chapter sections: Configuring Cisco IPICS Servers for HA; Unconfiguring HA; Performing
a Manual Failover; Server Failover Due to Lost Heartbeat Message / Local Critical
Process Failure; HA Affect on the IDC Connections (no failback).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Awaitable, Callable, Coroutine, Iterable

from aiohttp import web

from ..adapters.certs import CertificateError, ServerIdentity, inspect
from ..adapters.files import FileStore
from ..adapters.httpclient import ApiClient, Unreachable, normalize_address
from ..adapters.peer import PeerLink
from ..adapters.store import Store
from ..clock import Clock
from ..config import ServerConfig
from ..core import roles
from ..core.ha_config import ConfigurationError, HeartbeatSettings, check_supported_pair
from ..core.records import Record, merge_on_configure
from ..core.roles import Decision, HAState, Role, ServerDesignation, StandbyServerStatus, role_by_license
from ..core.txlog import LogState
from ..errors import ApiError, conflict
from ..events import EventBus
from ..services import Services
from .adoption import Adoption, DiscardedLog
from .file_replication import FileReplication
from .heartbeats import Heartbeats
from .node import NodeState, Partner, partner_message
from .repair import Reconciliation
from .replication import Replication
from .roles import Roles
from .status import StatusReport
from .transaction_log import TransactionLogWatch

log = logging.getLogger("ipics.ha")



class HAEngine:
    """Callbacks: ``logout(admins_only)``; ``verify_password(username, password, client)``."""

    def __init__(self, *, cfg: ServerConfig, clock: Clock, store: Store, files: FileStore,
                 identity: ServerIdentity, services: Services, events: EventBus,
                 designation: Callable[[], ServerDesignation | None],
                 verify_password: Callable[[str, str, str], Awaitable[bool]],
                 logout: Callable[[bool], Awaitable[None]], rng: random.Random | None = None):
        self.cfg = cfg
        self.clock = clock
        self.store = store
        self.files = files
        self.identity = identity
        self.services = services
        self.events = events
        self._verify_password = verify_password
        self._logout = logout
        self.state = state = NodeState(cfg=cfg, clock=clock, store=store, files=files, services=services,
                                       events=events, designation=designation, rng=rng)
        self._configure_lock = asyncio.Lock()
        self.repair = Reconciliation(self)
        self.peer = peer = PeerLink(identity, cfg.host, self._peer_routes())
        self.discarded = DiscardedLog(state)
        self.adoption = Adoption(state, peer, self.discarded)
        self.roles = Roles(state, peer, synchronize=self.adoption.synchronize_from_active)
        self.txlog = TransactionLogWatch(state, set_role=self.roles.set_role)
        self.file_replication = FileReplication(state, peer)
        self.replication = Replication(state, peer, self.txlog, synchronize=self.adoption.synchronize_from_active,
                                       on_file_records=self.file_replication.on_file_records)
        self.status_report = StatusReport(state, peer, repair_status=self.repair.status)
        self.heartbeats = Heartbeats(state, peer, tick=self.roles.tick, repair_status=self.repair.local_status,
                                     follow_unconfigure=self._follow_partner_unconfigure)

    # ------------------------------------------------------------- the node state
    @property
    def address(self) -> str:
        """This server's client API, ``http://host:port``."""
        return self.state.address

    @address.setter
    def address(self, value: str) -> None:  # once bound (port 0: the OS picks one)
        self.state.address = value

    @property
    def role(self) -> Role:
        return self.state.role

    @property
    def ha(self) -> HAState:
        return self.state.ha

    @property
    def partner(self) -> Partner | None:
        return self.state.partner

    @property
    def partner_view(self) -> dict[str, Any] | None:
        """The partner's last heartbeat."""
        return self.state.partner_view

    @property
    def missed_now(self) -> int:
        return self.state.missed_now

    @property
    def settings(self) -> HeartbeatSettings:
        return self.state.settings

    @property
    def ntp_servers(self) -> list[str]:
        return self.state.ntp_servers

    @property
    def suspended(self) -> bool:
        """``service ipics stop``: no heartbeats, no peer traffic, no clients."""
        return self.state.suspended

    @property
    def txlog_state(self) -> LogState:
        return self.state.txlog_state

    @property
    def txlog_safeguard(self) -> bool:
        """Unconfigure HA at 90 % of the transaction log; the lab can switch it off."""
        return self.state.txlog_safeguard

    @txlog_safeguard.setter
    def txlog_safeguard(self, value: bool) -> None:
        self.state.txlog_safeguard = value

    @property
    def standby_server_status(self) -> StandbyServerStatus | None:
        return self.state.standby_server_status

    @property
    def in_split_brain(self) -> bool:
        return self.state.in_split_brain

    @property
    def accepts_writes(self) -> bool:
        return self.state.accepts_writes

    def active_address(self) -> str | None:
        return self.state.active_address()

    def designation(self) -> ServerDesignation | None:
        return self.state.designation()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        return self.state.spawn(coro)

    def message(self, level: str, text: str) -> None:
        self.state.message(level, text)

    def kick(self) -> None:
        self.state.kick()

    async def status(self) -> dict[str, Any]:
        return await self.status_report.status()

    # ----------------------------------------------------------- roles and the tick
    async def tick(self) -> Decision:
        return await self.roles.tick()

    def refuse_unless_active(self) -> None:
        self.roles.refuse_unless_active()

    def on_licenses_changed(self) -> None:
        self.roles.on_licenses_changed()

    async def set_ntp(self, servers: list[str]) -> None:
        """The emulated ``ntpsetup -s enable``."""
        self.state.ntp_servers = list(servers)
        await self.store.set_local("ntp", self.state.ntp_servers)

    # ---------------------------------------------------------------- heartbeats
    async def heartbeat_loop(self) -> None:
        await self.heartbeats.loop()

    # --------------------------------------------------------------- replication
    def on_local_write(self) -> None:
        self.replication.on_local_write()

    async def shipper_loop(self) -> None:
        await self.replication.shipper_loop()

    async def check_transaction_log(self) -> None:
        await self.txlog.check()

    def replication_lag_ms(self) -> list[float]:
        return self.replication.lag_ms()

    async def log_discarded(self, lost: list[Record], reason: str) -> None:
        await self.discarded.log_records(lost, reason)

    async def log_discarded_entries(self, lost: list[dict], reason: str) -> None:
        await self.discarded.log_entries(lost, reason)

    def adopt_after_repair(self, replaced: list[dict], reason: str) -> None:
        self.adoption.after_repair(replaced, reason)

    # ------------------------------------------------------------ file replication
    async def file_fetch_loop(self) -> None:
        await self.file_replication.fetch_loop()

    # ------------------------------------------------------------------ procedures
    async def establish_trust(self, address: str, username: str, password: str) -> None:
        """HA Security tab, Save: exchange certificates with the partner (primary side)."""
        if self.state.ha != HAState.UNCONFIGURED:
            raise conflict("trust with a partner already exists; delete it first")
        try:
            address = normalize_address(address)
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        if address == self.state.address:
            raise ApiError(400, "bad_request", "the partner address is this server's own address")
        async with ApiClient(address, timeout_s=10) as client:
            try:
                reply = await client.post("/api/v1/ha/trust/exchange", {
                    "username": username, "password": password, "certificate": self.identity.cert_pem,
                    "address": self.state.address, "heartbeat_port": self.state.settings.port,
                })
            except Unreachable:
                raise ApiError(502, "partner_unreachable", f"the partner server at {address} does not answer") from None
        if reply.status == 401:
            raise ApiError(401, "partner_password_wrong",
                           "the partner refused the ipicsadmin user name or password; nothing was stored")
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused trust: {partner_message(reply.body)}")
        if not isinstance(reply.body, dict):
            raise ApiError(502, "not_ipics", f"{address} answered, but not as an IPICS server")
        pem = reply.body.get("certificate", "")
        try:
            info = inspect(pem)
        except CertificateError:
            raise ApiError(502, "partner_certificate", "the partner sent no valid certificate") from None
        if info.expired():
            raise ApiError(502, "partner_certificate_expired",
                           f"the partner certificate expired on {info.not_after:%Y-%m-%d}; renew it first")
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        await self._store_trust(Partner(address=address, host=host, cert_pem=pem))

    async def accept_trust(self, body: dict[str, Any], client: str) -> dict[str, Any]:
        """Partner side of the exchange: check the ipicsadmin password, pin, answer our cert.
        ``client``: the caller's address, for the login throttle."""
        if body["certificate"].strip() == self.identity.cert_pem.strip():
            # This server's own address under another name (localhost, say).
            raise ApiError(400, "bad_request", "the partner address is this server's own address")
        if (body["username"] != "ipicsadmin"
                or not await self._verify_password("ipicsadmin", body["password"], client)):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if self.state.ha != HAState.UNCONFIGURED and not self._stale_trust_of(body["certificate"]):
            raise conflict("this server already trusts a partner; delete that trust first")
        try:
            info = inspect(body["certificate"])
            address = normalize_address(body["address"])
        except (CertificateError, ValueError) as exc:
            raise ApiError(400, "bad_request", f"invalid trust request: {exc}") from None
        if info.expired():
            raise ApiError(400, "certificate_expired", f"your certificate expired on {info.not_after:%Y-%m-%d}")
        if self.state.ha != HAState.UNCONFIGURED:
            log.warning("the trusted partner deleted its trust while this server was stopped: "
                        "replacing the old trust and HA configuration")
            await self._reset_after_partner_reset()
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        if body.get("heartbeat_port"):
            self.state.settings = HeartbeatSettings(body["heartbeat_port"], self.state.settings.interval_s,
                                              self.state.settings.missed_count)
            await self.store.set_local("heartbeat", self.state.settings.as_dict())
        await self._store_trust(Partner(address=address, host=host, cert_pem=body["certificate"]))
        return {"certificate": self.identity.cert_pem}

    def _stale_trust_of(self, cert_pem: str) -> bool:
        """The same partner asks for trust again: it deleted its side (Method 2) while
        this server was stopped.  Only while this server does not hear that partner's
        heartbeats: a partner that still heartbeats has not deleted anything."""
        return bool(self.state.partner and cert_pem.strip() == self.state.partner.cert_pem.strip()
                    and (self.state.missed_now > 0 or self.state.partner_view is None
                         or self.state.ha != HAState.CONFIGURED or self.state.suspended))

    async def _reset_after_partner_reset(self) -> None:
        if self.state.transition and self.state.transition.task:
            self.state.transition.task.cancel()
        self.state.transition = None
        await self.forget_trust()
        self.state.set_awaiting_repair(False)
        self.state.synchronized = False
        self.state.missed_now = 0
        await self.state.set_standalone(False)
        self.roles.set_role(role_by_license(self.state.designation()), "trust replaced by the partner")

    async def _store_trust(self, partner: Partner) -> None:
        self.state.partner = partner
        self.state.ha = HAState.TRUSTED
        await self.store.set_local("partner", partner.to_json())
        await self.store.set_local("ha", self.state.ha.value)
        await self.peer.start(partner.cert_pem, partner.host, self.state.settings.port)
        log.warning("HA partner %s trusted (certificate %s...)", partner.address,
                    inspect(partner.cert_pem).fingerprint[:16])
        self.state.kick()  # the HA Configuration tab shows at once whether the partner answers

    async def delete_trust(self, password: str) -> str:
        """HA Security, Delete: needs the partner's password, removes the pins on both."""
        if self.state.ha == HAState.CONFIGURED or self.state.role == Role.TRANSITIONING:
            raise conflict("unconfigure HA and wait for the reconfiguration before deleting the trust")
        if self.state.partner is None:
            raise conflict("there is no trust to delete")
        async with ApiClient(self.state.partner.address, timeout_s=10) as client:
            try:
                reply = await client.post("/api/v1/ha/trust/remove", {
                    "username": "ipicsadmin", "password": password, "certificate": self.identity.cert_pem})
            except Unreachable:
                raise ApiError(502, "partner_unreachable",
                               "the partner does not answer: the trust certificates cannot be removed there; "
                               "start it, or stop only its IPICS services (service ipics stop)") from None
        if reply.status == 503:
            # Method 2: the secondary is stopped (service ipics stop) while the primary
            # deletes its trust.  Delete here; the partner forgets this server when it is
            # configured again (a new trust from the same primary replaces the old one).
            await self.forget_trust()
            return ("the partner does not answer: the trust was deleted on this server only; the partner "
                    "drops it when HA is configured again")
        if reply.status == 401:
            raise ApiError(401, "partner_password_wrong", "the partner refused the password; nothing was deleted")
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {partner_message(reply.body)}")
        await self.forget_trust()
        return "the trust certificates were deleted on both servers"

    async def remove_trust(self, body: dict[str, Any], client: str) -> None:
        # The certificate first: a stranger learns nothing about the password here.
        if self.state.partner is None or body["certificate"].strip() != self.state.partner.cert_pem.strip():
            raise ApiError(403, "forbidden", "only the trusted partner may delete the trust")
        if (body["username"] != "ipicsadmin"
                or not await self._verify_password("ipicsadmin", body["password"], client)):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if self.state.ha == HAState.CONFIGURED:
            raise conflict("HA is configured here; unconfigure it first")
        await self.forget_trust()

    async def forget_trust(self) -> None:
        await self.peer.stop()
        self.state.partner = None
        self.state.partner_view = None
        self.state.ha = HAState.UNCONFIGURED
        await self.store.set_local("partner", None)
        await self.store.set_local("ha", self.state.ha.value)
        log.warning("HA trust deleted; certificates removed")

    async def update_settings(self, settings: HeartbeatSettings) -> None:
        """HA Configuration tab, Update: both servers take the settings, or neither.
        Trusted but not yet configured too: the peer link (and Configure) needs both on
        one Heartbeat Port."""
        if self.state.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if settings.port != self.state.settings.port and (why := self.peer.cannot_listen_on(settings.port)):
            raise conflict(f"{why}; nothing was changed")
        reply = await self._control({"command": "settings", "settings": settings.as_dict()})
        if not reply.ok:
            raise conflict(f"the partner refused the settings: {partner_message(reply.body)}; nothing was changed")
        await self.apply_settings(settings)

    async def apply_settings(self, settings: HeartbeatSettings) -> None:
        port_changed = settings.port != self.state.settings.port
        self.state.settings = settings
        await self.store.set_local("heartbeat", settings.as_dict())
        if port_changed and self.state.partner:
            await self.peer.start(self.state.partner.cert_pem, self.state.partner.host, settings.port)
        self.state.kick()  # the loop's wait was computed with the old interval

    async def partner_info(self) -> dict[str, Any]:
        try:
            reply = await self.peer.call("GET", "/peer/info")
        except Unreachable as exc:
            raise ApiError(502, "partner_unreachable",
                           f"the partner does not answer on the peer link: {self.peer.error or exc}") from None
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {partner_message(reply.body)}")
        return reply.body

    def own_info(self) -> dict[str, Any]:
        d = self.state.designation()
        return {"server": d.value if d else None, "ntp_servers": list(self.state.ntp_servers),
                "software_version": self.cfg.software_version, "role": self.state.role.value, "ha": self.state.ha.value}

    async def configure(self, on_done: Callable[[], Awaitable[None]], keep_accounts: Iterable[str] = ()) -> None:
        """HA Configuration, Configure: merge both servers' data, start HA (primary side).
        ``keep_accounts``: user names whose record this server's copy wins in the merge
        (``core.records.merge_on_configure``)."""
        if self.state.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if self.state.ha == HAState.CONFIGURED:
            raise conflict("HA is already configured")
        # A second Configure (a double click) while the first is still checking or merging
        # would merge and trim the log twice. Taken without a pause: no await in between.
        if self._configure_lock.locked():
            raise conflict("HA configuration is already running")
        async with self._configure_lock:
            await self._configure_checked(on_done, frozenset(keep_accounts))

    async def _configure_checked(self, on_done: Callable[[], Awaitable[None]], keep_accounts: frozenset[str]) -> None:
        if self.state.role == Role.TRANSITIONING:
            raise conflict("this server is still reconfiguring; wait and try again")
        mine, theirs = self.own_info(), await self.partner_info()
        if mine["server"] != ServerDesignation.PRIMARY.value:
            raise conflict("configure HA on the primary server (IPICS Base server + Policy Engine Base "
                           "licenses); this server is the secondary. For this server to become the primary "
                           "and the original primary the secondary, new licenses are required: the secondary "
                           "needs a High Availability license")
        if theirs["server"] != ServerDesignation.SECONDARY.value:
            raise conflict("the partner is not a secondary server: the secondary role needs a High "
                           "Availability license (install only that license there); a server that changes "
                           "to the secondary role needs new HA licenses")
        missing = [name for name, info in (("this server", mine), ("the partner", theirs))
                   if not info["ntp_servers"]]
        if missing:
            raise conflict(f"HA configuration failed: NTP is not configured on {' and '.join(missing)} "
                           "(ntpsetup -s enable <ntp-server> <backup-ntp-server>)")
        try:
            check_supported_pair(mine["software_version"], theirs["software_version"])
        except ConfigurationError as exc:
            raise conflict(str(exc)) from None

        # Merge existing data from both servers: per record the newest timestamp wins.
        # No write may land between the snapshot and the merge's replace: refuse them.
        self.state.configuring = True
        try:
            await self._configure_merged(on_done, keep_accounts)
        finally:
            self.state.configuring = False

    async def _configure_merged(self, on_done: Callable[[], Awaitable[None]], keep_accounts: frozenset[str]) -> None:
        try:
            reply = await self.peer.call("GET", "/peer/snapshot", timeout_s=60)
        except Unreachable as exc:
            raise ApiError(502, "partner_unreachable",
                           f"the partner does not answer on the peer link: {self.peer.error or exc}") from None
        if not reply.ok:
            raise ApiError(502, "partner_refused", "the partner did not send its data for the merge")
        local, _ = await self.store.snapshot()
        merged = await asyncio.to_thread(_merge, local, reply.body["records"], keep_accounts, self.clock.now(),
                                         ServerDesignation.PRIMARY.value)
        await self.store.replace_all(merged.values())
        files_from_partner = [r for r in merged.values()
                              if r.table == "files" and r.value and not self.files.exists(r.key)]
        for r in files_from_partner:
            await self.file_replication.copy_from_partner(r.key)

        # Configured here before the partner hears of it: its first heartbeat must find
        # this server configured, or it would think HA was unconfigured meanwhile.
        self.state.ha = HAState.CONFIGURED
        self.state.serving_alone = False
        try:
            reply = await self._control({"command": "configure", "settings": self.state.settings.as_dict()})
        except ApiError:
            self.state.ha = HAState.TRUSTED
            raise
        if not reply.ok:
            self.state.ha = HAState.TRUSTED
            raise conflict(f"the partner refused the configuration: {partner_message(reply.body)}")
        await self.store.set_local("ha", self.state.ha.value)
        await self.store.set_local("serving_alone", False)
        await self.store.set_local("standalone", False)
        await self.store.trim_log(10**18)
        self.state.acked_seq = 0
        if self.state.role != Role.ACTIVE:
            self.roles.set_role(Role.ACTIVE, "HA configured: the primary server is active")
        log.warning("HA configured: heartbeat port %d, interval %d s, %d missed heartbeats",
                    self.state.settings.port, self.state.settings.interval_s, self.state.settings.missed_count)
        self.state.kick()
        await on_done()

    async def _control(self, message: dict[str, Any]):
        try:
            return await self.peer.call("POST", "/peer/control", message, timeout_s=30)
        except Unreachable as exc:
            raise ApiError(502, "partner_unreachable",
                           f"the partner does not answer on the peer link: {self.peer.error or exc}") from None

    async def unconfigure(self) -> None:
        """HA Configuration, Unconfigure: both return to standalone after reconfiguring."""
        if self.state.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured")
        if self.state.role != Role.ACTIVE:
            raise conflict("unconfigure HA from the active server")
        try:
            await self.peer.call("POST", "/peer/control", {"command": "unconfigure"}, timeout_s=10)
        except Unreachable:
            log.warning("partner did not answer the unconfigure; it will be standalone when it returns")
        await self.apply_unconfigure()

    async def apply_unconfigure(self) -> None:
        self.state.ha = HAState.TRUSTED if self.state.partner else HAState.UNCONFIGURED
        await self.store.set_local("ha", self.state.ha.value)
        # Standalone from now on, as far as a reboot is concerned: powered off during the
        # reconfiguration, the server comes back standalone, not active by its licenses
        # (seen in the fault campaign: an active primary with HA unconfigured beside a
        # secondary serving alone, a state no recovery step knew).
        await self.state.set_standalone(True)
        await self.store.trim_log(10**18)
        self.roles.begin_transition(Role.STANDALONE, roles.RECONFIGURATION_PERIOD_S, "HA unconfigured: reconfiguring")

    async def failover_now(self) -> None:
        """Performing a Manual Failover: only configured, and only with the standby Ready."""
        if self.state.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured: complete Configuring Cisco IPICS Servers for HA first")
        if self.state.role != Role.ACTIVE:
            raise conflict("Failover Now is done on the active server")
        if self.state.standby_server_status != StandbyServerStatus.READY:
            raise conflict("the Standby Server Status is Not Ready: a manual failover needs it Ready")
        # Stop taking writes, ship what is left, then hand over.
        self.roles.set_role(Role.STANDBY, "manual failover: handing the active role to the partner")
        self.state.synchronized = True
        try:
            await self.replication.drain_log()
            reply = await self.peer.call("POST", "/peer/control", {"command": "takeover", "kind": "manual",
                                                                  "reason": "Failover Now"})
        except Unreachable as exc:
            self._failover_not_done()
            raise ApiError(502, "partner_unreachable", f"the standby does not answer ({self.peer.error or exc}): "
                                                       "Failover Now was not done; this server stays active") from None
        if not reply.ok:
            self._failover_not_done()
            raise conflict(f"the standby refused to take over: {partner_message(reply.body)}; this server stays active")
        self.state.synchronized = False
        self.roles.handed_over()

    def _failover_not_done(self) -> None:
        self.state.synchronized = False
        self.roles.set_role(Role.ACTIVE, "manual failover not done: the standby did not take over; staying active")
        self.state.kick()

    async def go_standby(self) -> str:
        """Method 1, step 2: the Go Standby button, enabled only in a split brain."""
        if not self.state.in_split_brain:
            raise conflict("Go Standby is enabled only in a split brain: both servers active and "
                           "communicating again")
        # Standby first, so no new login lands between the logout and the role change.
        self.state.set_awaiting_repair(True)
        self.roles.set_role(Role.STANDBY, "Go Standby: split brain remediation, returning to the standby role")
        await self._logout(False)
        self.state.message("warning", "Go Standby: every user session on this server was logged out; reconcile the "
                                "data with ipicsedr_control_repl REPAIR (as informix) and ipicsrsync run "
                                "ipicsadmin (on the primary)")
        self.state.kick()
        if self.state.designation() == ServerDesignation.PRIMARY:
            return ("this server is standby now; Cisco recommends keeping the primary active and "
                    "returning the secondary to standby instead")
        return "this server is standby now; logins here are redirected to the active server"

    # --------------------------------------------------------- service ipics stop|start
    def stop_ipics(self) -> None:
        """``service ipics stop``: this server stops serving and heartbeating; to the
        partner it looks down."""
        if self.state.suspended:
            return
        self.state.suspended = True
        self.state.partner_view = None
        log.warning("IPICS services stopped: no heartbeats, no replication, no clients")

    def start_ipics(self) -> None:
        """``service ipics start``: IPICS starts as after a reboot: in a configured pair it
        joins as the standby (no failback) and the heartbeats decide from there."""
        if not self.state.suspended:
            return
        self.state.suspended = False
        self.state.missed_now = 0
        if self.state.ha == HAState.CONFIGURED and self.state.role != Role.STANDBY:
            if self.state.transition and self.state.transition.task:
                self.state.transition.task.cancel()
            self.state.transition = None
            self.roles.set_role(Role.STANDBY, "IPICS services started: joining the pair as standby")
        self.state.synchronized = False
        log.warning("IPICS services started")
        self.state.kick()

    # ------------------------------------------------------------------- peer handlers
    def _peer_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/peer/heartbeat", self._peer_heartbeat),
            web.post("/peer/replicate", self._peer_replicate),
            web.get("/peer/snapshot", self._peer_snapshot),
            web.post("/peer/control", self._peer_control),
            web.get("/peer/info", self._peer_info),
            web.get("/peer/files/{file_id}", self._peer_file),
            *self.repair.peer_routes(),
        ]

    async def _peer_heartbeat(self, request: web.Request) -> web.Response:
        if self.state.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        if not self.heartbeats.hear(await request.json()):
            return web.json_response({"error": "clock_skew", "skew_s": self.heartbeats.clock_skew_s}, status=409)
        return web.json_response(self.heartbeats.payload())

    def _follow_partner_unconfigure(self, view: dict[str, Any]) -> None:
        """A partner that unconfigured HA while this server was away (by hand, or at 90 %
        of the transaction log) is followed when it is heard again.  A standby goes
        through the reconfiguration; an active one (both were active: a split brain)
        keeps serving on its own and says the data must be reconciled."""
        if not (self.state.ha == HAState.CONFIGURED
                and view.get("ha") in (HAState.TRUSTED.value, HAState.UNCONFIGURED.value)
                and view.get("role") in (Role.STANDALONE.value, Role.TRANSITIONING.value)):
            return
        if self.state.role == Role.STANDBY:
            log.warning("the partner unconfigured HA while this server was away: unconfiguring here too")
            self.state.ha = HAState.TRUSTED  # at once, so the next heartbeat does not start another
            self.state.spawn(self.apply_unconfigure())
        elif self.state.role == Role.ACTIVE:
            self.state.ha = HAState.TRUSTED
            self.state.message("error", "the partner unconfigured HA while both servers were active (split brain): "
                                  "both now serve on their own; reconcile the data and configure HA again "
                                  "(Method 2)")
            self.state.spawn(self.txlog.auto_unconfigure("the partner unconfigured HA during a split brain"))

    async def _peer_replicate(self, request: web.Request) -> web.Response:
        if self.state.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        refusal = await self.replication.apply(await request.json())
        if refusal is not None:
            return web.json_response({"error": refusal, "applied_seq": self.replication.applied_seq}, status=409)
        return web.json_response({"applied_seq": self.replication.applied_seq})

    async def _peer_snapshot(self, request: web.Request) -> web.Response:
        if self.state.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        return web.Response(text=await self.replication.snapshot(), content_type="application/json")

    async def _peer_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.own_info())

    async def _peer_file(self, request: web.Request) -> web.Response:
        if self.state.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        found = await self.file_replication.for_partner(request.match_info["file_id"])
        if found is None:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(found)

    async def _peer_control(self, request: web.Request) -> web.Response:
        if self.state.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        body = await request.json()
        command = body.get("command")
        if command == "configure":
            self.state.settings = HeartbeatSettings(**body["settings"])
            await self.store.set_local("heartbeat", self.state.settings.as_dict())
            self.state.ha = HAState.CONFIGURED
            self.state.serving_alone = False
            await self.store.set_local("serving_alone", False)
            await self.store.set_local("ha", self.state.ha.value)
            await self.state.set_standalone(False)
            if self.state.transition:
                self.state.transition.task.cancel()
                self.state.transition = None
                self.state.role = Role.STANDBY
            if self.state.role != Role.STANDBY:
                self.roles.set_role(Role.STANDBY, "HA configured: the secondary server is standby")
            self.state.synchronized = False
            self.state.missed_now = 0
            await self._logout(True)
            self.state.kick()
            return web.json_response({"ok": True})
        if command == "settings":
            settings = HeartbeatSettings(**body["settings"])
            if settings.port != self.state.settings.port and (why := self.peer.cannot_listen_on(settings.port)):
                return web.json_response({"error": "port_in_use", "message": why}, status=409)
            # After this answer: a new port restarts the listener this call came in on.
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.apply_settings(settings)))
            return web.json_response({"ok": True})
        if command == "unconfigure":
            if self.state.ha == HAState.CONFIGURED:
                await self.apply_unconfigure()
            return web.json_response({"ok": True})
        if command in ("repair", "repaired"):
            return await self.repair.on_control(body)
        if command == "takeover":
            if self.state.role != Role.STANDBY:
                return web.json_response({"error": "not_standby",
                                          "message": f"this server is {self.state.role.value}"}, status=409)
            ranges = {"manual": roles.TAKEOVER_MANUAL_FAILOVER_S,
                      "critical-process": roles.TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S}
            self.roles.begin_transition(Role.ACTIVE, ranges.get(body.get("kind"), roles.TAKEOVER_MANUAL_FAILOVER_S),
                                  f"partner asked this server to assume the active role: {body.get('reason')}")
            return web.json_response({"ok": True})
        return web.json_response({"error": "unknown_command"}, status=400)


def _merge(local: list[Record], theirs_json: list[dict], keep_accounts: frozenset[str], now: float,
           origin: str) -> dict:
    return merge_on_configure(local, (Record.from_json(r) for r in theirs_json),
                              keep_local=[("users", name) for name in keep_accounts], now=now, origin=origin)

