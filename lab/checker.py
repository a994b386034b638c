"""The fault campaign's checker: every acknowledged write, accounted for.

After a campaign has healed everything and run the documented recovery, the checker
reads both servers' databases (``records`` and the discarded-records log in
``local``), both file trees (``files/<id>``) and the primary's ``rsync.log``, and puts
every write a client got a 2xx for into one class:

``present_on_both``
    Both databases hold what the client wrote (an upload's content on both servers,
    with the acknowledged SHA-256).
``superseded_by_later_write``
    A later acknowledged write to the same record is what both hold (a channel
    created, then deleted).
``lost_not_replicated_before_failover``
    Gone from both, and the server that acknowledged it logged it as discarded:
    "accepted here but never reached the partner before the failover" (chapter: HA
    Affect on the IDC Connections, the lost Fire channel; no failback).
``replaced_by_primary_in_repair``
    Gone from both, and the server that acknowledged it logged it as "replaced by the
    primary's record in REPAIR" (Method 1: the primary's record is the master).
``deleted_by_rsync_secondary_only``
    An upload whose record is on both but whose content ipicsrsync deleted from the
    secondary as a file on the secondary only (Method 1, step 4), per ``rsync.log``.
``file_not_replicated_before_failover``
    An upload whose record is on both but whose content never reached the server
    that is active now, because a failover came shortly after the upload (chapter:
    photographs "uploaded to an incident shortly before a failover may need to be
    uploaded again"; the download answers 404 ``file_missing``): it was acknowledged
    by the other server before the active one took the active role.
``changed_by_operation_of_unknown_outcome``
    Both servers hold what a later operation on the same record would leave (a delete:
    a tombstone), an operation whose answer never came (connection reset, no reply:
    Jepsen's *info*).  It may have taken effect, so it explains the change; it is not
    a loss.
``unexplained``
    Anything else: a bug.  The reason says what was found.

The clients keep a history of every operation as Jepsen does: invoked, then *ok* (a
2xx), *fail* (refused: it did not happen) or *unknown* (no answer, or a 5xx that is not
a refusal: it may or may not have happened).  Only *ok* operations must be accounted
for; *unknown* ones may explain what became of them.

Besides the classes, invariants after recovery: both databases identical (``tbl,
key, value, updated_at, origin``), files as the rules say (every content matches its
record; the standby has every file the active has), exactly one active with the
standby Ready.

Per mode of the pair (``ipics_lab.modes``), the acknowledged writes lost: every one not
in the final data, whatever the explanation (the documented losses and the
unexplained; present, superseded and changed by an operation of unknown outcome are
kept).  The modes beyond IPICS each state a goal (``goals``): in strict synchronous
mode no acknowledged write is lost, with a witness no split brain is entered (the
campaign counts them from the roles it saw).  ``CheckResult.ok`` is false if any
write is unexplained, any invariant is broken or a goal of the pair's modes is missed.

Everything here is a pure function of the data passed in, except ``read_server``,
which reads a server's data directory read-only.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ipics_lab.modes import LabModes
from ipics_server.core.modes import ReplicationMode, SynchronousPolicy

PRESENT = "present_on_both"
SUPERSEDED = "superseded_by_later_write"
LOST_FAILOVER = "lost_not_replicated_before_failover"
REPLACED_REPAIR = "replaced_by_primary_in_repair"
DELETED_RSYNC = "deleted_by_rsync_secondary_only"
FILE_NOT_REPLICATED = "file_not_replicated_before_failover"
UNKNOWN_OUTCOME = "changed_by_operation_of_unknown_outcome"
UNEXPLAINED = "unexplained"
CLASSES = (
    PRESENT,
    SUPERSEDED,
    UNKNOWN_OUTCOME,
    LOST_FAILOVER,
    REPLACED_REPAIR,
    DELETED_RSYNC,
    FILE_NOT_REPLICATED,
    UNEXPLAINED,
)
#: outcomes of an operation in the clients' history
OK, FAIL, UNKNOWN = "ok", "fail", "unknown"
DOCUMENTED_LOSSES = (LOST_FAILOVER, REPLACED_REPAIR, DELETED_RSYNC, FILE_NOT_REPLICATED)
#: an acknowledged write in one of these classes is not lost: what it wrote is in the
#: final data, or a later write (or one that may have happened) replaced it
KEPT = (PRESENT, SUPERSEDED, UNKNOWN_OUTCOME)
#: the goals of the modes beyond IPICS (issue 18)
NO_WRITE_LOST = "no_acknowledged_write_lost"
NO_SPLIT_BRAIN = "no_split_brain"

#: the reasons the servers write into their discarded-records log (server/ha.py, server/repair.py)
NO_FAILBACK_REASON = "never reached the partner before the failover"
REPAIR_REASON = "replaced by the primary's record in REPAIR"
#: ipicsrsync's line for a file it deleted on the secondary (server/repair.py)
RSYNC_DELETED = re.compile(r"deleting (?P<host>[^\s:]+):(?P<dir>\S*)/(?P<fid>[0-9a-f]{32}): on the secondary only")

RecordId = tuple[str, str]


@dataclass(frozen=True)
class Ack:
    """One write a client got a 2xx for."""

    seq: int  # order of the acknowledgements in the whole campaign
    client: str
    op: str  # "create" (channel, incident), "delete" (channel), "upload" (file)
    table: str
    key: str
    server: str  # "primary" or "secondary": the server that acknowledged it
    at_s: float  # real seconds since the campaign started
    name: str | None = None
    sha256: str | None = None  # uploads: the content the client sent

    @property
    def id(self) -> RecordId:
        return (self.table, self.key)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Op:
    """One operation of a client's history: invoked at ``invoked_s``, then ``outcome``
    (``OK``, ``FAIL`` or ``UNKNOWN``) at ``completed_s``.  ``key`` is None for a create
    whose answer never came (the server picks the key); ``why`` says what the answer was."""

    seq: int  # order of invocation in the whole campaign
    client: str
    op: str  # "create", "delete", "upload"
    table: str
    key: str | None
    server: str
    invoked_s: float
    outcome: str = UNKNOWN
    completed_s: float | None = None
    name: str | None = None
    sha256: str | None = None
    why: str = ""

    @property
    def id(self) -> RecordId:
        return (self.table, self.key or "")

    def to_json(self) -> dict:
        return asdict(self)


def outcome_counts(history: Iterable[Op]) -> dict[str, int]:
    counts = {"invoked": 0, OK: 0, FAIL: 0, UNKNOWN: 0}
    for op in history:
        counts["invoked"] += 1
        counts[op.outcome] += 1
    return counts


@dataclass
class ServerState:
    """What one server holds on disk."""

    name: str  # "primary" or "secondary"
    host: str
    #: (tbl, key) -> (value or None for a tombstone, updated_at, origin, version)
    records: dict[RecordId, tuple[Any, float, str, int]]
    #: file id -> sha256 of the content in files/<id>
    files: dict[str, str]
    discarded: list[dict] = field(default_factory=list)
    rsync_log: str = ""
    status: dict | None = None


@dataclass
class Verdict:
    ack: Ack
    cls: str
    reason: str

    def to_json(self) -> dict:
        return {**self.ack.to_json(), "class": self.cls, "reason": self.reason}


@dataclass
class CheckResult:
    counts: dict[str, int]
    verdicts: list[Verdict]
    invariants: dict[str, dict]
    info: dict[str, Any]
    lost: dict[str, Any] = field(default_factory=dict)
    goals: dict[str, dict] = field(default_factory=dict)

    @property
    def unexplained(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.cls == UNEXPLAINED]

    @property
    def ok(self) -> bool:
        return (
            not self.unexplained
            and all(i["ok"] for i in self.invariants.values())
            and all(g["met"] for g in self.goals.values() if g["goal"])
        )

    def to_json(self, limit: int = 50) -> dict:
        return {
            "ok": self.ok,
            "counts": dict(self.counts),
            "acknowledged_writes_lost": self.lost,
            "goals": self.goals,
            "unexplained": [v.to_json() for v in self.unexplained],  # all of them: each is a bug
            "unexplained_total": len(self.unexplained),
            "documented_losses": {
                cls: [v.to_json() for v in self.verdicts if v.cls == cls][:limit] for cls in DOCUMENTED_LOSSES
            },
            "invariants": self.invariants,
            "info": self.info,
        }


# --------------------------------------------------------------------------- reading
def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def read_records(db_path: Path) -> dict[RecordId, tuple[Any, float, str, int]]:
    db = _connect_ro(db_path)
    try:
        rows = db.execute("SELECT tbl, key, value, updated_at, origin, version FROM records").fetchall()
    finally:
        db.close()
    return {(t, k): (None if v is None else json.loads(v), u, o, ver) for t, k, v, u, o, ver in rows}


def read_discarded(db_path: Path) -> list[dict]:
    """The server's discarded-records log (what ``GET /api/v1/ha/discarded`` answers)."""
    db = _connect_ro(db_path)
    try:
        row = db.execute("SELECT v FROM local WHERE k='discarded'").fetchone()
    finally:
        db.close()
    return [] if row is None else json.loads(row[0])


