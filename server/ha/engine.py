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
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable

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
from ..core.records import Record, describe, discarded_on_adopt, merge_on_configure
from ..core.roles import (
    Action,
    Decision,
    HAState,
    Observations,
    Role,
    ServerDesignation,
    StandbyServerStatus,
)
from ..core.split_brain import split_brain
from ..core.txlog import MESSAGES as TXLOG_MESSAGES
from ..core.txlog import LogState, log_state
from ..core.txlog import percent as txlog_percent
from ..errors import ApiError, conflict
from ..events import EventBus
from ..services import Services
from .repair import Reconciliation

log = logging.getLogger("ipics.ha")

SHIP_BATCH = 500
_LEVEL = {LogState.NORMAL: 0, LogState.WARNING: 1, LogState.CRITICAL: 2, LogState.DDRBLOCK: 3}
DISCARD_LOG_LIMIT = 1000
MESSAGE_LIMIT = 50
#: Chapter: "If the time settings are more than 30 seconds apart, the servers can lose
#: HA communication."  A heartbeat from a clock further off than this is refused.
MAX_CLOCK_SKEW_S = 30.0


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
        self.address = http_address(cfg.host, cfg.port)  # set again once bound

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
        #: emulated UTC when this server last became active (split-brain duration)
        self.active_since: float | None = store.get_local_sync("active_since")
        #: Go Standby done: keep this server's data until REPAIR has reconciled it
        self.awaiting_repair: bool = store.get_local_sync("awaiting_repair", False)
        #: ``service ipics stop``: no heartbeats, no peer traffic, no clients
        self.suspended = False
        #: Configure is merging both servers' data: writes wait (503) until it is done
        self.configuring = False
        self._configure_lock = asyncio.Lock()
        #: when this server last handed the active role over (emulated monotonic), until
        #: the partner is seen taking it (``Observations.handed_over``)
        self.handed_over_at: float | None = None
        self.clock_skew_s: float | None = None
        self.messages: deque[dict] = deque(store.get_local_sync("messages", []), maxlen=MESSAGE_LIMIT)
        self.txlog_held = 0
        self.txlog_state = LogState.NORMAL
        #: Unconfigure HA at 90 % of the transaction log; the lab can switch it off
        self.txlog_safeguard = True
        #: HA was unconfigured automatically while this server was active: it keeps
        #: serving on its own whatever its licenses, until HA is configured again
        self.serving_alone: bool = store.get_local_sync("serving_alone", False)
        #: files neither server has (lost before a failover, or deleted by ipicsrsync):
        #: the fetcher skips them instead of waiting on them for ever
        self.unavailable_files: set[str] = set()
        #: records the standby already logged at REPAIR, not to log again at adoption
        self.adoption_logged: set[tuple[str, str]] = set()
        self._background: set[asyncio.Task] = set()
        self.role = self._boot_role()
        self.missed_now = 0
        #: since this process started, for the trainer: heartbeats sent to the partner
        #: (delivered or not) and scheduled ones the partner did not answer
        self.heartbeats_sent = 0
        self.heartbeats_missed_total = 0
        self.partner_view: dict[str, Any] | None = None  # the partner's last heartbeat
        #: when the heartbeat loop sends the next scheduled heartbeat (emulated monotonic)
        self.next_heartbeat_due: float | None = None
        self.transition: Transition | None = None
        self.last_decision = Decision(Action.NONE, "starting")
        self.acked_seq = 0
        #: why records are discarded at the next adoption (None: the no-failback rule)
        self.adoption_reason: str | None = None
        self.repair = Reconciliation(self)
        self.peer = PeerLink(identity, cfg.host, self._peer_routes())
        self._ship_wakeup = asyncio.Event()
        self._kicked = asyncio.Event()
        self._files_wakeup = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self._discard_lock = asyncio.Lock()
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
        if role == Role.ACTIVE:
            self.active_since = self.clock.now()
            self.persist("active_since", self.active_since)
            if self.awaiting_repair:
                self.set_awaiting_repair(False)
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

    def persist(self, key: str, value: Any) -> None:
        """Write node-local state through to the store without waiting for it (the
        store thread keeps the order); the in-memory value is the truth meanwhile."""
        self.spawn(self.store.set_local(key, value))

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)  # keep a reference until done
        task.add_done_callback(self._background.discard)
        return task

    def set_awaiting_repair(self, value: bool) -> None:
        self.awaiting_repair = value
        self.persist("awaiting_repair", value)

    def message(self, level: str, text: str) -> None:
        """An error or warning for the administrator: the log, ha-status and status JSON."""
        getattr(log, level)("%s", text)
        self.messages.append({"at": self.clock.now(), "level": level, "text": text})
        self.persist("messages", list(self.messages))
        self.events.publish({"type": "message", "level": level, "text": text})

    async def set_standalone(self, value: bool) -> None:
        self.standalone = value
        await self.store.set_local("standalone", value)

    async def set_ntp(self, servers: list[str]) -> None:
        """The emulated ``ntpsetup -s enable``."""
        self.ntp_servers = list(servers)
        await self.store.set_local("ntp", self.ntp_servers)

    async def _adopt(self, records, applied: tuple[str, int]) -> None:
        await self.store.replace_all(records, applied=applied)
        # What this server logged while it was active is superseded by the active's
        # data; kept, it would count toward the 75/90 % when this server is active again.
        await self.store.trim_log(10**18)
        self.applied = applied

    def active_address(self) -> str | None:
        if self.accepts_writes:
            return self.address
        if (self.partner and self.partner_view and self.missed_now == 0
                and self.partner_view.get("role") == Role.ACTIVE.value):
            return self.partner.address
        return None

    @property
    def accepts_writes(self) -> bool:
        # A standalone secondary holds only the HA license: it cannot serve on its own,
        # unless it was the active one when HA was unconfigured automatically.
        if self.suspended:
            return False
        return self.role == Role.ACTIVE or (self.role == Role.STANDALONE and (
            self._designation() == ServerDesignation.PRIMARY or self.serving_alone))

    def refuse_unless_active(self) -> None:
        if self.configuring:
            raise ApiError(503, "configuring", "HA configuration is merging both servers' data; try again shortly")
        if self.accepts_writes:
            if self.txlog_state == LogState.DDRBLOCK:
                raise ApiError(503, "ddrblock", TXLOG_MESSAGES[LogState.DDRBLOCK].format(p=100))
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
        if self.ha == HAState.TRUSTED or self.suspended:
            return StandbyServerStatus.NOT_READY
        if self.role == Role.STANDBY:
            ready = self.synchronized and self.missed_now == 0
        else:
            ready = self.partner_ready
        return StandbyServerStatus.READY if ready else StandbyServerStatus.NOT_READY

    @property
    def in_split_brain(self) -> bool:
        """Both servers active and hearing each other again (chapter: the moment the
        Go Standby button is enabled)."""
        return bool(self.ha == HAState.CONFIGURED and self.role == Role.ACTIVE and self.partner_view
                    and self.missed_now == 0 and self.partner_view.get("role") == Role.ACTIVE.value)

    def split_brain_info(self) -> dict | None:
        if not self.in_split_brain:
            return None
        info = split_brain(self.clock.now(), self.active_since, self.partner_view.get("active_since"))
        return {**info.as_dict(), "go_standby_on": ServerDesignation.SECONDARY.value}

    @property
    def capacity(self) -> int:
        return self.cfg.transaction_log_capacity

    async def status(self) -> dict[str, Any]:
        held, last_seq = await self.store.log_stats()
        d = self._designation()
        return {
            "server": d.value if d else None,
            "role": self.role.value,
            "ha": self.ha.value,
            "standby_server_status": s.value if (s := self.standby_server_status) else None,
            "split_brain": self.in_split_brain,
            "split": self.split_brain_info(),
            "awaiting_repair": self.awaiting_repair,
            "repair": self.repair.status(),
            "clock_skew_s": None if self.clock_skew_s is None else round(self.clock_skew_s, 1),
            "ntp_servers": list(self.ntp_servers),
            "messages": list(self.messages),
            "ipics_stopped": self.suspended,
            "partner": self.partner.address if self.partner else None,
            "partner_role": self.partner_view.get("role") if self.partner_view and self.missed_now == 0 else None,
            "address": self.address,
            "active": self.active_address(),
            "heartbeat": {**self.settings.as_dict(), "missed_now": self.missed_now,
                          "sent": self.heartbeats_sent, "missed_total": self.heartbeats_missed_total,
                          "next_in_s": None if self.next_heartbeat_due is None else
                          round(max(0.0, self.next_heartbeat_due - self.clock.monotonic()), 1)},
            "replication": {
                "pending": held if self.role == Role.ACTIVE else 0,
                "transaction_log_used_percent": round(txlog_percent(held, self.capacity), 2)
                if self.role == Role.ACTIVE else 0.0,
                "transaction_log_capacity": self.capacity,
                "transaction_log_state": self.txlog_state.value,
                "transaction_log_safeguard": self.txlog_safeguard,
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
        if self.suspended:
            self.last_decision = Decision(Action.NONE, "no action: IPICS services are stopped")
            return self.last_decision
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
                awaiting_repair=self.awaiting_repair,
                handed_over=self._still_handing_over(),
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
        self.handed_over_at = self.clock.monotonic()

    def _still_handing_over(self) -> bool:
        """Handed over, and the partner not yet seen taking the role: a heartbeat from
        before the takeover still shows it standby (and not Ready), which must not read
        as "both servers are standby" and take the role straight back."""
        if self.handed_over_at is None:
            return False
        seen = self.partner_view.get("role") if self.partner_view and self.missed_now == 0 else None
        if (self.role != Role.STANDBY or seen not in (None, Role.STANDBY.value)
                or self.clock.monotonic() - self.handed_over_at > roles.HANDED_OVER_HOLD_S):
            self.handed_over_at = None
            return False
        return True

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
            "active_since": self.active_since,
            "awaiting_repair": self.awaiting_repair,
            "repair": self.repair.local_status(),
        }

    def kick(self) -> None:
        """Exchange a heartbeat now (after a role or configuration change) so the partner
        learns at once; a kicked heartbeat that fails is not counted as missed."""
        self._kicked.set()

    async def heartbeat_loop(self) -> None:
        """A heartbeat every Heartbeat Interval, and one at once when kicked.

        The next one is due one interval after the last scheduled one, computed afresh
        on every pass from the settings in force: a kick (an Update of the settings is
        one) cuts the wait short, so a shorter interval takes effect at once instead of
        after the old, longer one (issue 14: 600 s, then 15 s, waited out the 600)."""
        last_scheduled = self.clock.monotonic() - self.settings.interval_s
        while True:
            next_due = self.next_heartbeat_due = last_scheduled + self.settings.interval_s
            try:
                await self.clock.wait_for(self._kicked.wait(), max(0.0, next_due - self.clock.monotonic()))
                scheduled = False
            except TimeoutError:
                scheduled = True
            self._kicked.clear()
            now = self.clock.monotonic()
            if scheduled:
                # On the beat; after a long stall (a paused process), from now: no burst
                # of catch-up heartbeats.
                last_scheduled = next_due if now - next_due < self.settings.interval_s else now
            elif now >= next_due:
                # Kicked when a scheduled one was due as well: this exchange is that one.
                scheduled, last_scheduled = True, now
            if self.peer.configured and not self.suspended and self.ha != HAState.UNCONFIGURED:
                # Trusted but not configured too: the HA Configuration tab shows whether
                # the partner answers (no decision is taken on it before Configure).
                await self.exchange_heartbeat(count_miss=scheduled)
                await self.tick()

    async def exchange_heartbeat(self, count_miss: bool = True) -> bool:
        timeout = max(0.2, min(5.0, self.clock.real_seconds(self.settings.interval_s) * 0.8))
        self.heartbeats_sent += 1
        try:
            reply = await self.peer.call("POST", "/peer/heartbeat", self.heartbeat_payload(), timeout_s=timeout)
            ok = reply.ok and self._clock_agrees(reply.body.get("time"))
        except Unreachable:
            ok = False
        if ok:
            if self.missed_now:
                log.warning("heartbeat from partner again after %d missed", self.missed_now)
            self.missed_now = 0
            self._observe_partner(reply.body)
        elif count_miss:
            self.missed_now += 1
            self.heartbeats_missed_total += 1
            if self.missed_now == 1:
                log.warning("missed heartbeat from partner (1 of %d)", self.settings.missed_count)
        return ok

    def _clock_agrees(self, partner_time: Any) -> bool:
        """Heartbeats carry the sender's time; more than 30 s apart, HA communication is lost."""
        if not isinstance(partner_time, (int, float)):
            return False
        skew = float(partner_time) - self.clock.now()
        was_ok = self.clock_skew_s is None or abs(self.clock_skew_s) <= MAX_CLOCK_SKEW_S
        self.clock_skew_s = skew
        if abs(skew) > MAX_CLOCK_SKEW_S:
            if was_ok:
                self.message("error", f"the partner's clock is {skew:+.0f} s from this server's (more than "
                                      f"{MAX_CLOCK_SKEW_S:.0f} s): HA communication lost; configure NTP on "
                                      "both servers (ntpsetup -s enable) and restart ipics_nm")
            return False
        if not was_ok:
            log.warning("clocks agree again (skew %+.1f s)", skew)
        return True

    def _observe_partner(self, view: dict[str, Any]) -> None:
        self.partner_view = view
        self._follow_partner_unconfigure(view)
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
        async def work():
            await self.check_transaction_log()
            await self._ship_pending()
            await self.check_transaction_log()

        await self._run_on_wakeup(self._ship_wakeup, work, "replication shipper")

    async def check_transaction_log(self) -> None:
        """Prolonged downtime: act on the transaction log's fill level (75/90/100 %)."""
        if self.ha != HAState.CONFIGURED or self.role != Role.ACTIVE:
            held = 0
        else:
            held, _ = await self.store.log_stats()
        self.txlog_held = held
        state = log_state(held, self.capacity)
        if state == LogState.DDRBLOCK and self.txlog_safeguard and self.ha == HAState.CONFIGURED:
            state = LogState.CRITICAL  # the safeguard acts at 90 %; it never gets to a block
        previous, self.txlog_state = self.txlog_state, state
        if state == previous:
            return
        pct = txlog_percent(held, self.capacity)
        if _LEVEL[state] > _LEVEL[previous]:  # a threshold crossed on the way up
            if state == LogState.CRITICAL and not self.txlog_safeguard:
                self.message("error", f"database transaction log at {pct:.0f}% of capacity (90% threshold); "
                                      "the automatic HA unconfigure is switched off in the lab: at 100% "
                                      "every database update will be blocked (DDRBLOCK)")
            else:
                self.message("error", TXLOG_MESSAGES[state].format(p=pct))
        elif previous == LogState.DDRBLOCK:
            self.message("warning", "DDRBLOCK cleared: the transaction log has room again; database updates "
                                    "are accepted")
        if (state == LogState.CRITICAL and self.txlog_safeguard and self.ha == HAState.CONFIGURED
                and self.role == Role.ACTIVE):
            await self.auto_unconfigure()

    async def auto_unconfigure(self, reason: str = "transaction log at 90% of capacity") -> None:
        """At 90 %: unconfigure HA so the log never blocks; the active keeps serving."""
        self.ha = HAState.TRUSTED if self.partner else HAState.UNCONFIGURED
        self.serving_alone = True
        await self.store.set_local("serving_alone", True)
        await self.store.set_local("ha", self.ha.value)
        await self.store.trim_log(10**18)
        await self.set_standalone(True)
        self._set_role(Role.STANDALONE, f"HA unconfigured automatically: {reason}")
        self.txlog_held, self.txlog_state = 0, LogState.NORMAL

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
            after_repair = self.adoption_reason is not None
            records, lost = await asyncio.to_thread(_adoption, reply.body["records"], local, after_repair)
            lost = [r for r in lost if r.id not in self.adoption_logged]
            self.adoption_logged = set()
            await self._adopt(records, (reply.body["log_id"], int(reply.body["seq"])))
            reason, self.adoption_reason = self.adoption_reason, None
            if lost:
                await self._log_discarded(lost, reason)
            if self.role == Role.STANDBY:
                self.synchronized = True
                log.warning("synchronized from the active server: %d records, %d discarded",
                            len(records), len(lost))
            self._files_wakeup.set()

    async def _log_discarded(self, lost: list[Record], reason: str | None = None) -> None:
        await self.log_discarded_entries(
            [{"table": r.table, "key": r.key, "description": describe(r), "updated_at": r.updated_at}
             for r in lost],
            reason or "accepted here but never reached the partner before the failover")

    async def log_discarded_entries(self, lost: list[dict], reason: str) -> None:
        """The discarded log (``GET /api/v1/ha/discarded`` and server.log): every record
        this server held that is gone, and the documented rule that removed it."""
        async with self._discard_lock:  # read-modify-write: REPAIR's table processes log at once
            await self._append_discarded(lost, reason)

    async def _append_discarded(self, lost: list[dict], reason: str) -> None:
        when = self.clock.now()
        entries = await self.store.get_local("discarded", [])
        for d in lost:
            log.warning("discarded %s: %s", d["description"], reason)
            entries.append({"at": when, "table": d["table"], "key": d["key"], "description": d["description"],
                            "updated_at": d["updated_at"], "reason": reason})
        await self.store.set_local("discarded", entries[-DISCARD_LOG_LIMIT:])

    async def file_fetch_loop(self) -> None:
        """Standby: fetch uploaded files' content, after the records, at a lower priority."""
        await self._run_on_wakeup(self._files_wakeup, self._fetch_missing_files, "file replication")

    async def _fetch_missing_files(self) -> None:
        while self.role == Role.STANDBY and self.synchronized:
            records = await self.store.table("files")
            # One pass of stat calls, off the loop; then oldest first.
            missing = await asyncio.to_thread(
                lambda: sorted((r for r in records if r.key not in self.unavailable_files
                                and not self.files.exists(r.key)), key=lambda r: r.updated_at))
            if not missing:
                return
            for r in missing:
                if not (self.role == Role.STANDBY and self.synchronized):
                    return
                wait = r.updated_at + self.cfg.file_replication_delay_s - self.clock.now()
                if wait > 0:
                    await self.clock.sleep(wait)
                reply = await self.peer.call("GET", f"/peer/files/{r.key}", timeout_s=60)
                if reply.status == 404:
                    # The active does not have it either (it arrived just before a failover,
                    # or ipicsrsync deleted it): the download says to upload it again.
                    log.warning("file %s is on neither server: it must be uploaded again", r.key)
                    self.unavailable_files.add(r.key)
                    continue
                if not reply.ok:
                    return
                await self.files.write(r.key, base64.b64decode(reply.body["content"]),
                                       mtime=r.value.get("uploaded_at") if r.value else None)

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
        if self.ha != HAState.UNCONFIGURED and not self._stale_trust_of(body["certificate"]):
            raise conflict("this server already trusts a partner; delete that trust first")
        try:
            info = inspect(body["certificate"])
            address = normalize_address(body["address"])
        except (CertificateError, ValueError) as exc:
            raise ApiError(400, "bad_request", f"invalid trust request: {exc}") from None
        if info.expired():
            raise ApiError(400, "certificate_expired", f"your certificate expired on {info.not_after:%Y-%m-%d}")
        if self.ha != HAState.UNCONFIGURED:
            log.warning("the trusted partner deleted its trust while this server was stopped: "
                        "replacing the old trust and HA configuration")
            await self._reset_after_partner_reset()
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        if body.get("heartbeat_port"):
            self.settings = HeartbeatSettings(body["heartbeat_port"], self.settings.interval_s,
                                              self.settings.missed_count)
            await self.store.set_local("heartbeat", self.settings.as_dict())
        await self._store_trust(Partner(address=address, host=host, cert_pem=body["certificate"]))
        return {"certificate": self.identity.cert_pem}

    def _stale_trust_of(self, cert_pem: str) -> bool:
        """The same partner asks for trust again: it deleted its side (Method 2) while
        this server was stopped.  Only while this server does not hear that partner's
        heartbeats: a partner that still heartbeats has not deleted anything."""
        return bool(self.partner and cert_pem.strip() == self.partner.cert_pem.strip()
                    and (self.missed_now > 0 or self.partner_view is None
                         or self.ha != HAState.CONFIGURED or self.suspended))

    async def _reset_after_partner_reset(self) -> None:
        if self.transition and self.transition.task:
            self.transition.task.cancel()
        self.transition = None
        await self.forget_trust()
        self.set_awaiting_repair(False)
        self.synchronized = False
        self.missed_now = 0
        await self.set_standalone(False)
        self._set_role(self.initial_role_by_license(), "trust replaced by the partner")

    async def _store_trust(self, partner: Partner) -> None:
        self.partner = partner
        self.ha = HAState.TRUSTED
        await self.store.set_local("partner", partner.to_json())
        await self.store.set_local("ha", self.ha.value)
        await self.peer.start(partner.cert_pem, partner.host, self.settings.port)
        log.warning("HA partner %s trusted (certificate %s...)", partner.address,
                    inspect(partner.cert_pem).fingerprint[:16])
        self.kick()  # the HA Configuration tab shows at once whether the partner answers

    async def delete_trust(self, password: str) -> str:
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
            raise ApiError(502, "partner_refused", f"the partner refused: {_message(reply.body)}")
        await self.forget_trust()
        return "the trust certificates were deleted on both servers"

    async def remove_trust(self, body: dict[str, Any], client: str) -> None:
        # The certificate first: a stranger learns nothing about the password here.
        if self.partner is None or body["certificate"].strip() != self.partner.cert_pem.strip():
            raise ApiError(403, "forbidden", "only the trusted partner may delete the trust")
        if (body["username"] != "ipicsadmin"
                or not await self._verify_password("ipicsadmin", body["password"], client)):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
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
        """HA Configuration tab, Update: both servers take the settings, or neither.
        Trusted but not yet configured too: the peer link (and Configure) needs both on
        one Heartbeat Port."""
        if self.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if settings.port != self.settings.port and (why := self.peer.cannot_listen_on(settings.port)):
            raise conflict(f"{why}; nothing was changed")
        reply = await self._control({"command": "settings", "settings": settings.as_dict()})
        if not reply.ok:
            raise conflict(f"the partner refused the settings: {_message(reply.body)}; nothing was changed")
        await self.apply_settings(settings)

    async def apply_settings(self, settings: HeartbeatSettings) -> None:
        port_changed = settings.port != self.settings.port
        self.settings = settings
        await self.store.set_local("heartbeat", settings.as_dict())
        if port_changed and self.partner:
            await self.peer.start(self.partner.cert_pem, self.partner.host, settings.port)
        self.kick()  # the loop's wait was computed with the old interval

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

    async def configure(self, on_done: Callable[[], Awaitable[None]], keep_accounts: Iterable[str] = ()) -> None:
        """HA Configuration, Configure: merge both servers' data, start HA (primary side).
        ``keep_accounts``: user names whose record this server's copy wins in the merge
        (``core.records.merge_on_configure``)."""
        if self.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if self.ha == HAState.CONFIGURED:
            raise conflict("HA is already configured")
        # A second Configure (a double click) while the first is still checking or merging
        # would merge and trim the log twice. Taken without a pause: no await in between.
        if self._configure_lock.locked():
            raise conflict("HA configuration is already running")
        async with self._configure_lock:
            await self._configure_checked(on_done, frozenset(keep_accounts))

    async def _configure_checked(self, on_done: Callable[[], Awaitable[None]], keep_accounts: frozenset[str]) -> None:
        if self.role == Role.TRANSITIONING:
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
        self.configuring = True
        try:
            await self._configure_merged(on_done, keep_accounts)
        finally:
            self.configuring = False

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
            await self._copy_partner_file(r.key)

        # Configured here before the partner hears of it: its first heartbeat must find
        # this server configured, or it would think HA was unconfigured meanwhile.
        self.ha = HAState.CONFIGURED
        self.serving_alone = False
        try:
            reply = await self._control({"command": "configure", "settings": self.settings.as_dict()})
        except ApiError:
            self.ha = HAState.TRUSTED
            raise
        if not reply.ok:
            self.ha = HAState.TRUSTED
            raise conflict(f"the partner refused the configuration: {_message(reply.body)}")
        await self.store.set_local("ha", self.ha.value)
        await self.store.set_local("serving_alone", False)
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
            await self.files.write(file_id, base64.b64decode(reply.body["content"]), mtime=reply.body.get("mtime"))

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
        # Standalone from now on, as far as a reboot is concerned: powered off during the
        # reconfiguration, the server comes back standalone, not active by its licenses
        # (seen in the fault campaign: an active primary with HA unconfigured beside a
        # secondary serving alone, a state no recovery step knew).
        await self.set_standalone(True)
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
        try:
            await self._drain_log()
            reply = await self.peer.call("POST", "/peer/control", {"command": "takeover", "kind": "manual",
                                                                  "reason": "Failover Now"})
        except Unreachable as exc:
            self._failover_not_done()
            raise ApiError(502, "partner_unreachable", f"the standby does not answer ({self.peer.error or exc}): "
                                                       "Failover Now was not done; this server stays active") from None
        if not reply.ok:
            self._failover_not_done()
            raise conflict(f"the standby refused to take over: {_message(reply.body)}; this server stays active")
        self.synchronized = False
        self.handed_over_at = self.clock.monotonic()

    def _failover_not_done(self) -> None:
        self.synchronized = False
        self._set_role(Role.ACTIVE, "manual failover not done: the standby did not take over; staying active")
        self.kick()

    async def go_standby(self) -> str:
        """Method 1, step 2: the Go Standby button, enabled only in a split brain."""
        if not self.in_split_brain:
            raise conflict("Go Standby is enabled only in a split brain: both servers active and "
                           "communicating again")
        # Standby first, so no new login lands between the logout and the role change.
        self.set_awaiting_repair(True)
        self._set_role(Role.STANDBY, "Go Standby: split brain remediation, returning to the standby role")
        await self._logout(False)
        self.message("warning", "Go Standby: every user session on this server was logged out; reconcile the "
                                "data with ipicsedr_control_repl REPAIR (as informix) and ipicsrsync run "
                                "ipicsadmin (on the primary)")
        self.kick()
        if self._designation() == ServerDesignation.PRIMARY:
            return ("this server is standby now; Cisco recommends keeping the primary active and "
                    "returning the secondary to standby instead")
        return "this server is standby now; logins here are redirected to the active server"

    # --------------------------------------------------------- service ipics stop|start
    def stop_ipics(self) -> None:
        """``service ipics stop``: this server stops serving and heartbeating; to the
        partner it looks down."""
        if self.suspended:
            return
        self.suspended = True
        self.partner_view = None
        log.warning("IPICS services stopped: no heartbeats, no replication, no clients")

    def start_ipics(self) -> None:
        """``service ipics start``: IPICS starts as after a reboot: in a configured pair it
        joins as the standby (no failback) and the heartbeats decide from there."""
        if not self.suspended:
            return
        self.suspended = False
        self.missed_now = 0
        if self.ha == HAState.CONFIGURED and self.role != Role.STANDBY:
            if self.transition and self.transition.task:
                self.transition.task.cancel()
            self.transition = None
            self._set_role(Role.STANDBY, "IPICS services started: joining the pair as standby")
        self.synchronized = False
        log.warning("IPICS services started")
        self.kick()

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
            *self.repair.peer_routes(),
        ]

    async def _peer_heartbeat(self, request: web.Request) -> web.Response:
        if self.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        view = await request.json()
        if not self._clock_agrees(view.get("time")):
            return web.json_response({"error": "clock_skew", "skew_s": self.clock_skew_s}, status=409)
        self.partner_view = view
        self._follow_partner_unconfigure(view)
        return web.json_response(self.heartbeat_payload())

    def _follow_partner_unconfigure(self, view: dict[str, Any]) -> None:
        """A partner that unconfigured HA while this server was away (by hand, or at 90 %
        of the transaction log) is followed when it is heard again.  A standby goes
        through the reconfiguration; an active one (both were active: a split brain)
        keeps serving on its own and says the data must be reconciled."""
        if not (self.ha == HAState.CONFIGURED
                and view.get("ha") in (HAState.TRUSTED.value, HAState.UNCONFIGURED.value)
                and view.get("role") in (Role.STANDALONE.value, Role.TRANSITIONING.value)):
            return
        if self.role == Role.STANDBY:
            log.warning("the partner unconfigured HA while this server was away: unconfiguring here too")
            self.ha = HAState.TRUSTED  # at once, so the next heartbeat does not start another
            self.spawn(self.apply_unconfigure())
        elif self.role == Role.ACTIVE:
            self.ha = HAState.TRUSTED
            self.message("error", "the partner unconfigured HA while both servers were active (split brain): "
                                  "both now serve on their own; reconcile the data and configure HA again "
                                  "(Method 2)")
            self.spawn(self.auto_unconfigure("the partner unconfigured HA during a split brain"))

    async def _peer_replicate(self, request: web.Request) -> web.Response:
        if self.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
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
                # A file record that changed (its content restored on the active) is
                # worth fetching again, even if it was on neither server before.
                self.unavailable_files.difference_update(r.key for r in records if r.table == "files")
                self._files_wakeup.set()
            self.events.publish({"type": "replicated", "count": len(records)})
        return web.json_response({"applied_seq": self.applied[1]})

    async def _peer_snapshot(self, request: web.Request) -> web.Response:
        if self.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        records, seq = await self.store.snapshot()
        if self.role == Role.ACTIVE:
            # The standby adopts this snapshot: what the log held up to here is covered.
            self.acked_seq = seq
            await self.store.trim_log(seq)
            self._ship_wakeup.set()
        body = await asyncio.to_thread(_snapshot_body, self.store.log_id, seq, records)
        return web.Response(text=body, content_type="application/json")

    async def _peer_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.own_info())

    async def _peer_file(self, request: web.Request) -> web.Response:
        if self.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        file_id = request.match_info["file_id"]
        try:
            content = await self.files.read(file_id)
            mtime = self.files.path(file_id).stat().st_mtime
        except (FileNotFoundError, ValueError):
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response({"content": base64.b64encode(content).decode(), "mtime": mtime})

    async def _peer_control(self, request: web.Request) -> web.Response:
        if self.suspended:
            return web.json_response({"error": "ipics_stopped"}, status=503)
        body = await request.json()
        command = body.get("command")
        if command == "configure":
            self.settings = HeartbeatSettings(**body["settings"])
            await self.store.set_local("heartbeat", self.settings.as_dict())
            self.ha = HAState.CONFIGURED
            self.serving_alone = False
            await self.store.set_local("serving_alone", False)
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
            if settings.port != self.settings.port and (why := self.peer.cannot_listen_on(settings.port)):
                return web.json_response({"error": "port_in_use", "message": why}, status=409)
            # After this answer: a new port restarts the listener this call came in on.
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.apply_settings(settings)))
            return web.json_response({"ok": True})
        if command == "unconfigure":
            if self.ha == HAState.CONFIGURED:
                await self.apply_unconfigure()
            return web.json_response({"ok": True})
        if command in ("repair", "repaired"):
            return await self.repair.on_control(body)
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


def _adoption(active_json: list[dict], local: list[Record], every_difference: bool = False,
              ) -> tuple[list[Record], list[Record]]:
    records = [Record.from_json(r) for r in active_json]
    # After REPAIR any copy of ours not kept was replaced, older ones too.
    return records, discarded_on_adopt(local, {r.id: r for r in records}, any_difference=every_difference)


def _merge(local: list[Record], theirs_json: list[dict], keep_accounts: frozenset[str], now: float,
           origin: str) -> dict:
    return merge_on_configure(local, (Record.from_json(r) for r in theirs_json),
                              keep_local=[("users", name) for name in keep_accounts], now=now, origin=origin)


def _snapshot_body(log_id: str, seq: int, records: list[Record]) -> str:
    return json.dumps({"log_id": log_id, "seq": seq, "records": [r.to_json() for r in records]})


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]  # not an IPICS answer (a web page, say): its start is enough


def http_address(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
