"""The server's SQLite database: replicated records, the transaction log, local settings.

All SQLite work runs on one dedicated thread, so the event loop that sends heartbeats
never waits on the disk (a stalled loop misses heartbeats and causes a false failover),
and statements never interleave.

Tables
- ``records``: every replicated record (tombstones included).
- ``txlog``: the transaction log; entries the standby has not acknowledged yet.
- ``local``: this server's own settings (licenses, trust, HA state); never replicated.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..core.records import Record

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT, updated_at REAL NOT NULL,
    origin TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (tbl, key)
);
CREATE TABLE IF NOT EXISTS txlog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT,
    updated_at REAL NOT NULL, origin TEXT NOT NULL, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS local (k TEXT PRIMARY KEY, v TEXT NOT NULL);
-- unique names (channels, ...) are checked through this index, not a table scan
CREATE INDEX IF NOT EXISTS records_name_key ON records(tbl, json_extract(value, '$.name_key'));
"""


class NameTaken(Exception):
    """``upsert`` with ``unique_name`` found a live record of that name."""


def _row_to_record(row: sqlite3.Row | tuple) -> Record:
    tbl, key, value, updated_at, origin, version = row
    return Record(tbl, key, None if value is None else json.loads(value), updated_at, origin, version)


def _record_params(r: Record) -> tuple:
    value = None if r.value is None else json.dumps(r.value, separators=(",", ":"))
    return (r.table, r.key, value, r.updated_at, r.origin, r.version)


