"""One file per run: everything needed to debrief it later, on any machine, without servers.

A recording is JSON Lines.  The first line is the header; every other line is one
record with its real and emulated seconds since the run started (``at``, ``emulated``):

    {"format": "ipics-lab-recording", "version": 1, "kind": "exercise", "name": ..., ...}
    {"type": "event", "at": 1.2, "emulated": 60.0, "kind": "fault", "text": ..., "server": ..., "ok": null}
    {"type": "status", "at": ..., "emulated": ..., "server": "primary", "view": {...}}
    {"type": "action", "at": ..., "emulated": ..., "server": "secondary", "entry": {...}}
    {"type": "result", "at": ..., "emulated": ..., "result": {...}}

``event`` is a timeline event (``trainer.timeline.Event``); ``status`` a server's view
as the trainer's monitor saw it, written when it changed (``STATUS_FIELDS``); ``action``
an administrator's action from a server's audit trail (``server/audit.py``: what the
trainee did, as the server saw it); ``result`` what a run ended with (a grade, the
writes lost, the durations), any number of them, the last one counting.

``RecordingWriter`` writes as the run goes (lines buffered, flushed off the event loop
about once a second, so a crash loses a second at most); ``read_recording`` reads a
file back, refusing a damaged or foreign one with a sentence that says where and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger("ipics.recording")

FORMAT = "ipics-lab-recording"
VERSION = 1
SUFFIX = ".ipicsrec"
TYPES = ("event", "status", "action", "result")
#: the fields of a server's view kept in a recording (what the panel shows; not the
#: whole status document, which is large and would make a 2-hour file slow to open)
STATUS_FIELDS = (
    "reachable",
    "role",
    "ha",
    "standby_server_status",
    "missed_now",
    "missed_count",
    "txlog_percent",
    "txlog_state",
    "split_brain",
    "services",
    "last_log",
)
#: a line longer than this is not one this program wrote
MAX_LINE = 1_000_000
FLUSH_EVERY_S = 1.0


def default_recording_path(folder: Path, kind: str, started_at: float) -> Path:
    """``<folder>/recordings/<UTC time>-<kind>.ipicsrec``: sorted by time, the kind at a glance."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at))
    return folder / "recordings" / f"{stamp}-{kind}{SUFFIX}"


class RecordingError(ValueError):
    """A file that is not a recording this program can replay; ``str()`` says why."""


@dataclass
class Header:
    kind: str  #: scenario, exercise, campaign, gameday, lab
    name: str
    started_at: float  #: Unix time the run started
    time_scale: float
    topology: str = "loopback"
    modes: str = "ipics"
    #: anything else the run wants kept (an exercise's goal and time limit, a seed ...)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}


@dataclass
class Recording:
    path: Path
    header: Header
    records: list[dict[str, Any]]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == kind]

    @property
    def duration_s(self) -> float:
        """Real seconds from the start to the last record."""
        return max((r["at"] for r in self.records), default=0.0)

    @property
    def emulated_s(self) -> float:
        return max((r["emulated"] for r in self.records), default=0.0)

    @property
    def result(self) -> dict[str, Any] | None:
        results = self.of_type("result")
        return results[-1]["result"] if results else None


def status_digest(view: Any) -> dict[str, Any]:
    """The ``STATUS_FIELDS`` of a monitor's ``ServerView`` (or of a dict of them)."""
    get = view.get if isinstance(view, dict) else lambda k, d=None: getattr(view, k, d)
    return {k: get(k) for k in STATUS_FIELDS}