def read_files(files_dir: Path) -> dict[str, str]:
    out = {}
    if files_dir.is_dir():
        for path in files_dir.iterdir():
            if re.fullmatch(r"[0-9a-f]{32}", path.name):
                out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def read_server(
    name: str, host: str, data_dir: Path, *, status: dict | None = None, extra_discarded: Iterable[dict] = ()
) -> ServerState:
    """A server's state from its data directory, read-only.  ``extra_discarded``: log
    entries collected earlier (the server keeps only its last 1000)."""
    db = data_dir / "ipics.sqlite3"
    rsync = data_dir / "logs" / "rsync.log"
    discarded = dedupe([*extra_discarded, *read_discarded(db)])
    return ServerState(
        name=name,
        host=host,
        records=read_records(db),
        files=read_files(data_dir / "files"),
        discarded=discarded,
        rsync_log=rsync.read_text() if rsync.exists() else "",
        status=status,
    )


def dedupe(entries: Iterable[dict]) -> list[dict]:
    seen, out = set(), []
    for e in entries:
        k = json.dumps(e, sort_keys=True)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


# ------------------------------------------------------------------------- the rules
def _matches(rec: tuple | None, ack: Ack | Op) -> bool:
    """Does this copy of the record hold what the write acknowledged?"""
    if ack.op == "delete":
        return rec is None or rec[0] is None  # a tombstone, or never there at all
    if rec is None or rec[0] is None:
        return False
    value = rec[0]
    if ack.name is not None and value.get("name") != ack.name:
        return False
    return ack.sha256 is None or value.get("sha256") == ack.sha256


