"""Replication: the active's shipper and the standby's side of it.

Every write on the active is committed and appended to the transaction log; the
shipper sends the entries in order to the standby, which applies them with its
position and acknowledges; acked entries are trimmed.  A gap or a foreign log makes
the standby adopt a snapshot (``adoption``).

Chapter: Overview (a secondary hot standby server); Reestablishing HA Configuration
After Prolonged Server Downtime (the transaction log; its fill level is
``transaction_log``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..adapters.httpclient import Reply, Unreachable
from ..adapters.peer import PeerLink
from ..core.records import Record
from ..core.roles import HAState, Role
from .node import NodeState, run_on_wakeup
from .transaction_log import TransactionLogWatch

log = logging.getLogger("ipics.ha")

SHIP_BATCH = 500


class Replication:
    """Active: ship the transaction log.  Standby: apply what is shipped, serve snapshots."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        txlog: TransactionLogWatch,
        *,
        synchronize: Callable[[], Coroutine[Any, Any, None]],
        on_file_records: Callable[[list[str]], None],
    ):
        self.state = state
        self.peer = peer
        self.txlog = txlog
        self._synchronize = synchronize  # a gap or a foreign log: adopt a snapshot
        self._on_file_records = on_file_records  # the file fetcher's cue
        self._lag_ms: list[float] = []

    def on_local_write(self, seq: int | None = None) -> None:
        if seq is not None:
            self.state.last_logged_seq = max(self.state.last_logged_seq, seq)
        self.state.ship_wakeup.set()

    async def shipper_loop(self) -> None:
        """Active: ship transaction-log entries to the standby in order, trim what it acked."""

        async def work():
            await self.txlog.check()
            await self._ship_pending()
            await self.txlog.check()

        await run_on_wakeup(self.state, self.state.ship_wakeup, work, "replication shipper")

    async def _ship(self, entries: list[tuple[int, Record]]) -> Reply:
        s = self.state
        reply = await self.peer.call(
            "POST",
            "/peer/replicate",
            {"log_id": s.store.log_id, "entries": [{"seq": seq, "record": r.to_json()} for seq, r in entries]},
        )
        if reply.ok:
            s.advance_acked(int(reply.body["applied_seq"]))
            await s.store.trim_log(s.acked_seq)
        return reply

    async def _ship_pending(self) -> None:
        s = self.state
        while (
            s.role == Role.ACTIVE
            and s.ha == HAState.CONFIGURED
            and s.partner_view
            and s.partner_view.get("role") == Role.STANDBY.value
            and s.partner_view.get("ready")
            and s.missed_now == 0
        ):
            entries = await s.store.log_after(s.acked_seq, SHIP_BATCH)
            if not entries:
                return
            reply = await self._ship(entries)
            if reply.status == 409:
                s.partner_view = {**s.partner_view, "ready": False}
                return
            if not reply.ok:
                raise Unreachable(f"replicate answered {reply.status}")

    async def drain_log(self) -> None:
        """Failover Now: the role is already standby; ship directly what the log still holds."""
        while True:
            entries = await self.state.store.log_after(self.state.acked_seq, SHIP_BATCH)
            if not entries or not (await self._ship(entries)).ok:
                return

    # ------------------------------------------------------------ the standby's side
    async def apply(self, body: dict[str, Any]) -> str | None:
        """Standby: apply shipped entries (``log_id``, ``entries``) in order.  The refusal
        (``not_ready``, ``need_snapshot``), or None once applied."""
        s = self.state
        applied = s.applied
        if s.role != Role.STANDBY or not s.synchronized:
            return "not_ready"
        entries, log_id = body["entries"], body["log_id"]
        if log_id != applied[0] or (entries and entries[0]["seq"] > applied[1] + 1):
            s.synchronized = False
            asyncio.get_running_loop().create_task(self._synchronize())
            return "need_snapshot"
        fresh = [e for e in entries if e["seq"] > applied[1]]
        if fresh:
            records = [Record.from_json(e["record"]) for e in fresh]
            applied = (log_id, fresh[-1]["seq"])
            await s.store.apply_replicated(records, applied)
            s.applied = applied
            now = s.clock.now()
            self._lag_ms.extend(s.clock.real_seconds(now - r.updated_at) * 1000 for r in records)
            del self._lag_ms[:-10000]
            if any(r.table == "files" for r in records):
                self._on_file_records([r.key for r in records if r.table == "files"])
            s.events.publish({"type": "replicated", "count": len(records)})
        return None

    @property
    def applied_seq(self) -> int:
        """The last entry of the active's log applied here."""
        return self.state.applied[1]

    async def snapshot(self) -> str:
        """This server's data for the partner to adopt (or merge, at Configure), as JSON."""
        s = self.state
        records, seq = await s.store.snapshot()
        if s.role == Role.ACTIVE:
            # The standby adopts this snapshot: what the log held up to here is covered.
            s.acked_seq = seq
            await s.store.trim_log(seq)
            s.ship_wakeup.set()
        return await asyncio.to_thread(_snapshot_body, s.store.log_id, seq, records)

    def lag_ms(self) -> list[float]:
        return list(self._lag_ms)


def _snapshot_body(log_id: str, seq: int, records: list[Record]) -> str:
    return json.dumps({"log_id": log_id, "seq": seq, "records": [r.to_json() for r in records]})