class Store:
    """Async front of the SQLite database; every method runs on the store's own thread."""

    def __init__(self, path: Path):
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._db: sqlite3.Connection | None = None
        self.log_id = ""

    # -- lifecycle ---------------------------------------------------------------
    def open_sync(self) -> None:
        """Open at start-up, before the event loop serves anything."""
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db
        log_id = self._get_local("txlog_id")
        if log_id is None:
            log_id = uuid.uuid4().hex
            self._set_local("txlog_id", log_id)
        self.log_id = log_id

    def close(self) -> None:
        def _close():
            if self._db is not None:
                self._db.close()
                self._db = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)

    @property
    def _conn(self) -> sqlite3.Connection:
        """The open connection (only the store thread uses it, between open and close)."""
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def _run(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def run_sync(self, fn: Callable[..., T], *args) -> T:
        return self._executor.submit(fn, *args).result()

    # -- local settings ------------------------------------------------------------
    def _get_local(self, k: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT v FROM local WHERE k=?", (k,)).fetchone()
        return default if row is None else json.loads(row[0])

    def _set_local(self, k: str, v: Any) -> None:
        self._conn.execute("INSERT OR REPLACE INTO local(k, v) VALUES (?, ?)", (k, json.dumps(v)))

    def get_local_sync(self, k: str, default: Any = None) -> Any:
        return self.run_sync(self._get_local, k, default)

    def set_local_sync(self, k: str, v: Any) -> None:
        self.run_sync(self._set_local, k, v)

    async def get_local(self, k: str, default: Any = None) -> Any:
        return await self._run(self._get_local, k, default)

    async def set_local(self, k: str, v: Any) -> None:
        await self._run(self._set_local, k, v)

    # -- records -------------------------------------------------------------------
    def _get(self, table: str, key: str) -> Record | None:
        row = self._conn.execute(
            "SELECT tbl, key, value, updated_at, origin, version FROM records WHERE tbl=? AND key=?",
            (table, key),
        ).fetchone()
        return None if row is None else _row_to_record(row)

    async def get(self, table: str, key: str) -> Record | None:
        return await self._run(self._get, table, key)

    async def table(self, table: str) -> list[Record]:
        def _list():
            rows = self._conn.execute(
                "SELECT tbl, key, value, updated_at, origin, version FROM records "
                "WHERE tbl=? AND value IS NOT NULL ORDER BY key",
                (table,),
            ).fetchall()
            return [_row_to_record(r) for r in rows]

        return await self._run(_list)

    def _write(self, record: Record, log: bool) -> int | None:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", _record_params(record))
            seq = None
            if log:
                cur = db.execute(
                    "INSERT INTO txlog(tbl, key, value, updated_at, origin, version) VALUES (?, ?, ?, ?, ?, ?)",
                    _record_params(record),
                )
                seq = cur.lastrowid
            db.execute("COMMIT")
            return seq
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def write(self, record: Record, *, log: bool) -> int | None:
        """Commit one record; with ``log`` also append it to the transaction log."""
        return await self._run(self._write, record, log)

    async def upsert(self, table: str, key: str, value: dict | None, **kw: Any) -> Record:
        """``upsert_logged`` without the log position."""
        return (await self.upsert_logged(table, key, value, **kw))[0]

    async def upsert_logged(
        self,
        table: str,
        key: str,
        value: dict | None,
        *,
        updated_at: float,
        origin: str,
        log: bool,
        unique_name: str | None = None,
        create_only: bool = False,
    ) -> tuple[Record, int | None]:
        """The record and its position in the transaction log (None: not logged).

        Write the next version of a record (version read and bumped on the store thread).

        With ``unique_name`` the value gets ``name_key`` and the write is refused with
        ``NameTaken`` if a live record of the table has it; with ``create_only``, if the
        key itself is live.  Check and write are one job on the store thread, so two
        concurrent creates cannot both pass.
        """

        def _upsert():
            if unique_name is not None:
                if value is None:
                    raise ValueError("unique_name is for a live value, not a deletion")
                value["name_key"] = unique_name
                taken = self._conn.execute(
                    "SELECT 1 FROM records WHERE tbl=? AND json_extract(value, '$.name_key')=? AND key<>?",
                    (table, unique_name, key),
                ).fetchone()
                if taken:
                    raise NameTaken(unique_name)
            old = self._get(table, key)
            if create_only and old is not None and not old.deleted:
                raise NameTaken(key)
            record = Record(table, key, value, updated_at, origin, 1 if old is None else old.version + 1)
            return record, self._write(record, log)

        return await self._run(_upsert)

    async def apply_replicated(self, records: Iterable[Record], applied: tuple[str, int]) -> None:
        """A standby applies what the active shipped, and where it got to, atomically.

        Never logged here: a standby ships nothing.
        """
        batch = [_record_params(r) for r in records]

        def _apply():
            db = self._conn
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)", batch)
            self._set_local("applied", list(applied))
            db.execute("COMMIT")

        await self._run(_apply)

    async def write_if_unchanged(self, changes: Iterable[tuple[Record, int | None]]) -> set[tuple[str, str]]:
        """REPAIR: write each record, logged, only if the local record still has the
        version the repair read (None: still absent), so an update made meanwhile is
        never overwritten by an older copy.  Returns the ids written."""
        batch = list(changes)

        def _apply():
            written = set()
            for record, expected in batch:
                current = self._get(record.table, record.key)
                if (current.version if current else None) != expected:
                    continue
                if current is not None:
                    record = Record(
                        record.table,
                        record.key,
                        record.value,
                        record.updated_at,
                        record.origin,
                        max(record.version, current.version + 1),
                    )
                self._write(record, log=True)
                written.add(record.id)
            return written

        return await self._run(_apply)

    async def all_of(self, table: str) -> list[Record]:
        """Every record of a table, tombstones included (REPAIR compares them too)."""

        def _list():
            rows = self._conn.execute(
                "SELECT tbl, key, value, updated_at, origin, version FROM records WHERE tbl=?", (table,)
            ).fetchall()
            return [_row_to_record(r) for r in rows]

        return await self._run(_list)

    async def snapshot(self) -> tuple[list[Record], int]:
        """Every record and the transaction-log position they include, consistently."""

        def _snap():
            rows = self._conn.execute("SELECT tbl, key, value, updated_at, origin, version FROM records").fetchall()
            return [_row_to_record(r) for r in rows], self._last_seq()

        return await self._run(_snap)

    async def replace_all(self, records: Iterable[Record], applied: tuple[str, int] | None = None) -> None:
        """Adopt a whole data set (a snapshot from the active, or the merge at Configure)."""
        batch = [_record_params(r) for r in records]

        def _replace():
            db = self._conn
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM records")
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", batch)
            if applied is not None:
                self._set_local("applied", list(applied))
            db.execute("COMMIT")

        await self._run(_replace)

    # -- transaction log -------------------------------------------------------------
    def _last_seq(self) -> int:
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name='txlog'").fetchone()
        return 0 if row is None else row[0]

    async def log_after(self, seq: int, limit: int) -> list[tuple[int, Record]]:
        def _after():
            rows = self._conn.execute(
                "SELECT seq, tbl, key, value, updated_at, origin, version FROM txlog "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
            return [(r[0], _row_to_record(r[1:])) for r in rows]

        return await self._run(_after)

    async def trim_log(self, upto_seq: int) -> None:
        await self._run(lambda: self._conn.execute("DELETE FROM txlog WHERE seq <= ?", (upto_seq,)))

    async def log_stats(self) -> tuple[int, int]:
        """(entries held, last sequence number)."""

        def _stats():
            # The log is trimmed from the front only, so its entries are contiguous:
            # two index lookups instead of a COUNT(*) scan, which matters when the log
            # holds a long downtime's worth and is checked after every write.
            first, last = self._conn.execute("SELECT MIN(seq), MAX(seq) FROM txlog").fetchone()
            return (0 if first is None else last - first + 1), self._last_seq()

        return await self._run(_stats)