def _describe(rec: tuple | None) -> str:
    if rec is None:
        return "absent"
    if rec[0] is None:
        return f"a tombstone (origin {rec[2]}, v{rec[3]})"
    return f"{rec[0].get('name', '?')!r} (origin {rec[2]}, v{rec[3]})"


def rsync_deleted(rsync_log: str, secondary_host: str) -> set[str]:
    """File ids ipicsrsync deleted on the secondary as secondary-only."""
    return {m["fid"] for m in RSYNC_DELETED.finditer(rsync_log) if m["host"] == secondary_host}


def active_of(primary: ServerState, secondary: ServerState) -> ServerState | None:
    active = [s for s in (primary, secondary) if s.status and s.status.get("role") == "active"]
    return active[0] if len(active) == 1 else None


def classify(
    acks: Sequence[Ack],
    primary: ServerState,
    secondary: ServerState,
    *,
    unknown: Sequence[Op] = (),
    active_since_s: float | None = None,
    slack_s: float = 0.5,
) -> list[Verdict]:
    """One verdict per acknowledged write.

    ``unknown``: the operations of unknown outcome; one on the same record may explain
    what both servers hold (it may have taken effect at any time after it was invoked).

    ``active_since_s``: when (real seconds since the start) the server that is active
    now last took the active role.  An upload whose content that server lacks counts
    as "not replicated before a failover" only if it was acknowledged elsewhere before
    that takeover (``slack_s``: how far the clocks of the observations may be apart).
    """
    servers = {"primary": primary, "secondary": secondary}
    by_key: dict[RecordId, list[Ack]] = {}
    for a in sorted(acks, key=lambda a: a.seq):
        by_key.setdefault(a.id, []).append(a)
    maybe_by_key: dict[RecordId, list[Op]] = {}
    for u in unknown:
        if u.key is not None:
            maybe_by_key.setdefault(u.id, []).append(u)
    deleted_by_rsync = rsync_deleted(primary.rsync_log, secondary.host)
    active = active_of(primary, secondary)
    out = []
    for ack in sorted(acks, key=lambda a: a.seq):
        p, s = primary.records.get(ack.id), secondary.records.get(ack.id)
        on_p, on_s = _matches(p, ack), _matches(s, ack)
        if on_p and on_s:
            if ack.op == "upload":
                out.append(
                    _classify_content(ack, primary, secondary, active, deleted_by_rsync, active_since_s, slack_s)
                )
            else:
                out.append(Verdict(ack, PRESENT, "on both"))
            continue
        later = [a for a in by_key[ack.id] if a.seq > ack.seq]
        winner = next((a for a in reversed(later) if _matches(p, a) and _matches(s, a)), None)
        if winner is not None:
            out.append(
                Verdict(
                    ack,
                    SUPERSEDED,
                    f"both hold the later write #{winner.seq} ({winner.op} on the {winner.server} by {winner.client})",
                )
            )
            continue
        maybe = next((u for u in maybe_by_key.get(ack.id, ()) if _matches(p, u) and _matches(s, u)), None)
        if maybe is not None:
            out.append(
                Verdict(
                    ack,
                    UNKNOWN_OUTCOME,
                    f"both hold what the {maybe.op} (operation #{maybe.seq} on the "
                    f"{maybe.server} by {maybe.client}) leaves; its answer never "
                    f"came ({maybe.why}), so it may have taken effect",
                )
            )
            continue
        where = f"primary has {_describe(p)}, secondary has {_describe(s)}"
        if on_p or on_s:
            out.append(Verdict(ack, UNEXPLAINED, f"on one server only: {where}"))
            continue
        logged = [e for e in servers[ack.server].discarded if (e.get("table"), e.get("key")) == ack.id]
        if any(REPAIR_REASON in e.get("reason", "") for e in logged):
            out.append(Verdict(ack, REPLACED_REPAIR, f"the {ack.server} logged it: {REPAIR_REASON}; {where}"))
        elif any(NO_FAILBACK_REASON in e.get("reason", "") for e in logged):
            out.append(
                Verdict(
                    ack,
                    LOST_FAILOVER,
                    f"the {ack.server} logged it as discarded: accepted there "
                    f"but never reached the partner before the failover; {where}",
                )
            )
        else:
            other = [
                e.get("reason")
                for name, st in servers.items()
                if name != ack.server
                for e in st.discarded
                if (e.get("table"), e.get("key")) == ack.id
            ]
            also = f"; the other server logged: {other}" if other else ""
            out.append(
                Verdict(
                    ack,
                    UNEXPLAINED,
                    f"lost without a documented reason: {where}; nothing in the {ack.server}'s discarded log{also}",
                )
            )
    return out


