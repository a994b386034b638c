"""What the fault campaign records for its checker while it runs.

Every acknowledged write (``Ack``), every operation the clients invoked with its
outcome (``Op``, Jepsen's history), when each server's role changed (two watchers poll
the HA status), and the servers' discarded logs, kept as they go (each server keeps
only its last 1000).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ipics_lab import checker
from ipics_lab.campaign_pair import CampaignClock, CampaignPair
from ipics_lab.checker import Ack, Op
from ipics_server.adapters.httpclient import ApiClient, Unreachable


class History:
    def __init__(self, clock: CampaignClock, servers: CampaignPair, notes: list[str]):
        self.clock = clock
        self.servers = servers
        self.notes = notes
        self.acks: list[Ack] = []
        #: every operation the clients invoked, with its outcome (Jepsen's history)
        self.ops: list[Op] = []
        #: (real seconds, server, role) whenever a server's role changes (or it stops answering)
        self.role_history: list[tuple[float, str, str]] = []
        self.discarded: dict[str, list[dict]] = {"primary": [], "secondary": []}
        self._ack_seq = 0

    def invoke(self, **kw) -> int:
        """An operation is about to be sent: its place in the history."""
        self.ops.append(Op(seq=len(self.ops) + 1, invoked_s=self.clock.now(), **kw))
        return len(self.ops) - 1

    def complete(self, index: int, outcome: str, why: str = "", key: str | None = None) -> None:
        op = self.ops[index]
        self.ops[index] = replace(op, outcome=outcome, completed_s=self.clock.now(), why=why, key=key or op.key)

    def record_ack(self, **kw) -> Ack:
        self._ack_seq += 1
        ack = Ack(seq=self._ack_seq, at_s=self.clock.now(), **kw)
        self.acks.append(ack)
        return ack

    def became_active_at(self, name: str) -> float | None:
        """When the server last took the active role (from another role; coming back
        from a pause as active is not a takeover)."""
        known, since = None, None
        for t, n, role in self.role_history:
            if n != name or role == "unreachable":
                continue
            if role == "active" and known != "active":
                since = t
            known = role
        return since

    async def watch_roles(self, name: str, stop: asyncio.Event) -> None:
        server, last = self.servers.server(name), None
        async with ApiClient(server.url, timeout_s=1) as c:
            while not stop.is_set():
                try:
                    body = (await c.get("/api/v1/ha/status")).body
                    role = body.get("role", "?") if isinstance(body, dict) else "?"
                except Unreachable:
                    role = "unreachable"
                if role != last:
                    self.role_history.append((self.clock.now(), name, role))
                    last = role
                await asyncio.sleep(0.02)  # polling period

    def collect_discarded(self) -> None:
        """Keep the servers' discarded logs as they are now: each keeps only its last 1000."""
        for s in self.servers.pair.servers:
            try:
                entries = checker.read_discarded(s.data_dir / "ipics.sqlite3")
            except Exception as exc:  # noqa: BLE001 - e.g. killed mid-write: read it next time
                self.notes.append(f"reading the {s.name}'s discarded log failed once: {exc}")
                continue
            self.discarded[s.name] = checker.dedupe([*self.discarded[s.name], *entries])