class RecordingWriter:
    """Appends records to a recording file as the run goes."""

    def __init__(self, path: Path, header: Header):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(path, "w", encoding="utf-8")  # noqa: SIM115 (open for the run)
        # a deque: appended on the event loop, drained in a worker thread (both thread-safe)
        self._pending: deque[str] = deque([json.dumps(header.to_json())])
        self._last_status: dict[str, dict[str, Any]] = {}
        self._flusher: asyncio.Task | None = None
        # one writer of the file at a time: the flushing thread, or a synchronous close.  A
        # thread cannot be cancelled: a flush cancelled mid-write (``close``) leaves its write
        # running, and the close's own write waits here for it, so nothing is lost nor reordered.
        self._write_lock = threading.Lock()

    def _line(self, record_type: str, at: float, emulated: float, **fields: Any) -> None:
        if self._file is None:
            return
        self._pending.append(json.dumps({"type": record_type, "at": at, "emulated": round(emulated, 3), **fields}))

    # ------------------------------------------------------------------ records
    def event(self, event: Any) -> None:
        """A timeline event (``Event``: its own ``at`` and ``emulated``)."""
        self._line(
            "event", event.at, event.emulated, kind=event.kind, text=event.text, server=event.server, ok=event.ok
        )

    # ``at``, ``emulated``: real and emulated seconds since the run started, on the
    # run's timeline (``Timeline.now``), the same as its events'
    def status(self, server: str, view: Any, at: float, emulated: float) -> None:
        """A server's view, written only when it changed since the last one."""
        digest = status_digest(view)
        if self._last_status.get(server) == digest:
            return
        self._last_status[server] = digest
        self._line("status", at, emulated, server=server, view=digest)

    def action(self, server: str, entry: dict[str, Any], at: float, emulated: float) -> None:
        self._line("action", at, emulated, server=server, entry=entry)

    def result(self, result: dict[str, Any], at: float, emulated: float) -> None:
        self._line("result", at, emulated, result=result)

    # ------------------------------------------------------------------ writing
    def start(self) -> None:
        """Flush about once a second from now on, off the event loop."""
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            await asyncio.to_thread(self._drain)

    def _drain(self) -> None:
        """Write every pending line, in order (the lines are taken under the lock, so a
        flush in a thread and a synchronous close never reorder nor lose one)."""
        with self._write_lock:
            if self._file is None:
                return
            lines = []
            while self._pending:
                lines.append(self._pending.popleft())
            if lines:
                _write(self._file, lines)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
        self.close_now()

    def close_now(self) -> None:
        """The rest written and the file closed, without the event loop: for a lab
        stopped from synchronous code (``TrainerLab.stop``); a few lines, a few ms."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self._drain()
        with self._write_lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _write(f: TextIO, lines: Iterable[str]) -> None:
    f.write("".join(line + "\n" for line in lines))
    f.flush()


# ------------------------------------------------------------------------- reading
def read_recording(path: Path) -> Recording:
    """The recording in ``path``; ``RecordingError`` for a file that is not one, is
    damaged (a line that is not a record, a time that is not one) or from a newer version."""
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with f:
        try:
            first = f.readline(MAX_LINE)
            header = _header(path, first)
            records = [_record(path, n, line) for n, line in enumerate(f, start=2) if line.strip()]
        except UnicodeDecodeError:
            raise RecordingError(f"{path} is not a recording of the IPICS HA Lab: it is not text") from None
    return Recording(path, header, records)


def _header(path: Path, line: str) -> Header:
    foreign = f"{path} is not a recording of the IPICS HA Lab"
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        raise RecordingError(f"{foreign}: its first line is not a recording's header") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordingError(f"{foreign}: its first line does not say format {FORMAT!r}")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RecordingError(
            f"{path} was recorded by a newer version of the lab (format version {version}); "
            f"this one replays version {VERSION}: update the lab to replay it"
        )
    try:
        return Header(
            kind=str(data["kind"]),
            name=str(data["name"]),
            started_at=float(data["started_at"]),
            time_scale=float(data["time_scale"]),
            topology=str(data.get("topology", "loopback")),
            modes=str(data.get("modes", "ipics")),
            details=dict(data.get("details") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: the header is damaged ({exc})") from None


def _record(path: Path, number: int, line: str) -> dict[str, Any]:
    where = f"{path}, line {number}"
    if len(line) >= MAX_LINE:
        raise RecordingError(f"{where}: a line longer than any this lab writes: the file is damaged")
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        raise RecordingError(f"{where} is not a record (cut short or changed by hand): the file is damaged") from None
    if not isinstance(record, dict) or record.get("type") not in TYPES:
        raise RecordingError(f"{where}: not a record of a type this lab writes ({', '.join(TYPES)})")
    for key in ("at", "emulated"):
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            raise RecordingError(f"{where}: {key} must be a number of seconds, not {value!r}")
    return record