def _classify_content(
    ack: Ack,
    primary: ServerState,
    secondary: ServerState,
    active: ServerState | None,
    deleted_by_rsync: set[str],
    active_since_s: float | None,
    slack_s: float,
) -> Verdict:
    fid = ack.key
    cp, cs = primary.files.get(fid), secondary.files.get(fid)
    wrong = [n for n, c in (("primary", cp), ("secondary", cs)) if c is not None and c != ack.sha256]
    if wrong:
        return Verdict(ack, UNEXPLAINED, f"content on the {' and '.join(wrong)} differs from the upload")
    if cp and cs:
        return Verdict(ack, PRESENT, "record and content on both")
    if cs is None and fid in deleted_by_rsync:
        return Verdict(
            ack,
            DELETED_RSYNC,
            f"ipicsrsync deleted {fid} on the secondary ({secondary.host}) as a "
            f"file on the secondary only; content on the primary: "
            f"{'yes' if cp else 'no'}",
        )
    if active is None:
        return Verdict(ack, UNEXPLAINED, "content missing and no single active server to judge by")
    standby = secondary if active is primary else primary
    if active.files.get(fid) is not None:
        return Verdict(
            ack,
            UNEXPLAINED,
            f"the active ({active.name}) has the content but the standby ({standby.name}) never fetched it",
        )
    if ack.server == active.name:
        return Verdict(
            ack, UNEXPLAINED, f"the {active.name} acknowledged the upload and is active, but its content is gone"
        )
    if active_since_s is None or active_since_s < ack.at_s - slack_s:
        since = "an unknown time" if active_since_s is None else f"{active_since_s:.2f}s"
        return Verdict(
            ack,
            UNEXPLAINED,
            f"content never reached the {active.name}, active since {since}, "
            f"before the upload on the {ack.server} at {ack.at_s:.2f}s: no failover "
            "after the upload explains it",
        )
    return Verdict(
        ack,
        FILE_NOT_REPLICATED,
        f"uploaded on the {ack.server} at {ack.at_s:.2f}s, {active_since_s - ack.at_s:.2f}s before the "
        f"{active.name} took the active role; the content never reached it: upload it again",
    )


