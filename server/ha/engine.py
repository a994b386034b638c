"""The HA engine of one server: its parts, wired, behind the surface the server uses.

Each part has one job and they share one ``NodeState``: ``roles`` (role changes, the
timed transitions and the tick), ``heartbeats``, ``replication`` with the
transaction log's ``txlog`` watch, ``adoption`` and the ``discarded`` log,
``file_replication``, the procedures (``trust``, ``configuration``, ``failover``,
``ipics`` for ``service ipics stop|start``), ``status_report`` and ``repair``.  The
peer link's views (``api/peer_views.py``) call the parts; the rest of the server
(the client API, the Administration Console, the shell, the devices' services) calls
this facade.  Heartbeats, the replication shipper (active) and the file fetcher
(standby) are background tasks owned by the app's cleanup context.

Chapter: Configuring and Managing Cisco IPICS High Availability, every section; the
module of each part names its own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from ..adapters.certs import ServerIdentity
from ..adapters.files import FileStore
from ..adapters.peer import PeerLink
from ..adapters.store import Store
from ..clock import Clock
from ..config import ServerConfig
from ..core.ha_config import HeartbeatSettings
from ..core.records import Record
from ..core.roles import Decision, HAState, Role, ServerDesignation, StandbyServerStatus
from ..core.txlog import LogState
from ..events import EventBus
from ..services import Services
from .adoption import Adoption, DiscardedLog
from .configuration import Configuration
from .deadlines import Deadlines
from .failover import Failover, IpicsServices
from .file_replication import FileReplication
from .heartbeats import Heartbeats
from .node import NodeState, Partner
from .repair import Reconciliation
from .replication import Replication
from .roles import Roles
from .status import StatusReport
from .synchronous import SynchronousReplication
from .transaction_log import TransactionLogWatch
from .trust import Trust
from .witness import WitnessVote


class HAEngine:
    """Callbacks: ``logout(admins_only)``; ``verify_password(username, password, client)``."""

    def __init__(
        self,
        *,
        cfg: ServerConfig,
        clock: Clock,
        store: Store,
        files: FileStore,
        identity: ServerIdentity,
        services: Services,
        events: EventBus,
        designation: Callable[[], ServerDesignation | None],
        verify_password: Callable[[str, str, str], Awaitable[bool]],
        logout: Callable[[bool], Awaitable[None]],
        rng: random.Random | None = None,
    ):
        self.clock = clock
        self.store = store
        self.files = files
        self.state = state = NodeState(
            cfg=cfg,
            clock=clock,
            store=store,
            files=files,
            services=services,
            events=events,
            designation=designation,
            rng=rng,
        )
        #: every call to the partner ends within a deadline from the heartbeat settings
        self.deadlines = Deadlines(state)
        #: the link to the partner; it serves the routes of ``api/peer_views.py``
        self.peer = peer = PeerLink(identity, cfg.host, deadline=self.deadlines.call)
        self.discarded = DiscardedLog(state)
        self.adoption = Adoption(state, peer, self.discarded)
        #: the modes beyond IPICS: synchronous replication, a witness (None: IPICS's none)
        self.file_replication = FileReplication(state, peer)
        self.synchronous = SynchronousReplication(state, cfg.modes, push_file=self.file_replication.push)
        state.on_acked = self.synchronous.moved
        self.witness = (
            WitnessVote(state, cfg.modes.witness, cfg.witness_key_file)
            if cfg.modes.witness and cfg.witness_key_file
            else None
        )
        self.roles = Roles(
            state,
            peer,
            synchronize=self.adoption.synchronize_from_active,
            synchronous=self.synchronous,
            witness=self.witness,
        )
        self.txlog = TransactionLogWatch(state, set_role=self.roles.set_role)
        self.replication = Replication(
            state,
            peer,
            self.txlog,
            synchronize=self.adoption.synchronize_from_active,
            on_file_records=self.file_replication.on_file_records,
        )
        self.repair = Reconciliation(self, rsync_log=cfg.data_dir / "logs" / "rsync.log")
        self.configuration = Configuration(
            state, peer, self.roles, self.file_replication, logout=logout, auto_unconfigure=self.txlog.auto_unconfigure
        )
        self.heartbeats = Heartbeats(
            state,
            peer,
            self.deadlines,
            tick=self.roles.tick,
            repair_status=self.repair.local_status,
            follow_unconfigure=self.configuration.follow_partner_unconfigure,
        )
        self.trust = Trust(state, peer, identity, self.roles, self.deadlines, verify_password=verify_password)
        self.failover = Failover(state, peer, self.roles, drain_log=self.replication.drain_log, logout=logout)
        self.ipics = IpicsServices(state, self.roles)
        self.status_report = StatusReport(
            state, peer, repair_status=self.repair.status, synchronous=self.synchronous, witness=self.witness
        )

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
    def became_active_total(self) -> int:
        """Times this server took the active role since its process started."""
        return self.state.became_active_total

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

    # ----------------------------------------------------------- background loops
    async def heartbeat_loop(self) -> None:
        await self.heartbeats.loop()

    async def shipper_loop(self) -> None:
        await self.replication.shipper_loop()

    async def file_fetch_loop(self) -> None:
        await self.file_replication.fetch_loop()

    async def witness_loop(self) -> None:
        """Witness mode: the active renews its lease every Heartbeat Interval."""
        if self.witness is None:
            return
        try:
            await self.witness.loop()
        finally:
            await self.witness.close()

    # -------------------------------------------------------------- replication
    def on_local_write(self, seq: int | None = None) -> None:
        """A write was committed here (``seq``: its place in the transaction log)."""
        self.replication.on_local_write(seq)

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

    # ---------------------------------------------------------------- procedures
    async def establish_trust(self, address: str, username: str, password: str) -> Partner:
        return await self.trust.establish(address, username, password)

    async def accept_trust(self, body: dict[str, Any], client: str) -> dict[str, Any]:
        return await self.trust.accept(body, client)

    async def delete_trust(self, password: str) -> str:
        return await self.trust.delete(password)

    async def remove_trust(self, body: dict[str, Any], client: str) -> None:
        await self.trust.remove(body, client)

    async def set_ntp(self, servers: list[str]) -> None:
        await self.configuration.set_ntp(servers)

    def own_info(self) -> dict[str, Any]:
        return self.configuration.own_info()

    async def configure(self, on_done: Callable[[], Awaitable[None]], keep_accounts: Iterable[str] = ()) -> None:
        await self.configuration.configure(on_done, keep_accounts)

    async def update_settings(self, settings: HeartbeatSettings) -> None:
        await self.configuration.update_settings(settings)

    async def unconfigure(self) -> None:
        await self.configuration.unconfigure()

    async def failover_now(self) -> None:
        await self.failover.failover_now()

    async def go_standby(self) -> str:
        return await self.failover.go_standby()

    def stop_ipics(self) -> None:
        self.ipics.stop()

    def start_ipics(self) -> None:
        self.ipics.start()
