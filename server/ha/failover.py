"""The operator's role changes: Failover Now, Go Standby, ``service ipics stop|start``.

Chapter: Performing a Manual Failover; Resolving a Split Brain Scenario (Method 1,
step 2: Go Standby; Method 2: ``service ipics stop`` on the secondary; Method 3:
``service ipics start``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ..adapters.httpclient import Unreachable
from ..adapters.peer import PeerLink
from ..core import roles
from ..core.roles import HAState, Role, ServerDesignation, StandbyServerStatus
from ..errors import ApiError, conflict
from .node import NodeState, partner_message
from .roles import Roles

log = logging.getLogger("ipics.ha")

#: how long the standby takes to assume the active role, by what asked it to
_TAKEOVER: dict[str | None, tuple[float, float]] = {
    "manual": roles.TAKEOVER_MANUAL_FAILOVER_S,
    "critical-process": roles.TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S,
}


class Failover:
    """Failover Now and Go Standby on this server; a takeover asked by the partner."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        roles: Roles,
        *,
        drain_log: Callable[[], Awaitable[None]],
        logout: Callable[[bool], Awaitable[None]],
    ):
        self.state = state
        self.peer = peer
        self.roles = roles
        self._drain_log = drain_log
        self._logout = logout

    async def failover_now(self) -> None:
        """Performing a Manual Failover: only configured, and only with the standby Ready."""
        s = self.state
        if s.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured: complete Configuring Cisco IPICS Servers for HA first")
        if s.role != Role.ACTIVE:
            raise conflict("Failover Now is done on the active server")
        if s.standby_server_status != StandbyServerStatus.READY:
            raise conflict("the Standby Server Status is Not Ready: a manual failover needs it Ready")
        # Stop taking writes, ship what is left, then hand over.
        self.roles.set_role(Role.STANDBY, "manual failover: handing the active role to the partner")
        s.synchronized = True
        try:
            await self._drain_log()
            reply = await self.peer.call(
                "POST", "/peer/control", {"command": "takeover", "kind": "manual", "reason": "Failover Now"}
            )
        except Unreachable as exc:
            self._not_done()
            raise ApiError(
                502,
                "partner_unreachable",
                f"the standby does not answer ({self.peer.error or exc}): "
                "Failover Now was not done; this server stays active",
            ) from None
        if not reply.ok:
            self._not_done()
            raise conflict(f"the standby refused to take over: {partner_message(reply.body)}; this server stays active")
        s.synchronized = False
        self.roles.handed_over()

    def _not_done(self) -> None:
        self.state.synchronized = False
        self.roles.set_role(Role.ACTIVE, "manual failover not done: the standby did not take over; staying active")
        self.state.kick()

    def on_takeover(self, kind: str | None, reason: str | None) -> str | None:
        """The partner asks this standby to assume the active role: why not, or None."""
        s = self.state
        if s.role != Role.STANDBY:
            return f"this server is {s.role.value}"
        self.roles.begin_transition(
            Role.ACTIVE,
            _TAKEOVER.get(kind, roles.TAKEOVER_MANUAL_FAILOVER_S),
            f"partner asked this server to assume the active role: {reason}",
        )
        return None

    async def go_standby(self) -> str:
        """Method 1, step 2: the Go Standby button, enabled only in a split brain."""
        s = self.state
        if not s.in_split_brain:
            raise conflict("Go Standby is enabled only in a split brain: both servers active and communicating again")
        # Standby first, so no new login lands between the logout and the role change.
        s.set_awaiting_repair(True)
        self.roles.set_role(Role.STANDBY, "Go Standby: split brain remediation, returning to the standby role")
        await self._logout(False)
        s.message(
            "warning",
            "Go Standby: every user session on this server was logged out; reconcile the "
            "data with ipicsedr_control_repl REPAIR (as informix) and ipicsrsync run "
            "ipicsadmin (on the primary)",
        )
        s.kick()
        if s.designation() == ServerDesignation.PRIMARY:
            return (
                "this server is standby now; Cisco recommends keeping the primary active and "
                "returning the secondary to standby instead"
            )
        return "this server is standby now; logins here are redirected to the active server"


class IpicsServices:
    """``service ipics stop|start``: this server's IPICS services, as its partner sees them."""

    def __init__(self, state: NodeState, roles: Roles):
        self.state = state
        self.roles = roles

    def stop(self) -> None:
        """``service ipics stop``: this server stops serving and heartbeating; to the
        partner it looks down."""
        s = self.state
        if s.suspended:
            return
        s.suspended = True
        s.partner_view = None
        log.warning("IPICS services stopped: no heartbeats, no replication, no clients")

    def start(self) -> None:
        """``service ipics start``: IPICS starts as after a reboot: in a configured pair it
        joins as the standby (no failback) and the heartbeats decide from there."""
        s = self.state
        if not s.suspended:
            return
        s.suspended = False
        s.missed_now = 0
        if s.ha == HAState.CONFIGURED and s.role != Role.STANDBY:
            self.roles.cancel_transition()
            self.roles.set_role(Role.STANDBY, "IPICS services started: joining the pair as standby")
        s.synchronized = False
        log.warning("IPICS services started")
        s.kick()
