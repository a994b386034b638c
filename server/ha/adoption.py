"""Adoption: a standby takes the active's data, and the discarded log says what that cost.

A server that joins as standby (after a reboot, a takeover, a split brain, REPAIR)
adopts the active's snapshot; what it held that the active does not is logged with
the documented rule that removed it (``GET /api/v1/ha/discarded`` and server.log).

Chapter: HA Affect on the IDC Connections (no failback: the returning server becomes
the standby); Resolving a Split Brain Scenario (the standby's data after REPAIR).
"""

from __future__ import annotations

import asyncio
import logging

from ..adapters.httpclient import Unreachable
from ..adapters.peer import PeerLink
from ..core.records import Record, describe, discarded_on_adopt
from ..core.roles import Role
from .node import NodeState

log = logging.getLogger("ipics.ha")

DISCARD_LOG_LIMIT = 1000


class DiscardedLog:
    """Every record this server held that is gone, and why."""

    def __init__(self, state: NodeState):
        self.state = state
        self._lock = asyncio.Lock()

    async def log_records(self, lost: list[Record], reason: str | None = None) -> None:
        await self.log_entries(
            [{"table": r.table, "key": r.key, "description": describe(r), "updated_at": r.updated_at} for r in lost],
            reason or "accepted here but never reached the partner before the failover",
        )

    async def log_entries(self, lost: list[dict], reason: str) -> None:
        """The discarded log (``GET /api/v1/ha/discarded`` and server.log): every record
        this server held that is gone, and the documented rule that removed it."""
        async with self._lock:  # read-modify-write: REPAIR's table processes log at once
            await self._append(lost, reason)

    async def _append(self, lost: list[dict], reason: str) -> None:
        store = self.state.store
        when = self.state.clock.now()
        entries = await store.get_local("discarded", [])
        for d in lost:
            log.warning("discarded %s: %s", d["description"], reason)
            entries.append(
                {
                    "at": when,
                    "table": d["table"],
                    "key": d["key"],
                    "description": d["description"],
                    "updated_at": d["updated_at"],
                    "reason": reason,
                }
            )
        await store.set_local("discarded", entries[-DISCARD_LOG_LIMIT:])


class Adoption:
    """Standby: adopt the active's data (``synchronize_from_active``)."""

    def __init__(self, state: NodeState, peer: PeerLink, discarded: DiscardedLog):
        self.state = state
        self.peer = peer
        self.discarded = discarded
        self._lock = asyncio.Lock()
        #: records the standby already logged at REPAIR, not to log again at adoption
        self._logged: set[tuple[str, str]] = set()
        #: why records are discarded at the next adoption (None: the no-failback rule)
        self._reason: str | None = None

    def after_repair(self, replaced: list[dict], reason: str) -> None:
        """REPAIR is done and this standby logged what the primary's copies ``replaced``:
        adopt the reconciled data now, every difference replaced, and be Ready again."""
        s = self.state
        self._logged = {(d["table"], d["key"]) for d in replaced}
        self._reason = reason
        s.set_awaiting_repair(False)
        s.synchronized = False
        s.kick()

    async def synchronize_from_active(self) -> None:
        """Standby: adopt the active's data; log what this server had that it never shipped."""
        s = self.state
        if self._lock.locked():
            return
        async with self._lock:
            if s.role != Role.STANDBY or s.synchronized:
                return
            try:
                reply = await self.peer.call("GET", "/peer/snapshot")
            except Unreachable:
                return
            if not reply.ok:
                return
            local, _ = await s.store.snapshot()
            # Parsing and comparing whole data sets is CPU work: off the loop, so the
            # heartbeats keep their beat.
            after_repair = self._reason is not None
            records, lost = await asyncio.to_thread(_adoption, reply.body["records"], local, after_repair)
            lost = [r for r in lost if r.id not in self._logged]
            self._logged = set()
            await self._adopt(records, (reply.body["log_id"], int(reply.body["seq"])))
            reason, self._reason = self._reason, None
            if lost:
                await self.discarded.log_records(lost, reason)
            if s.role == Role.STANDBY:
                s.synchronized = True
                log.warning("synchronized from the active server: %d records, %d discarded", len(records), len(lost))
            s.files_wakeup.set()

    async def _adopt(self, records: list[Record], applied: tuple[str, int]) -> None:
        s = self.state
        await s.store.replace_all(records, applied=applied)
        # What this server logged while it was active is superseded by the active's
        # data; kept, it would count toward the 75/90 % when this server is active again.
        await s.store.trim_log(10**18)
        s.applied = applied


def _adoption(
    active_json: list[dict],
    local: list[Record],
    every_difference: bool = False,
) -> tuple[list[Record], list[Record]]:
    records = [Record.from_json(r) for r in active_json]
    # After REPAIR any copy of ours not kept was replaced, older ones too.
    return records, discarded_on_adopt(local, {r.id: r for r in records}, any_difference=every_difference)