# ----------------------------------------------------------------------- invariants
def _comparable(records: Mapping[RecordId, tuple]) -> dict[RecordId, tuple]:
    return {k: (json.dumps(v[0], sort_keys=True), v[1], v[2]) for k, v in records.items()}


def databases_identical(primary: ServerState, secondary: ServerState, examples: int = 5) -> dict:
    a, b = _comparable(primary.records), _comparable(secondary.records)
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    detail = (
        f"{len(a)} records on both"
        if not differ
        else (
            f"{len(differ)} of {len(a.keys() | b.keys())} records differ, e.g. "
            + "; ".join(
                f"{t}/{k}: primary {_describe(primary.records.get((t, k)))} vs secondary "
                f"{_describe(secondary.records.get((t, k)))}"
                for t, k in differ[:examples]
            )
        )
    )
    tables: dict[str, int] = {}
    for t, _ in differ:
        tables[t] = tables.get(t, 0) + 1
    # sessions whose tombstone (a logout) is on the primary only: see campaign.KNOWN_BUGS
    logout_only_on_primary = sum(
        1
        for t, k in differ
        if t == "sessions"
        and (primary.records.get((t, k)) or (1,))[0] is None
        and (secondary.records.get((t, k)) or (None,))[0] is not None
    )
    return {
        "ok": not differ,
        "detail": detail,
        "differing": len(differ),
        "differing_by_table": tables,
        "sessions_logged_out_on_primary_only": logout_only_on_primary,
    }


def exactly_one_active(primary: ServerState, secondary: ServerState) -> dict:
    st = {s.name: s.status or {} for s in (primary, secondary)}
    roles = {n: s.get("role") for n, s in st.items()}
    actives = [n for n, r in roles.items() if r == "active"]
    problems = []
    if len(actives) != 1:
        problems.append(f"{len(actives)} active servers")
    else:
        other = "secondary" if actives[0] == "primary" else "primary"
        if roles[other] != "standby":
            problems.append(f"the {other} is {roles[other]}, not standby")
        if st[actives[0]].get("standby_server_status") != "Ready":
            problems.append(f"Standby Server Status is {st[actives[0]].get('standby_server_status')}")
    if any(s.get("ha") != "configured" for s in st.values()):
        problems.append("HA not configured on both: " + ", ".join(f"{n} {s.get('ha')}" for n, s in st.items()))
    detail = "; ".join(problems) if problems else f"the {actives[0]} is active, the standby Ready"
    return {"ok": not problems, "detail": detail, "roles": roles}


def files_follow_rules(primary: ServerState, secondary: ServerState, examples: int = 5) -> tuple[dict, dict]:
    """Every content matches its record's SHA-256; the standby has every file the
    active has.  Returns (invariant, info about files without a live record)."""
    active = active_of(primary, secondary)
    live = {k: v for (t, k), v in primary.records.items() if t == "files" and v[0] is not None}
    problems = []
    for fid, rec in sorted(live.items()):
        for s in (primary, secondary):
            c = s.files.get(fid)
            if c is not None and c != rec[0].get("sha256"):
                problems.append(f"{fid} on the {s.name} does not match its record")
    missing: list[str] = []
    if active is not None:
        standby = secondary if active is primary else primary
        missing = sorted(fid for fid in live if fid in active.files and fid not in standby.files)
        if missing:
            problems.append(
                f"{len(missing)} files on the active ({active.name}) never reached the standby "
                f"({standby.name}), e.g. {', '.join(missing[:examples])}"
            )
    orphans = {s.name: sorted(f for f in s.files if f not in live) for s in (primary, secondary)}
    unavailable = sorted(fid for fid in live if active is not None and fid not in active.files)
    info = {
        "live_file_records": len(live),
        "content_without_live_record": {n: len(v) for n, v in orphans.items()},
        "records_without_content_on_active": len(unavailable),
    }
    return {
        "ok": not problems,
        "missing_on_standby": len(missing),
        "detail": "; ".join(problems[:examples])
        or f"{len(live)} files: contents match, the standby has every file the active has",
    }, info


