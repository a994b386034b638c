"""The HA engine of one server: trust, HA configuration, heartbeats, takeover, replication.

One reconcile tick observes, asks ``core.roles.decide`` and acts, logging the sentence
that says why.  Heartbeats, the replication shipper (active) and the file fetcher
(standby) are background tasks owned by the app's cleanup context.

Chapter sections: Configuring Cisco IPICS Servers for HA; Unconfiguring HA; Performing
a Manual Failover; Server Failover Due to Lost Heartbeat Message / Local Critical
Process Failure; HA Affect on the IDC Connections (no failback).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from .adapters.certs import CertificateError, ServerIdentity, inspect
from .adapters.files import FileStore
from .adapters.httpclient import ApiClient, Unreachable, normalize_address
from .adapters.peer import PeerLink
from .adapters.store import Store
from .clock import Clock
from .config import ServerConfig
from .core import roles
from .core.ha_config import ConfigurationError, HeartbeatSettings, check_supported_pair
from .core.records import Record, describe, discarded_on_adopt, merge_newest
from .core.roles import Action, Decision, HAState, Observations, Role, ServerDesignation, StandbyServerStatus
from .errors import ApiError, conflict
from .events import EventBus
from .services import Services

log = logging.getLogger("ipics.ha")

SHIP_BATCH = 500
DISCARD_LOG_LIMIT = 1000


@dataclass
class Partner:
    address: str  # the partner's client API, http://host:port
    host: str
    cert_pem: str

    def to_json(self) -> dict:
        return {"address": self.address, "host": self.host, "cert_pem": self.cert_pem}


@dataclass
class Transition:
    target: Role
    ends_at: float  # emulated monotonic seconds
    reason: str
    task: asyncio.Task | None = None


class HAEngine:
    """Signals (callbacks): ``on_role_change(role)``; ``logout_admins()``; ``logout_all()``."""

    def __init__(self, *, cfg: ServerConfig, clock: Clock, store: Store, files: FileStore,
                 identity: ServerIdentity, services: Services, events: EventBus,
                 designation: Callable[[], ServerDesignation | None],
                 verify_password: Callable[[str, str], Awaitable[bool]],
                 logout: Callable[[bool], Awaitable[None]], rng: random.Random | None = None):
        self.cfg = cfg
        self.clock = clock
        self.store = store
        self.files = files
        self.identity = identity
        self.services = services
        self.events = events
        self._designation = designation
        self._verify_password = verify_password
        self._logout = logout
        self.rng = rng or random.Random()
        self.address = f"http://{_host_for_url(cfg.host)}:{cfg.port}"  # set once bound

        self.ha = HAState(store.get_local_sync("ha", HAState.UNCONFIGURED.value))
        partner = store.get_local_sync("partner")
        self.partner = Partner(**partner) if partner else None
        hb = store.get_local_sync("heartbeat") or {"port": cfg.heartbeat_port}
        self.settings = HeartbeatSettings(**hb)
        # Node-local state is read from the store once, here; afterwards the event loop
        # keeps it in memory and only writes it through, so a heartbeat never waits for
        # the store thread (busy with a snapshot, say).
        self.standalone: bool = store.get_local_sync("standalone", False)
        applied = store.get_local_sync("applied") or ["", 0]
        self.applied: tuple[str, int] = (applied[0], int(applied[1]))
        self.ntp_servers: list[str] = store.get_local_sync("ntp", [])
        self.synchronized = False
        self.role = self._boot_role()
        self.missed_now = 0
        self.partner_view: dict[str, Any] | None = None  # the partner's last heartbeat
        self.transition: Transition | None = None
        self.last_decision = Decision(Action.NONE, "starting")
        self.acked_seq = 0
        self.peer = PeerLink(identity, cfg.host, self._peer_routes())
        self._ship_wakeup = asyncio.Event()
        self._kicked = asyncio.Event()
        self._files_wakeup = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self._replication_lag_ms: list[float] = []

    # ----------------------------------------------------------------------- roles
    def _boot_role(self) -> Role:
        if self.ha == HAState.CONFIGURED:
            # A server that comes back never takes the active role straight away: it
            # joins as a standby, adopts the active's data, or takes over only after
            # the missed-heartbeat window (no failback).
            return Role.STANDBY
        if self.standalone:
            return Role.STANDALONE
        return self.initial_role_by_license()

    def initial_role_by_license(self) -> Role:
        d = self._designation()
        if d == ServerDesignation.PRIMARY:
            return Role.ACTIVE
        if d == ServerDesignation.SECONDARY:
            return Role.STANDBY
        return Role.STANDALONE

    def on_licenses_changed(self) -> None:
        if self.ha == HAState.UNCONFIGURED and not self.standalone:
            self._set_role(self.initial_role_by_license(), "licenses installed")

    def _set_role(self, role: Role, reason: str) -> None:
        if role == self.role:
            return
        roles.check_transition(self.role, role)
        log.warning("role %s -> %s: %s", self.role.value, role.value, reason)
        self.role = role
        if role != Role.STANDBY:
            self.synchronized = False
        self.events.publish({"type": "role", "role": role.value, "reason": reason,
                             "active": self.active_address()})
        self._ship_wakeup.set()
        self._files_wakeup.set()
        self._kicked.set()

    def begin_transition(self, target: Role, duration_range: tuple[float, float], reason: str) -> None:
        duration = self.rng.uniform(*duration_range)
        if self.transition and self.transition.task:
            self.transition.task.cancel()
        self._set_role(Role.TRANSITIONING, reason)
        transition = Transition(target, self.clock.monotonic() + duration, reason)
        self.transition = transition
        log.warning("transitioning to %s for %.0f emulated seconds", target.value, duration)

        async def finish():
            await self.clock.sleep(duration)
            await self.tick()

        transition.task = asyncio.get_running_loop().create_task(finish())

    async def _finish_transition(self) -> None:
        t, self.transition = self.transition, None
        if t is None:
            return
        if t.target == Role.STANDALONE:
            await self.set_standalone(True)
        elif t.target == Role.ACTIVE:
            self.acked_seq = 0
        self._set_role(t.target, f"transition finished: {t.reason}")

    async def set_standalone(self, value: bool) -> None:
        self.standalone = value
        await self.store.set_local("standalone", value)

    async def set_ntp(self, servers: list[str]) -> None:
        """The emulated ``ntpsetup -s enable``."""
        self.ntp_servers = list(servers)
        await self.store.set_local("ntp", self.ntp_servers)

    async def _adopt(self, records, applied: tuple[str, int]) -> None:
        await self.store.replace_all(records, applied=applied)
        self.applied = applied

    def active_address(self) -> str | None:
        if self.role in (Role.ACTIVE, Role.STANDALONE):
            return self.address
        if (self.partner and self.partner_view and self.missed_now == 0
                and self.partner_view.get("role") == Role.ACTIVE.value):
            return self.partner.address
        return None

    @property
    def accepts_writes(self) -> bool:
        # A standalone secondary holds only the HA license: it cannot serve on its own.
        return self.role == Role.ACTIVE or (
            self.role == Role.STANDALONE and self._designation() == ServerDesignation.PRIMARY)

    def refuse_unless_active(self) -> None:
        if self.accepts_writes:
            return
        active = self.active_address()
        if self.role == Role.TRANSITIONING:
            raise ApiError(503, "transitioning", "this server is transitioning; try again shortly",
                           role=self.role.value, active=active)
        where = f"; the active server is {active}" if active else "; no active server is known"
        raise ApiError(409, "not_active", f"this server is the {self.role.value} server{where}",
                       role=self.role.value, active=active)

    # ---------------------------------------------------------------------- status
    @property
    def partner_ready(self) -> bool:
        v = self.partner_view
        return bool(self.missed_now == 0 and v and v.get("role") == Role.STANDBY.value and v.get("ready"))

    @property
    def standby_server_status(self) -> StandbyServerStatus | None:
        if self.ha == HAState.UNCONFIGURED:
            return None
        if self.ha == HAState.TRUSTED:
            return StandbyServerStatus.NOT_READY
        if self.role == Role.STANDBY:
            ready = self.synchronized and self.missed_now == 0
        else:
            ready = self.partner_ready
        return StandbyServerStatus.READY if ready else StandbyServerStatus.NOT_READY

    async def status(self) -> dict[str, Any]:
        held, last_seq = await self.store.log_stats()
        d = self._designation()
        return {
            "server": d.value if d else None,
            "role": self.role.value,
            "ha": self.ha.value,
            "standby_server_status": s.value if (s := self.standby_server_status) else None,
            "split_brain": bool(self.role == Role.ACTIVE and self.partner_view
                                and self.partner_view.get("role") == Role.ACTIVE.value and self.missed_now == 0),
            "partner": self.partner.address if self.partner else None,
            "partner_role": self.partner_view.get("role") if self.partner_view and self.missed_now == 0 else None,
            "address": self.address,
            "active": self.active_address(),
            "heartbeat": {**self.settings.as_dict(), "missed_now": self.missed_now},
            "replication": {
                "pending": held if self.role == Role.ACTIVE else 0,
                "transaction_log_used_percent": round(100.0 * held / self.cfg.transaction_log_capacity, 2)
                if self.role == Role.ACTIVE else 0.0,
                "transaction_log_capacity": self.cfg.transaction_log_capacity,
                "last_seq": last_seq,
                "acked_seq": self.acked_seq,
                "applied": list(self.applied) if self.role == Role.STANDBY else None,
                "synchronized": self.synchronized if self.role == Role.STANDBY else None,
            },
            "transition": None if self.transition is None else {
                "to": self.transition.target.value,
                "remaining_s": round(max(0.0, self.transition.ends_at - self.clock.monotonic()), 1),
                "reason": self.transition.reason,
            },
            "services": dict(self.services.state),
            "peer_link": {"error": self.peer.error, "cut_inbound": self.peer.cut_inbound,
                          "cut_outbound": self.peer.cut_outbound},
            "decision": self.last_decision.reason,
            "time": self.clock.now(),
            "time_scale": self.clock.time_scale,
            "software_version": self.cfg.software_version,
        }

    # ------------------------------------------------------------------------ tick
    async def tick(self) -> Decision:
        async with self._tick_lock:
            t = self.transition
            obs = Observations(
                server=self._designation(),
                role=self.role,
                ha=self.ha,
                missed_now=self.missed_now,
                missed_count=self.settings.missed_count,
                partner_role=Role(self.partner_view["role"]) if self.partner_view and self.missed_now == 0 else None,
                synchronized=self.synchronized,
                transition_due=bool(t and self.clock.monotonic() >= t.ends_at - 1e-6),
                failed_critical_service=self.services.failed_critical,
                partner_ready=self.partner_ready,
            )
            decision = roles.decide(obs)
            if decision.reason != self.last_decision.reason:
                log.info("%s", decision.reason)
            self.last_decision = decision
            if decision.action == Action.FINISH_TRANSITION:
                await self._finish_transition()
            elif decision.action == Action.BEGIN_TAKEOVER:
                self.begin_transition(Role.ACTIVE, roles.TAKEOVER_AFTER_MISSED_HEARTBEATS_S, decision.reason)
            elif decision.action == Action.HAND_OVER:
                await self._hand_over(decision.reason, "critical-process")
        if decision.action == Action.REQUEST_SYNC:
            asyncio.get_running_loop().create_task(self.synchronize_from_active())
        return decision

    async def _hand_over(self, reason: str, kind: str) -> None:
        """Tell the standby to assume the active role, and step down to standby."""
        reply = await self.peer.call("POST", "/peer/control", {"command": "takeover", "kind": kind,
                                                              "reason": reason})
        if not reply.ok:
            raise conflict(f"the standby server refused to take over: {_message(reply.body)}")
        self._set_role(Role.STANDBY, reason)

    # ------------------------------------------------------------------- heartbeats
    def heartbeat_payload(self) -> dict[str, Any]:
        d = self._designation()
        return {
            "server": d.value if d else None,
            "role": self.role.value,
            "ha": self.ha.value,
            "ready": self.role == Role.STANDBY and self.synchronized,
            "time": self.clock.now(),
            "address": self.address,
            "log_id": self.store.log_id,
            "applied": list(self.applied),
            "software_version": self.cfg.software_version,
        }

    def kick(self) -> None:
        """Exchange a heartbeat now (after a role or configuration change) so the partner
        learns at once; a kicked heartbeat that fails is not counted as missed."""
        self._kicked.set()

    async def heartbeat_loop(self) -> None:
        next_due = self.clock.monotonic()
        while True:
            timeout = self.clock.real_seconds(max(0.0, next_due - self.clock.monotonic()))
            try:
                await asyncio.wait_for(self._kicked.wait(), timeout)
                scheduled = False
            except asyncio.TimeoutError:
                scheduled = True
            self._kicked.clear()
            if scheduled:
                next_due += self.settings.interval_s
                # After a long stall, do not fire a burst of catch-up heartbeats.
                next_due = max(next_due, self.clock.monotonic())
            if self.ha == HAState.CONFIGURED and self.peer.configured:
                await self.exchange_heartbeat(count_miss=scheduled)
                await self.tick()

    async def exchange_heartbeat(self, count_miss: bool = True) -> bool:
        timeout = max(0.2, min(5.0, self.clock.real_seconds(self.settings.interval_s) * 0.8))
        try:
            reply = await self.peer.call("POST", "/peer/heartbeat", self.heartbeat_payload(), timeout_s=timeout)
            ok = reply.ok
        except Unreachable:
            ok = False
        if ok:
            if self.missed_now:
                log.warning("heartbeat from partner again after %d missed", self.missed_now)
            self.missed_now = 0
            self._observe_partner(reply.body)
        elif count_miss:
            self.missed_now += 1
            if self.missed_now == 1:
                log.warning("missed heartbeat from partner (1 of %d)", self.settings.missed_count)
        return ok

    def _observe_partner(self, view: dict[str, Any]) -> None:
        self.partner_view = view
        applied = view.get("applied")
        if self.role == Role.ACTIVE and applied and applied[0] == self.store.log_id:
            self.acked_seq = max(self.acked_seq, int(applied[1]))
        self._ship_wakeup.set()

    # ------------------------------------------------------------------ replication
    def on_local_write(self) -> None:
        self._ship_wakeup.set()

    async def _run_on_wakeup(self, wakeup: asyncio.Event, work, what: str) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            try:
                await work()
            except Unreachable:
                pass  # the next heartbeat wakes us again
            except Exception:
                log.exception("%s failed; will retry", what)
                await self.clock.sleep(1)

    async def shipper_loop(self) -> None:
        """Active: ship transaction-log entries to the standby in order, trim what it acked."""
        await self._run_on_wakeup(self._ship_wakeup, self._ship_pending, "replication shipper")

    async def _ship(self, entries: list[tuple[int, Record]]):
        reply = await self.peer.call("POST", "/peer/replicate", {
            "log_id": self.store.log_id,
            "entries": [{"seq": seq, "record": r.to_json()} for seq, r in entries]})
        if reply.ok:
            self.acked_seq = max(self.acked_seq, int(reply.body["applied_seq"]))
            await self.store.trim_log(self.acked_seq)
        return reply

    async def _ship_pending(self) -> None:
        while (self.role == Role.ACTIVE and self.ha == HAState.CONFIGURED and self.partner_view
               and self.partner_view.get("role") == Role.STANDBY.value and self.partner_view.get("ready")
               and self.missed_now == 0):
            entries = await self.store.log_after(self.acked_seq, SHIP_BATCH)
            if not entries:
                return
            reply = await self._ship(entries)
            if reply.status == 409:
                self.partner_view = {**self.partner_view, "ready": False}
                return
            if not reply.ok:
                raise Unreachable(f"replicate answered {reply.status}")

    async def synchronize_from_active(self) -> None:
        """Standby: adopt the active's data; log what this server had that it never shipped."""
        if self._sync_lock.locked():
            return
        async with self._sync_lock:
            if self.role != Role.STANDBY or self.synchronized:
                return
            try:
                reply = await self.peer.call("GET", "/peer/snapshot", timeout_s=60)
            except Unreachable:
                return
            if not reply.ok:
                return
            local, _ = await self.store.snapshot()
            # Parsing and comparing whole data sets is CPU work: off the loop, so the
            # heartbeats keep their beat.
            records, lost = await asyncio.to_thread(_adoption, reply.body["records"], local)
            await self._adopt(records, (reply.body["log_id"], int(reply.body["seq"])))
            if lost:
                await self._log_discarded(lost)
            if self.role == Role.STANDBY:
                self.synchronized = True
                log.warning("synchronized from the active server: %d records, %d discarded",
                            len(records), len(lost))
            self._files_wakeup.set()

    async def _log_discarded(self, lost: list[Record]) -> None:
        when = self.clock.now()
        entries = await self.store.get_local("discarded", [])
        for r in lost:
            log.warning("discarded %s: accepted here but never reached the partner before the failover",
                        describe(r))
            entries.append({"at": when, "table": r.table, "key": r.key, "description": describe(r),
                            "updated_at": r.updated_at})
        await self.store.set_local("discarded", entries[-DISCARD_LOG_LIMIT:])

    async def file_fetch_loop(self) -> None:
        """Standby: fetch uploaded files' content, after the records, at a lower priority."""
        await self._run_on_wakeup(self._files_wakeup, self._fetch_missing_files, "file replication")

    async def _fetch_missing_files(self) -> None:
        while self.role == Role.STANDBY and self.synchronized:
            missing = [r for r in await self.store.table("files") if not self.files.exists(r.key)]
            if not missing:
                return
            r = min(missing, key=lambda r: r.updated_at)
            wait = r.updated_at + self.cfg.file_replication_delay_s - self.clock.now()
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            reply = await self.peer.call("GET", f"/peer/files/{r.key}", timeout_s=60)
            if reply.status == 404:
                # The active lost it too (it arrived there just before a failover).
                await self.clock.sleep(self.settings.interval_s)
                continue
            if not reply.ok:
                return
            await self.files.write(r.key, base64.b64decode(reply.body["content"]))

    def on_replicated_files(self) -> None:
        self._files_wakeup.set()

    # ------------------------------------------------------------------ procedures
    async def establish_trust(self, address: str, username: str, password: str) -> None:
        """HA Security tab, Save: exchange certificates with the partner (primary side)."""
        if self.ha != HAState.UNCONFIGURED:
            raise conflict("trust with a partner already exists; delete it first")
        try:
            address = normalize_address(address)
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        if address == self.address:
            raise ApiError(400, "bad_request", "the partner address is this server's own address")
        async with ApiClient(address, timeout_s=10) as client:
            try:
                reply = await client.post("/api/v1/ha/trust/exchange", {
                    "username": username, "password": password, "certificate": self.identity.cert_pem,
                    "address": self.address, "heartbeat_port": self.settings.port,
                })
            except Unreachable:
                raise ApiError(502, "partner_unreachable", f"the partner server at {address} does not answer") from None
        if reply.status == 401:
            raise ApiError(401, "partner_password_wrong",
                           "the partner refused the ipicsadmin user name or password; nothing was stored")
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused trust: {_message(reply.body)}")
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

    async def accept_trust(self, body: dict[str, Any]) -> dict[str, Any]:
        """Partner side of the exchange: check the ipicsadmin password, pin, answer our cert."""
        if body["username"] != "ipicsadmin" or not await self._verify_password("ipicsadmin", body["password"]):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if self.ha != HAState.UNCONFIGURED:
            raise conflict("this server already trusts a partner; delete that trust first")
        try:
            info = inspect(body["certificate"])
            address = normalize_address(body["address"])
        except (CertificateError, ValueError) as exc:
            raise ApiError(400, "bad_request", f"invalid trust request: {exc}") from None
        if info.expired():
            raise ApiError(400, "certificate_expired", f"your certificate expired on {info.not_after:%Y-%m-%d}")
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        if body.get("heartbeat_port"):
            self.settings = HeartbeatSettings(body["heartbeat_port"], self.settings.interval_s,
                                              self.settings.missed_count)
            await self.store.set_local("heartbeat", self.settings.as_dict())
        await self._store_trust(Partner(address=address, host=host, cert_pem=body["certificate"]))
        return {"certificate": self.identity.cert_pem}

    async def _store_trust(self, partner: Partner) -> None:
        self.partner = partner
        self.ha = HAState.TRUSTED
        await self.store.set_local("partner", partner.to_json())
        await self.store.set_local("ha", self.ha.value)
        await self.peer.start(partner.cert_pem, partner.host, self.settings.port)
        log.warning("HA partner %s trusted (certificate %s...)", partner.address,
                    inspect(partner.cert_pem).fingerprint[:16])

    async def delete_trust(self, password: str) -> None:
        """HA Security, Delete: needs the partner's password, removes the pins on both."""
        if self.ha == HAState.CONFIGURED or self.role == Role.TRANSITIONING:
            raise conflict("unconfigure HA and wait for the reconfiguration before deleting the trust")
        if self.partner is None:
            raise conflict("there is no trust to delete")
        async with ApiClient(self.partner.address, timeout_s=10) as client:
            try:
                reply = await client.post("/api/v1/ha/trust/remove", {
                    "username": "ipicsadmin", "password": password, "certificate": self.identity.cert_pem})
            except Unreachable:
                raise ApiError(502, "partner_unreachable",
                               "the partner does not answer: the trust certificates cannot be removed there") from None
        if reply.status == 401:
            raise ApiError(401, "partner_password_wrong", "the partner refused the password; nothing was deleted")
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {_message(reply.body)}")
        await self.forget_trust()

    async def remove_trust(self, body: dict[str, Any]) -> None:
        if body["username"] != "ipicsadmin" or not await self._verify_password("ipicsadmin", body["password"]):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if self.partner is None or body["certificate"].strip() != self.partner.cert_pem.strip():
            raise ApiError(403, "forbidden", "only the trusted partner may delete the trust")
        if self.ha == HAState.CONFIGURED:
            raise conflict("HA is configured here; unconfigure it first")
        await self.forget_trust()

    async def forget_trust(self) -> None:
        await self.peer.stop()
        self.partner = None
        self.partner_view = None
        self.ha = HAState.UNCONFIGURED
        await self.store.set_local("partner", None)
        await self.store.set_local("ha", self.ha.value)
        log.warning("HA trust deleted; certificates removed")

    async def update_settings(self, settings: HeartbeatSettings) -> None:
        """HA Configuration tab, Update."""
        if self.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if self.ha == HAState.CONFIGURED:
            reply = await self._control({"command": "settings", "settings": settings.as_dict()})
            if not reply.ok:
                raise conflict(f"the partner refused the settings: {_message(reply.body)}")
        await self.apply_settings(settings)

    async def apply_settings(self, settings: HeartbeatSettings) -> None:
        port_changed = settings.port != self.settings.port
        self.settings = settings
        await self.store.set_local("heartbeat", settings.as_dict())
        if port_changed and self.partner:
            await self.peer.start(self.partner.cert_pem, self.partner.host, settings.port)

    async def partner_info(self) -> dict[str, Any]:
        try:
            reply = await self.peer.call("GET", "/peer/info")
        except Unreachable as exc:
            raise ApiError(502, "partner_unreachable",
                           f"the partner does not answer on the peer link: {self.peer.error or exc}") from None
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {_message(reply.body)}")
        return reply.body

    def own_info(self) -> dict[str, Any]:
        d = self._designation()
        return {"server": d.value if d else None, "ntp_servers": list(self.ntp_servers),
                "software_version": self.cfg.software_version, "role": self.role.value, "ha": self.ha.value}

    async def configure(self, on_done: Callable[[], Awaitable[None]]) -> None:
        """HA Configuration, Configure: merge both servers' data, start HA (primary side)."""
        if self.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if self.ha == HAState.CONFIGURED:
            raise conflict("HA is already configured")
        if self.role == Role.TRANSITIONING:
            raise conflict("this server is still reconfiguring; wait and try again")
        mine, theirs = self.own_info(), await self.partner_info()
        if mine["server"] != ServerDesignation.PRIMARY.value:
            raise conflict("configure HA on the primary server (IPICS Base server + Policy Engine Base licenses)")
        if theirs["server"] != ServerDesignation.SECONDARY.value:
            raise conflict("the partner is not a secondary server: install only the High Availability "
                           "license there")
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
        reply = await self.peer.call("GET", "/peer/snapshot", timeout_s=60)
        if not reply.ok:
            raise ApiError(502, "partner_refused", "the partner did not send its data for the merge")
        local, _ = await self.store.snapshot()
        merged = await asyncio.to_thread(_merge, local, reply.body["records"])
        await self.store.replace_all(merged.values())
        files_from_partner = [r for r in merged.values()
                              if r.table == "files" and r.value and not self.files.exists(r.key)]
        for r in files_from_partner:
            await self._copy_partner_file(r.key)

        reply = await self._control({"command": "configure", "settings": self.settings.as_dict()})
        if not reply.ok:
            raise conflict(f"the partner refused the configuration: {_message(reply.body)}")
        self.ha = HAState.CONFIGURED
        await self.store.set_local("ha", self.ha.value)
        await self.store.set_local("standalone", False)
        await self.store.trim_log(10**18)
        self.acked_seq = 0
        if self.role != Role.ACTIVE:
            self._set_role(Role.ACTIVE, "HA configured: the primary server is active")
        log.warning("HA configured: heartbeat port %d, interval %d s, %d missed heartbeats",
                    self.settings.port, self.settings.interval_s, self.settings.missed_count)
        self.kick()
        await on_done()

    async def _copy_partner_file(self, file_id: str) -> None:
        try:
            reply = await self.peer.call("GET", f"/peer/files/{file_id}", timeout_s=60)
        except Unreachable:
            return
        if reply.ok:
            await self.files.write(file_id, base64.b64decode(reply.body["content"]))

    async def _control(self, message: dict[str, Any]):
        try:
            return await self.peer.call("POST", "/peer/control", message, timeout_s=30)
        except Unreachable as exc:
            raise ApiError(502, "partner_unreachable",
                           f"the partner does not answer on the peer link: {self.peer.error or exc}") from None

    async def unconfigure(self) -> None:
        """HA Configuration, Unconfigure: both return to standalone after reconfiguring."""
        if self.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured")
        if self.role != Role.ACTIVE:
            raise conflict("unconfigure HA from the active server")
        try:
            await self.peer.call("POST", "/peer/control", {"command": "unconfigure"}, timeout_s=10)
        except Unreachable:
            log.warning("partner did not answer the unconfigure; it will be standalone when it returns")
        await self.apply_unconfigure()

    async def apply_unconfigure(self) -> None:
        self.ha = HAState.TRUSTED if self.partner else HAState.UNCONFIGURED
        await self.store.set_local("ha", self.ha.value)
        await self.store.trim_log(10**18)
        self.begin_transition(Role.STANDALONE, roles.RECONFIGURATION_PERIOD_S, "HA unconfigured: reconfiguring")

    async def failover_now(self) -> None:
        """Performing a Manual Failover: only configured, and only with the standby Ready."""
        if self.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured: complete Configuring Cisco IPICS Servers for HA first")
        if self.role != Role.ACTIVE:
            raise conflict("Failover Now is done on the active server")
        if self.standby_server_status != StandbyServerStatus.READY:
            raise conflict("the Standby Server Status is Not Ready: a manual failover needs it Ready")
        # Stop taking writes, ship what is left, then hand over.
        self._set_role(Role.STANDBY, "manual failover: handing the active role to the partner")
        self.synchronized = True
        await self._drain_log()
        reply = await self.peer.call("POST", "/peer/control", {"command": "takeover", "kind": "manual",
                                                              "reason": "Failover Now"})
        if not reply.ok:
            raise conflict(f"the standby refused to take over: {_message(reply.body)}")
        self.synchronized = False

    async def _drain_log(self) -> None:
        # The role is already standby; ship directly what the log still holds.
        while True:
            entries = await self.store.log_after(self.acked_seq, SHIP_BATCH)
            if not entries or not (await self._ship(entries)).ok:
                return

    # ------------------------------------------------------------------- peer handlers
    def _peer_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/peer/heartbeat", self._peer_heartbeat),
            web.post("/peer/replicate", self._peer_replicate),
            web.get("/peer/snapshot", self._peer_snapshot),
            web.post("/peer/control", self._peer_control),
            web.get("/peer/info", self._peer_info),
            web.get("/peer/files/{file_id}", self._peer_file),
        ]

    async def _peer_heartbeat(self, request: web.Request) -> web.Response:
        view = await request.json()
        self.partner_view = view
        return web.json_response(self.heartbeat_payload())

    async def _peer_replicate(self, request: web.Request) -> web.Response:
        body = await request.json()
        applied = self.applied
        if self.role != Role.STANDBY or not self.synchronized:
            return web.json_response({"error": "not_ready", "applied_seq": applied[1]}, status=409)
        entries = body["entries"]
        if body["log_id"] != applied[0] or (entries and entries[0]["seq"] > applied[1] + 1):
            self.synchronized = False
            asyncio.get_running_loop().create_task(self.synchronize_from_active())
            return web.json_response({"error": "need_snapshot", "applied_seq": applied[1]}, status=409)
        fresh = [e for e in entries if e["seq"] > applied[1]]
        if fresh:
            records = [Record.from_json(e["record"]) for e in fresh]
            applied = (body["log_id"], fresh[-1]["seq"])
            await self.store.apply_replicated(records, applied)
            self.applied = applied
            now = self.clock.now()
            self._replication_lag_ms.extend(self.clock.real_seconds(now - r.updated_at) * 1000 for r in records)
            del self._replication_lag_ms[:-10000]
            if any(r.table == "files" for r in records):
                self._files_wakeup.set()
            self.events.publish({"type": "replicated", "count": len(records)})
        return web.json_response({"applied_seq": self.applied[1]})

    async def _peer_snapshot(self, request: web.Request) -> web.Response:
        records, seq = await self.store.snapshot()
        if self.role == Role.ACTIVE:
            self.acked_seq = seq
        body = await asyncio.to_thread(_snapshot_body, self.store.log_id, seq, records)
        return web.Response(text=body, content_type="application/json")

    async def _peer_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.own_info())

    async def _peer_file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        try:
            content = await self.files.read(file_id)
        except (FileNotFoundError, ValueError):
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response({"content": base64.b64encode(content).decode()})

    async def _peer_control(self, request: web.Request) -> web.Response:
        body = await request.json()
        command = body.get("command")
        if command == "configure":
            self.settings = HeartbeatSettings(**body["settings"])
            await self.store.set_local("heartbeat", self.settings.as_dict())
            self.ha = HAState.CONFIGURED
            await self.store.set_local("ha", self.ha.value)
            await self.set_standalone(False)
            if self.transition:
                self.transition.task.cancel()
                self.transition = None
                self.role = Role.STANDBY
            if self.role != Role.STANDBY:
                self._set_role(Role.STANDBY, "HA configured: the secondary server is standby")
            self.synchronized = False
            self.missed_now = 0
            await self._logout(True)
            self.kick()
            return web.json_response({"ok": True})
        if command == "settings":
            settings = HeartbeatSettings(**body["settings"])
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.apply_settings(settings)))
            return web.json_response({"ok": True})
        if command == "unconfigure":
            if self.ha == HAState.CONFIGURED:
                await self.apply_unconfigure()
            return web.json_response({"ok": True})
        if command == "takeover":
            if self.role != Role.STANDBY:
                return web.json_response({"error": "not_standby",
                                          "message": f"this server is {self.role.value}"}, status=409)
            ranges = {"manual": roles.TAKEOVER_MANUAL_FAILOVER_S,
                      "critical-process": roles.TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S}
            self.begin_transition(Role.ACTIVE, ranges.get(body.get("kind"), roles.TAKEOVER_MANUAL_FAILOVER_S),
                                  f"partner asked this server to assume the active role: {body.get('reason')}")
            return web.json_response({"ok": True})
        return web.json_response({"error": "unknown_command"}, status=400)

    def replication_lag_ms(self) -> list[float]:
        return list(self._replication_lag_ms)


def _adoption(active_json: list[dict], local: list[Record]) -> tuple[list[Record], list[Record]]:
    records = [Record.from_json(r) for r in active_json]
    return records, discarded_on_adopt(local, {r.id: r for r in records})


def _merge(local: list[Record], theirs_json: list[dict]) -> dict:
    return merge_newest(local, (Record.from_json(r) for r in theirs_json))


def _snapshot_body(log_id: str, seq: int, records: list[Record]) -> str:
    return json.dumps({"log_id": log_id, "seq": seq, "records": [r.to_json() for r in records]})


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
