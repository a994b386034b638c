"""The HA status of one server: ``GET /api/v1/ha/status``, ``service ipics ha-status``,
the Administration Console and the trainer read it.

The fields scripts and outside tests rely on (``server``, ``role``, ``ha``,
``standby_server_status``, ``split_brain``, ``partner``, ``heartbeat``, ``replication``,
``time_scale``) stay as they are; ``api/responses.py``'s schema names every field.

Chapter: Configuring Cisco IPICS Servers for HA (Server Status, Standby Server
Status); Resolving a Split Brain Scenario (how long, which method).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..adapters.peer import PeerLink
from ..core.roles import Role, ServerDesignation
from ..core.split_brain import split_brain
from ..core.txlog import percent as txlog_percent
from .node import NodeState
from .synchronous import SynchronousReplication
from .witness import WitnessVote


class StatusReport:
    """What this server says about its HA state."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        *,
        repair_status: Callable[[], dict[str, Any]],
        synchronous: SynchronousReplication,
        witness: WitnessVote | None,
    ):
        self.state = state
        self.peer = peer
        self._repair_status = repair_status
        self._synchronous = synchronous
        self._witness = witness

    def split_brain_info(self) -> dict | None:
        s = self.state
        view = s.partner_view
        if not s.in_split_brain or view is None:  # in split brain, the partner was heard
            return None
        info = split_brain(s.clock.now(), s.active_since, view.get("active_since"))
        return {**info.as_dict(), "go_standby_on": ServerDesignation.SECONDARY.value}

    async def status(self) -> dict[str, Any]:
        s = self.state
        held, last_seq = await s.store.log_stats()
        d = s.designation()
        return {
            "server": d.value if d else None,
            "role": s.role.value,
            "ha": s.ha.value,
            "standby_server_status": st.value if (st := s.standby_server_status) else None,
            "split_brain": s.in_split_brain,
            "split": self.split_brain_info(),
            "awaiting_repair": s.awaiting_repair,
            "repair": self._repair_status(),
            "clock_skew_s": None if s.clock_skew_s is None else round(s.clock_skew_s, 1),
            "ntp_servers": list(s.ntp_servers),
            "messages": list(s.messages),
            "ipics_stopped": s.suspended,
            "partner": s.partner.address if s.partner else None,
            "partner_role": s.partner_role_heard(),
            "address": s.address,
            "active": s.active_address(),
            "heartbeat": {
                **s.settings.as_dict(),
                "missed_now": s.missed_now,
                "sent": s.heartbeats_sent,
                "missed_total": s.heartbeats_missed_total,
                "next_in_s": None
                if s.next_heartbeat_due is None
                else round(max(0.0, s.next_heartbeat_due - s.clock.monotonic()), 1),
            },
            "replication": {
                "pending": held if s.role == Role.ACTIVE else 0,
                "transaction_log_used_percent": round(txlog_percent(held, s.capacity), 2)
                if s.role == Role.ACTIVE
                else 0.0,
                "transaction_log_capacity": s.capacity,
                "transaction_log_state": s.txlog_state.value,
                "transaction_log_safeguard": s.txlog_safeguard,
                "last_seq": last_seq,
                "acked_seq": s.acked_seq,
                "applied": list(s.applied) if s.role == Role.STANDBY else None,
                "synchronized": s.synchronized if s.role == Role.STANDBY else None,
            },
            "transition": None
            if s.transition is None
            else {
                "to": s.transition.target.value,
                "remaining_s": round(max(0.0, s.transition.ends_at - s.clock.monotonic()), 1),
                "reason": s.transition.reason,
            },
            "services": dict(s.services.state),
            "peer_link": {
                "error": self.peer.error,
                "cut_inbound": self.peer.cut_inbound,
                "cut_outbound": self.peer.cut_outbound,
            },
            "modes": s.cfg.modes.as_dict(),
            "synchronous": self._synchronous.status(),
            "witness": None if self._witness is None else self._witness.status(),
            "decision": s.last_decision.reason,
            "time": s.clock.now(),
            "time_scale": s.clock.time_scale,
            "software_version": s.cfg.software_version,
        }