# ------------------------------------------------------------------- modes and goals
def acknowledged_writes_lost(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Every acknowledged write not in the final data, documented or not, by class."""
    lost = [v for v in verdicts if v.cls not in KEPT]
    by_class = {cls: sum(1 for v in lost if v.cls == cls) for cls in (*DOCUMENTED_LOSSES, UNEXPLAINED)}
    unexplained = by_class[UNEXPLAINED]
    contents = by_class[DELETED_RSYNC] + by_class[FILE_NOT_REPLICATED]
    return {
        "total": len(lost),
        "explained": len(lost) - unexplained,
        "unexplained": unexplained,
        # an upload whose record survived but whose content did not (files replicate apart)
        "file_contents": contents,
        "by_class": by_class,
    }


def goals(modes: LabModes, lost: Mapping[str, Any], split_brains: int | None) -> dict[str, dict]:
    """Both measures, each saying whether it is a goal in these modes and whether it was
    met (``met`` is None for a split brain count nobody measured)."""
    strict = modes.replication == ReplicationMode.SYNCHRONOUS and modes.synchronous_policy == SynchronousPolicy.STRICT
    lost_n = int(lost.get("total", 0))
    return {
        NO_WRITE_LOST: {
            "goal": strict,
            "why": "strict synchronous replication: a write is acknowledged only once the standby has it"
            if strict
            else f"not a goal in {modes.name} mode: writes are acknowledged before the standby has them",
            "met": lost_n == 0,
            "detail": f"{lost_n} acknowledged writes lost",
        },
        NO_SPLIT_BRAIN: {
            "goal": modes.witness,
            "why": "a witness: a standby takes the active role only with its vote"
            if modes.witness
            else f"not a goal in {modes.name} mode: a standby that misses the heartbeats takes over alone",
            "met": None if split_brains is None else split_brains == 0,
            "detail": "not measured" if split_brains is None else f"{split_brains} split brains entered",
        },
    }


def check(
    acks: Sequence[Ack],
    primary: ServerState,
    secondary: ServerState,
    *,
    history: Sequence[Op] = (),
    active_since_s: float | None = None,
    slack_s: float = 0.5,
    extra_invariants: Mapping[str, dict] | None = None,
    modes: LabModes | None = None,
    split_brains: int | None = None,
) -> CheckResult:
    """``history``: every operation the clients invoked (``Op``); its unknown ones may
    explain what became of an acknowledged write.  ``modes``: the pair's (IPICS's when
    None), whose goals are checked; ``split_brains``: how many the campaign saw."""
    verdicts = classify(
        acks,
        primary,
        secondary,
        unknown=[op for op in history if op.outcome == UNKNOWN],
        active_since_s=active_since_s,
        slack_s=slack_s,
    )
    counts = {cls: 0 for cls in CLASSES}
    for v in verdicts:
        counts[v.cls] += 1
    files_inv, files_info = files_follow_rules(primary, secondary)
    invariants = {
        "databases_identical": databases_identical(primary, secondary),
        "files_follow_rules": files_inv,
        "exactly_one_active": exactly_one_active(primary, secondary),
        **(extra_invariants or {}),
    }
    acked_keys = {a.id for a in acks}
    info = {
        "acknowledged_writes": len(acks),
        "operations": outcome_counts(history),
        "records": len(primary.records),
        "records_without_acknowledged_write": {
            t: sum(1 for (tt, k) in primary.records if tt == t and (tt, k) not in acked_keys)
            for t in ("channels", "incidents", "files")
        },
        "discarded_logged": {s.name: len(s.discarded) for s in (primary, secondary)},
        "rsync_deleted_on_secondary": len(rsync_deleted(primary.rsync_log, secondary.host)),
        **files_info,
    }
    lost = acknowledged_writes_lost(verdicts)
    return CheckResult(
        counts=counts,
        verdicts=verdicts,
        invariants=invariants,
        info=info,
        lost=lost,
        goals=goals(modes or LabModes(), lost, split_brains),
    )
