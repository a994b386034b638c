"""File replication: the standby fetches uploaded files' content, after their records.

Files replicate in their own, lower-priority queue: each file's content is fetched
from the active once its record is here and the file replication delay has passed.

Chapter: Overview (a secondary hot standby server ready to assume control); Resolving
a Split Brain Scenario (the uploaded files, ipicsrsync: ``repair``).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterable
from typing import Any

from ..adapters.httpclient import Unreachable
from ..adapters.peer import PeerLink
from ..core.records import Record
from ..core.roles import Role
from .node import NodeState, run_on_wakeup

log = logging.getLogger("ipics.ha")


class FileReplication:
    """Standby: fetch missing files from the active; both: hand a file to the partner."""

    def __init__(self, state: NodeState, peer: PeerLink):
        self.state = state
        self.peer = peer
        #: files neither server has (lost before a failover, or deleted by ipicsrsync):
        #: the fetcher skips them instead of waiting on them for ever
        self.unavailable: set[str] = set()

    def on_file_records(self, keys: Iterable[str]) -> None:
        """File records were replicated here: fetch their content."""
        # A file record that changed (its content restored on the active) is worth
        # fetching again, even if it was on neither server before.
        self.unavailable.difference_update(keys)
        self.state.files_wakeup.set()

    async def fetch_loop(self) -> None:
        """Standby: fetch uploaded files' content, after the records, at a lower priority."""
        await run_on_wakeup(self.state, self.state.files_wakeup, self._fetch_missing, "file replication")

    async def _fetch_missing(self) -> None:
        s = self.state

        def oldest_missing(records: list[Record]) -> list[Record]:
            return sorted(
                (r for r in records if r.key not in self.unavailable and not s.files.exists(r.key)),
                key=lambda r: r.updated_at,
            )

        while s.role == Role.STANDBY and s.synchronized:
            records = await s.store.table("files")
            # One pass of stat calls, off the loop; then oldest first.
            missing = await asyncio.to_thread(oldest_missing, records)
            if not missing:
                return
            for r in missing:
                if not (s.role == Role.STANDBY and s.synchronized):
                    return
                wait = r.updated_at + s.cfg.file_replication_delay_s - s.clock.now()
                if wait > 0:
                    await s.clock.sleep(wait)
                reply = await self.peer.call("GET", f"/peer/files/{r.key}")
                if reply.status == 404:
                    # The active does not have it either (it arrived just before a failover,
                    # or ipicsrsync deleted it): the download says to upload it again.
                    log.warning("file %s is on neither server: it must be uploaded again", r.key)
                    self.unavailable.add(r.key)
                    continue
                if not reply.ok:
                    return
                await s.files.write(
                    r.key,
                    base64.b64decode(reply.body["content"]),
                    mtime=r.value.get("uploaded_at") if r.value else None,
                )

    async def push(self, file_id: str, content: bytes, mtime: float) -> bool:
        """Synchronous replication: hand an upload's content to the standby now (it would
        otherwise fetch it later, at its lower priority); True once the standby has it."""
        try:
            reply = await self.peer.call(
                "PUT", f"/peer/files/{file_id}", {"content": base64.b64encode(content).decode(), "mtime": mtime}
            )
        except Unreachable:
            return False
        return reply.ok

    async def copy_from_partner(self, file_id: str) -> None:
        """Configure's merge: a file record from the partner brings its content along."""
        try:
            reply = await self.peer.call("GET", f"/peer/files/{file_id}")
        except Unreachable:
            return
        if reply.ok:
            await self.state.files.write(
                file_id, base64.b64decode(reply.body["content"]), mtime=reply.body.get("mtime")
            )

    async def for_partner(self, file_id: str) -> dict[str, Any] | None:
        """A file's content and mtime for the partner, or None if this server lacks it."""
        files = self.state.files
        try:
            content = await files.read(file_id)
            mtime = files.path(file_id).stat().st_mtime
        except (FileNotFoundError, ValueError):
            return None
        return {"content": base64.b64encode(content).decode(), "mtime": mtime}
