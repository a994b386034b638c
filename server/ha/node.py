"""What the HA engine's parts share: this server's HA state, one object.

The role, the HA state, the partner and its last heartbeat, the heartbeat settings,
the replication position, the administrator's messages.  Node-local state is read
from the store once, here; afterwards the event loop keeps it in memory and only
writes it through, so a heartbeat never waits for the store thread (busy with a
snapshot, say).  The read-only views below (Standby Server Status, split brain, who
is active) are the chapter's words for combinations of that state.

Chapter: Overview (Defining the Active and Standby Servers); Configuring Cisco IPICS
Servers for HA (Standby Server Status); Resolving a Split Brain Scenario.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..adapters.files import FileStore
from ..adapters.httpclient import Unreachable
from ..adapters.store import Store
from ..clock import Clock
from ..config import ServerConfig
from ..core.ha_config import HeartbeatSettings
from ..core.roles import Action, Decision, HAState, Role, ServerDesignation, StandbyServerStatus, boot_role
from ..core.txlog import LogState
from ..events import EventBus
from ..services import Services

log = logging.getLogger("ipics.ha")

MESSAGE_LIMIT = 50


@dataclass
class Partner:
    address: str  # the partner's client API, http(s)://host:port
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


class NodeState:
    """One server's HA state, shared by the engine's parts; written through to the store."""

    def __init__(
        self,
        *,
        cfg: ServerConfig,
        clock: Clock,
        store: Store,
        files: FileStore,
        services: Services,
        events: EventBus,
        designation: Callable[[], ServerDesignation | None],
        rng: random.Random | None = None,
    ):
        self.cfg = cfg
        self.clock = clock
        self.store = store
        self.files = files
        self.services = services
        self.events = events
        self.designation = designation
        self.rng = rng or random.Random()
        self.address = http_address(cfg.host, cfg.port, tls=cfg.tls)  # set again once bound

        self.ha = HAState(store.get_local_sync("ha", HAState.UNCONFIGURED.value))
        partner = store.get_local_sync("partner")
        self.partner = Partner(**partner) if partner else None
        hb = store.get_local_sync("heartbeat") or {"port": cfg.heartbeat_port}
        self.settings = HeartbeatSettings(**hb)
        self.standalone: bool = store.get_local_sync("standalone", False)
        applied = store.get_local_sync("applied") or ["", 0]
        self.applied: tuple[str, int] = (applied[0], int(applied[1]))
        self.ntp_servers: list[str] = store.get_local_sync("ntp", [])
        self.synchronized = False
        #: emulated UTC when this server last became active (split-brain duration)
        self.active_since: float | None = store.get_local_sync("active_since")
        #: Go Standby done: keep this server's data until REPAIR has reconciled it
        self.awaiting_repair: bool = store.get_local_sync("awaiting_repair", False)
        #: the partner was heard configured since this server configured HA: only then is
        #: a partner heard unconfigured one that unconfigured (not one still configuring)
        self.partner_heard_configured: bool = store.get_local_sync("partner_heard_configured", True)
        #: ``service ipics stop``: no heartbeats, no peer traffic, no clients
        self.suspended = False
        #: Configure is merging both servers' data: writes wait (503) until it is done
        self.configuring = False
        self.clock_skew_s: float | None = None
        self.messages: deque[dict] = deque(store.get_local_sync("messages", []), maxlen=MESSAGE_LIMIT)
        self.txlog_state = LogState.NORMAL
        #: Unconfigure HA at 90 % of the transaction log; the lab can switch it off
        self.txlog_safeguard = True
        #: HA was unconfigured automatically while this server was active: it keeps
        #: serving on its own whatever its licenses, until HA is configured again
        self.serving_alone: bool = store.get_local_sync("serving_alone", False)
        self.role = boot_role(self.ha, self.standalone, designation())
        self.missed_now = 0
        #: when the partner last answered a heartbeat (emulated monotonic), None before
        #: the first answer: the failover window under a silent partition runs from it
        self.last_heard: float | None = None
        #: when the first heartbeat of the misses in a row now was sent (emulated monotonic)
        self.missing_since: float | None = None
        #: since this process started, for the trainer: heartbeats sent to the partner
        #: (delivered or not) and scheduled ones the partner did not answer
        self.heartbeats_sent = 0
        self.heartbeats_missed_total = 0
        #: since this process started: times this server took the active role (``/metrics``)
        self.became_active_total = 0
        self.partner_view: dict[str, Any] | None = None  # the partner's last heartbeat
        #: the emulated monotonic time of the last scheduled heartbeat (None: the loop has
        #: not started): the next is due one Heartbeat Interval later, in the settings in
        #: force (``next_heartbeat_due``)
        self.heartbeat_scheduled_at: float | None = None
        self.transition: Transition | None = None
        self.last_decision = Decision(Action.NONE, "starting")
        self.acked_seq = 0
        #: the last entry the standby said it applied (a snapshot sent is not counted
        #: until the standby says so): what synchronous replication waits for
        self.standby_applied_seq = 0
        #: the last entry this server appended to its transaction log (since it started)
        self.last_logged_seq = 0
        #: called when the standby acknowledged more (synchronous replication waits on it)
        self.on_acked: Callable[[], None] = lambda: None
        #: what wakes the heartbeat loop, the replication shipper and the file fetcher
        self.kicked = asyncio.Event()
        self.ship_wakeup = asyncio.Event()
        self.files_wakeup = asyncio.Event()
        #: set and cleared at each answered heartbeat: a call that timed out is retried then
        self.heard = asyncio.Event()
        self._background: set[asyncio.Task] = set()

    # ------------------------------------------------------------ writing through
    def persist(self, key: str, value: Any) -> None:
        """Write node-local state through to the store without waiting for it (the
        store thread keeps the order); the in-memory value is the truth meanwhile."""
        self.spawn(self.store.set_local(key, value))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)  # keep a reference until done
        task.add_done_callback(self._background.discard)
        return task

    def advance_acked(self, seq: int) -> None:
        """The standby has applied the active's log up to ``seq``."""
        self.acked_seq = max(self.acked_seq, seq)
        if seq > self.standby_applied_seq:
            self.standby_applied_seq = seq
            self.on_acked()

    def reset_acked(self) -> None:
        """A new start of this server's log as the active's: nothing acknowledged yet."""
        self.acked_seq = self.standby_applied_seq = self.last_logged_seq = 0

    def set_partner_heard_configured(self, value: bool) -> None:
        if value != self.partner_heard_configured:
            self.partner_heard_configured = value
            self.persist("partner_heard_configured", value)

    def set_awaiting_repair(self, value: bool) -> None:
        self.awaiting_repair = value
        self.persist("awaiting_repair", value)

    async def set_standalone(self, value: bool) -> None:
        self.standalone = value
        await self.store.set_local("standalone", value)

    def message(self, level: str, text: str) -> None:
        """An error or warning for the administrator: the log, ha-status and status JSON."""
        getattr(log, level)("%s", text)
        self.messages.append({"at": self.clock.now(), "level": level, "text": text})
        self.persist("messages", list(self.messages))
        self.events.publish({"type": "message", "level": level, "text": text})

    def kick(self) -> None:
        """Exchange a heartbeat now (after a role or configuration change) so the partner
        learns at once; a kicked heartbeat that fails is not counted as missed."""
        self.kicked.set()

    # ------------------------------------------------------------------- views
    @property
    def next_heartbeat_due(self) -> float | None:
        """When the next scheduled heartbeat is due, in the settings in force: a new
        interval counts at once (the loop, kicked by the update, recomputes it too), so
        the status never shows a wait computed with the old one."""
        if self.heartbeat_scheduled_at is None:
            return None
        return self.heartbeat_scheduled_at + self.settings.interval_s

    @property
    def capacity(self) -> int:
        return self.cfg.transaction_log_capacity

    def partner_role_heard(self) -> str | None:
        """The partner's role as its last heartbeat said, while heartbeats flow."""
        return self.partner_view.get("role") if self.partner_view and self.missed_now == 0 else None

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
        return bool(
            self.ha == HAState.CONFIGURED
            and self.role == Role.ACTIVE
            and self.partner_view
            and self.missed_now == 0
            and self.partner_view.get("role") == Role.ACTIVE.value
        )

    @property
    def accepts_writes(self) -> bool:
        # A standalone secondary holds only the HA license: it cannot serve on its own,
        # unless it was the active one when HA was unconfigured automatically.
        if self.suspended:
            return False
        return self.role == Role.ACTIVE or (
            self.role == Role.STANDALONE and (self.designation() == ServerDesignation.PRIMARY or self.serving_alone)
        )

    def active_address(self) -> str | None:
        if self.accepts_writes:
            return self.address
        if (
            self.partner
            and self.partner_view
            and self.missed_now == 0
            and self.partner_view.get("role") == Role.ACTIVE.value
        ):
            return self.partner.address
        return None


async def run_on_wakeup(
    state: NodeState, wakeup: asyncio.Event, work: Callable[[], Awaitable[None]], what: str
) -> None:
    """A background loop that does ``work`` each time ``wakeup`` is set."""
    while True:
        await wakeup.wait()
        wakeup.clear()
        try:
            await work()
        except Unreachable:
            # The partner did not answer within the call's deadline (a silent partition,
            # a paused partner): again once it answers a heartbeat, or sooner if woken.
            waits = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(state.heard.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            wakeup.set()
        except Exception:
            log.exception("%s failed; will retry", what)
            await state.clock.sleep(1)


def partner_message(body: Any) -> str:
    """What the partner's refusal says, for a sentence of ours."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]  # not an IPICS answer (a web page, say): its start is enough


def http_address(host: str, port: int, *, tls: bool = False) -> str:
    """This server's client API as others reach it: ``https://host:port`` when it serves
    TLS, else ``http://host:port`` (loopback only: ``config`` refuses plain HTTP off it);
    an IPv6 host in brackets.  Every address the server hands out starts here."""
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
