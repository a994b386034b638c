"""Method 1 of Resolving a Split Brain Scenario: the database REPAIR and ipicsrsync.

``ipicsedr_control_repl REPAIR`` (as informix, on either server) starts one background
repair process per table on the active server; ``service ipics ha-status`` lists them
under "Pending Database Replication Synchronization Processes" until each is done.
When all are done the standby adopts the reconciled data and is Ready again.

``ipicsrsync run ipicsadmin`` (on the primary) reconciles the uploaded files and
writes its progress to ``/opt/cisco/ipics/database/logs/rsync.log``.

The rules themselves are pure, in ``core.repair``; the engine is reached through
``RepairHost``, which names all this code needs of it; the partner's side of the
peer calls is in ``api/peer_views.py``.

Chapter: Resolving a Split Brain Scenario (Method 1).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..adapters.files import FileStore
from ..adapters.httpclient import Reply, Unreachable
from ..adapters.store import Store
from ..clock import Clock
from ..core.records import Record, describe
from ..core.repair import TABLES, plan_files, plan_table
from ..core.roles import HAState, Role, ServerDesignation
from ..errors import conflict
from .node import Partner

log = logging.getLogger("ipics.repair")

REPAIR_REASON = "replaced by the primary's record in REPAIR"

#: Emulated seconds a table's repair process takes: long enough to watch in ha-status.
REPAIR_BASE_S = 20.0
REPAIR_PER_RECORD_S = 0.02
RSYNC_PER_DIRECTORY_S = 2.0
RSYNC_PER_FILE_S = 1.0

#: /opt/cisco/ipics/conf/fileDirectory: local source and remote destination directories.
FILE_DIRECTORIES = (
    "/idspri/backup/",
    "/opt/cisco/ipics/tomcat/current/webapps/ipics_files/",
    "/opt/cisco/ipics/tomcat/current/webapps/ipics_server/pmclogs/",
    "/idspri/archive/",
    "/idspri/db_table_archive/",
    "/opt/cisco/ipics/tomcat/current/webapps/documents/",
)
#: The uploaded IDC and phone content lives here (the lab's file store).
DOCUMENTS = "/opt/cisco/ipics/tomcat/current/webapps/documents/"


def file_directory_text() -> str:
    return "".join(f"{d:<64}{d.rstrip('/')}\n" for d in FILE_DIRECTORIES)


class PeerCalls(Protocol):
    """A call to the partner, within the deadline the peer link gives it."""

    async def call(self, method: str, path: str, json: Any = None, *, data: bytes | None = None) -> Reply: ...


class RepairHost(Protocol):
    """What REPAIR and ipicsrsync need of the HA engine, and nothing more."""

    @property
    def store(self) -> Store: ...
    @property
    def files(self) -> FileStore: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def peer(self) -> PeerCalls: ...
    @property
    def ha(self) -> HAState: ...
    @property
    def role(self) -> Role: ...
    @property
    def partner(self) -> Partner | None: ...
    @property
    def partner_view(self) -> dict[str, Any] | None: ...
    @property
    def missed_now(self) -> int: ...
    @property
    def in_split_brain(self) -> bool: ...
    def designation(self) -> ServerDesignation | None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task: ...
    def message(self, level: str, text: str) -> None: ...
    def on_local_write(self) -> None: ...
    async def log_discarded(self, lost: list[Record], reason: str) -> None: ...
    async def log_discarded_entries(self, lost: list[dict], reason: str) -> None: ...
    def adopt_after_repair(self, replaced: list[dict], reason: str) -> None: ...


class Reconciliation:
    """REPAIR and ipicsrsync on this server, and the partner's side of them."""

    def __init__(self, engine: RepairHost, *, rsync_log: Path):
        self.engine = engine
        self.processes: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] | None = None
        self._task: asyncio.Task | None = None
        self._rsync_task: asyncio.Task | None = None
        self.rsync_log = rsync_log

    # ------------------------------------------------------------------- status
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def local_status(self) -> dict[str, Any]:
        pending = [{"table": t, **p} for t, p in self.processes.items() if p["state"] != "done"]
        return {
            "running": self.running,
            "pending": pending,
            "last": self.summary,
            "rsync_running": self._rsync_task is not None and not self._rsync_task.done(),
        }

    def status(self) -> dict[str, Any]:
        """This server's repair, or the partner's (REPAIR runs on the active)."""
        mine = self.local_status()
        view = self.engine.partner_view if self.engine.missed_now == 0 else None
        theirs = (view or {}).get("repair")
        if not mine["running"] and isinstance(theirs, dict) and theirs.get("running"):
            return {**theirs, "on": "partner"}
        return mine

    # ------------------------------------------------------------------ REPAIR
    async def start(self) -> str:
        e = self.engine
        if e.ha != HAState.CONFIGURED:
            raise conflict("REPAIR needs a configured HA pair: HA is not configured on this server")
        if e.in_split_brain:
            raise conflict(
                "both servers are active (split brain): press Go Standby on the secondary "
                "server first (Method 1, step 2)"
            )
        if e.missed_now or e.partner_view is None:
            raise conflict("the partner server does not answer: REPAIR needs both servers up and communicating")
        if self.status()["running"]:
            raise conflict(
                f"a REPAIR is already running: {len(self.status()['pending'])} processes pending; "
                "watch service ipics ha-status"
            )
        if e.role == Role.STANDBY:
            try:
                reply = await e.peer.call("POST", "/peer/control", {"command": "repair"})
            except Unreachable:
                raise conflict("the active server does not answer on the peer link: REPAIR not started") from None
            if not reply.ok:
                raise conflict(str(reply.body.get("message") if isinstance(reply.body, dict) else reply.body))
            return reply.body["message"]
        if e.role != Role.ACTIVE or e.partner_view.get("role") != Role.STANDBY.value:
            raise conflict(f"REPAIR needs one active and one standby server; this server is {e.role.value}")
        self.processes = {t: {"state": "pending", "started_at": None} for t in TABLES}
        self.summary = None
        self._task = e.spawn(self._run())
        log.warning("REPAIR started: %d repair processes", len(TABLES))
        return (
            f"Database replication repair started: {len(TABLES)} repair processes running in the "
            "background. Monitor them with: service ipics ha-status"
        )

    async def _run(self) -> None:
        e = self.engine
        results = await asyncio.gather(*(self._repair_table(t) for t in TABLES), return_exceptions=True)
        failed = [f"{t}: {r}" for t, r in zip(TABLES, results, strict=True) if isinstance(r, BaseException)]
        replaced = [x for r in results if isinstance(r, dict) for x in r["replaced"]]
        self.summary = {
            "finished_at": e.clock.now(),
            "copied_to_active": sum(r["copied_here"] for r in results if isinstance(r, dict)),
            "copied_to_standby": sum(r["copied_to_partner"] for r in results if isinstance(r, dict)),
            "replaced_on_standby": len(replaced),
            "failed": failed,
        }
        if failed:
            e.message("error", "REPAIR failed for " + "; ".join(failed) + ": run it again")
            return
        e.on_local_write()
        try:
            reply = await e.peer.call("POST", "/peer/control", {"command": "repaired", "replaced": replaced})
            answered = reply.ok
        except Unreachable:
            answered = False
        if not answered:
            self.summary["failed"] = ["the standby did not take the repaired data"]
            e.message("error", "REPAIR finished but the standby did not answer; run REPAIR again when it is back")
            return
        log.warning("REPAIR finished: %s", self.summary)

    async def _repair_table(self, table: str) -> dict[str, Any]:
        e = self.engine
        proc = self.processes[table]
        proc.update(state="running", started_at=e.clock.now())
        try:
            reply = await e.peer.call("GET", f"/peer/table/{table}")
            if not reply.ok:
                raise RuntimeError(f"the partner refused: {reply.status}")
            mine = await e.store.all_of(table)
            primary = e.designation() == ServerDesignation.PRIMARY
            # Whole tables: parsed and compared off the loop, so heartbeats keep their beat.
            plan = await asyncio.to_thread(
                lambda: plan_table(
                    mine, [Record.from_json(r) for r in reply.body["records"]], active_is_primary=primary
                )
            )
            await e.clock.sleep(REPAIR_BASE_S + REPAIR_PER_RECORD_S * (len(mine) + len(reply.body["records"])))
            written = await e.store.write_if_unchanged(plan.write_here) if plan.write_here else set()
            replaced_here = [r for r in plan.replaced_here if r.id in written]
            if replaced_here:  # the active is the secondary: its copies gave way to the primary's
                await e.log_discarded(replaced_here, REPAIR_REASON)
        except BaseException:
            proc["state"] = "failed"
            raise
        proc["state"] = "done"
        log.info(
            "repair of %s: %d written on the active, %d copied to the standby, %d replaced there",
            table,
            len(written),
            plan.copied_to_partner,
            len(plan.replaced_on_partner),
        )
        return {
            "copied_here": len(written) - len(replaced_here),
            "replaced_here": len(replaced_here),
            "copied_to_partner": plan.copied_to_partner,
            "replaced": [
                {"table": r.table, "key": r.key, "description": describe(r), "updated_at": r.updated_at}
                for r in plan.replaced_on_partner
            ],
        }

    async def on_repaired(self, replaced: list[dict]) -> None:
        """The active's REPAIR is done: this standby logs what the primary's copies
        replace, then adopts the reconciled data and becomes Ready."""
        await self.engine.log_discarded_entries(replaced, REPAIR_REASON)
        self.engine.adopt_after_repair(replaced, REPAIR_REASON)

    # --------------------------------------------------------------- ipicsrsync
    async def start_rsync(self, user: str) -> str:
        e = self.engine
        if e.designation() != ServerDesignation.PRIMARY:
            raise conflict("ipicsrsync must be run on the primary server")
        if e.partner is None or e.ha == HAState.UNCONFIGURED:
            raise conflict("there is no HA partner to synchronize the files with")
        if e.missed_now or e.partner_view is None:
            raise conflict("the secondary server does not answer: ipicsrsync needs both servers up")
        if e.role != Role.ACTIVE or e.partner_view.get("role") != Role.STANDBY.value:
            # Files only on an active secondary are fresh uploads, not split-brain leftovers.
            raise conflict(
                "ipicsrsync runs when the primary is active and the secondary standby "
                f"(this server is {e.role.value}; finish Method 1, step 2 first)"
            )
        if self._rsync_task is not None and not self._rsync_task.done():
            raise conflict("ipicsrsync is already running; watch /opt/cisco/ipics/database/logs/rsync.log")
        self._rsync_task = e.spawn(self._rsync(user, e.partner.host))
        return "File system synchronization started; progress in /opt/cisco/ipics/database/logs/rsync.log"

    async def _rsync(self, user: str, peer_host: str) -> None:
        e = self.engine
        await self._rsync_line(f"ipicsrsync run by {user}: primary -> secondary {peer_host}")
        try:
            for directory in FILE_DIRECTORIES:
                await e.clock.sleep(RSYNC_PER_DIRECTORY_S)
                if directory != DOCUMENTS:
                    await self._rsync_line(f"{directory} -> {peer_host}:{directory.rstrip('/')}: nothing to transfer")
                    continue
                await self._rsync_documents(directory, peer_host)
        except (Unreachable, RuntimeError, OSError) as exc:
            await self._rsync_line(f"ERROR: {exc}; run ipicsrsync again when the secondary answers")
            e.message("error", f"ipicsrsync failed: {exc}")
            return
        await self._rsync_line("ipicsrsync finished")

    async def _rsync_documents(self, directory: str, peer_host: str) -> None:
        e = self.engine
        reply = await e.peer.call("GET", "/peer/files")
        if not reply.ok:
            raise RuntimeError(f"the secondary refused the file listing ({reply.status})")
        plan = plan_files(await e.files.listing(), reply.body["files"])
        dest = f"{peer_host}:{directory.rstrip('/')}"
        for fid in plan.copy_to_secondary:
            await e.clock.sleep(RSYNC_PER_FILE_S)
            content = await e.files.read(fid)
            mtime = e.files.path(fid).stat().st_mtime
            r = await e.peer.call(
                "PUT",
                f"/peer/files/{fid}",
                {"content": base64.b64encode(content).decode(), "mtime": mtime},
            )
            if not r.ok:
                raise RuntimeError(f"the secondary refused {fid} ({r.status})")
            await self._rsync_line(f"{directory}{fid} -> {dest}: copied ({len(content)} bytes)")
        for fid in plan.copy_to_primary:
            await e.clock.sleep(RSYNC_PER_FILE_S)
            r = await e.peer.call("GET", f"/peer/files/{fid}")
            if not r.ok:
                raise RuntimeError(f"the secondary did not send {fid} ({r.status})")
            await e.files.write(fid, base64.b64decode(r.body["content"]), mtime=r.body.get("mtime"))
            await self._rsync_line(f"{dest}/{fid} -> {directory}: newer on the secondary, copied to the primary")
        for fid in plan.delete_on_secondary:
            await e.clock.sleep(RSYNC_PER_FILE_S)
            r = await e.peer.call("DELETE", f"/peer/files/{fid}")
            if not r.ok:
                raise RuntimeError(f"the secondary did not delete {fid} ({r.status})")
            await self._rsync_line(f"deleting {dest}/{fid}: on the secondary only")
        await self._rsync_line(
            f"{directory} -> {dest}: {len(plan.copy_to_secondary)} copied, "
            f"{len(plan.copy_to_primary)} updated from the secondary, "
            f"{len(plan.delete_on_secondary)} deleted on the secondary"
        )

    async def _rsync_line(self, text: str) -> None:
        stamp = datetime.fromtimestamp(self.engine.clock.now(), tz=UTC).strftime("%Y/%m/%d %H:%M:%S")
        line = f"{stamp} {text}\n"
        log.info("rsync: %s", text)
        await asyncio.to_thread(_append, self.rsync_log, line)

    # ------------------------------------------------- the partner's side of them
    async def table_body(self, table: str) -> str | None:
        """A whole table for the active's repair process, as JSON; None if no such table."""
        if table not in TABLES:
            return None
        records = await self.engine.store.all_of(table)
        # A whole table: serialised off the loop, like the snapshot.
        return await asyncio.to_thread(lambda: json.dumps({"records": [r.to_json() for r in records]}))

    async def file_listing(self) -> dict[str, dict]:
        return await self.engine.files.listing()

    async def receive_file(self, file_id: str, content: bytes, mtime: float) -> None:
        """ipicsrsync copies a file here (raises ValueError for a bad file id)."""
        await self.engine.files.write(file_id, content, mtime=mtime)

    async def delete_file(self, file_id: str) -> None:
        """ipicsrsync deletes a file only this secondary has (ValueError for a bad file id)."""
        await self.engine.files.delete(file_id)
        log.warning("ipicsrsync deleted %s: it existed on the secondary only", file_id)


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as f:
        f.write(line)
