"""Replicated records and the rules that reconcile two servers' copies.

Every replicated record carries table, key, value, updated_at (emulated UTC), origin
server and version.  A deleted record stays as a tombstone (``value is None``) so a
deletion replicates and merges like any other change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

RecordId = tuple[str, str]


@dataclass(frozen=True)
class Record:
    table: str
    key: str
    value: dict[str, Any] | None
    updated_at: float
    origin: str
    version: int = 1

    @property
    def id(self) -> RecordId:
        return (self.table, self.key)

    @property
    def deleted(self) -> bool:
        return self.value is None

    @property
    def live_value(self) -> dict[str, Any]:
        """The value of a record known to be live: one ``Store.table`` listed (it lists
        no tombstones), or one already checked not ``deleted``."""
        if self.value is None:
            raise ValueError(f"{self.table}/{self.key} is deleted")
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "value": self.value,
            "updated_at": self.updated_at,
            "origin": self.origin,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Record:
        return cls(
            table=str(d["table"]),
            key=str(d["key"]),
            value=d["value"],
            updated_at=float(d["updated_at"]),
            origin=str(d["origin"]),
            version=int(d["version"]),
        )

    def next_version(self, value: dict[str, Any] | None, updated_at: float, origin: str) -> Record:
        return replace(self, value=value, updated_at=updated_at, origin=origin, version=self.version + 1)


def _recency(r: Record) -> tuple[float, int, str]:
    # Ties on the timestamp fall to the higher version, then to a fixed order of
    # origins, so both servers reach the same answer on their own.
    return (r.updated_at, r.version, r.origin)


def newest(a: Record, b: Record) -> Record:
    return a if _recency(a) >= _recency(b) else b


def merge_newest(*sides: Iterable[Record]) -> dict[RecordId, Record]:
    """Configure HA: merge both servers' data; per record the newest timestamp wins."""
    merged: dict[RecordId, Record] = {}
    for side in sides:
        for record in side:
            kept = merged.get(record.id)
            merged[record.id] = record if kept is None else newest(kept, record)
    return merged


def merge_on_configure(
    local: Iterable[Record], theirs: Iterable[Record], *, keep_local: Iterable[RecordId], now: float, origin: str
) -> dict[RecordId, Record]:
    """Configure HA, on the primary: both servers' data merged, newest record wins
    (``merge_newest``), except the records in ``keep_local``, which this server's copy
    wins whatever the timestamps: the accounts of the administrator performing Configure
    (and the built-in ipicsadmin and informix), who must log in again with the password
    they just used (chapter, Step 10).  Their timestamps would otherwise decide at
    random: both servers create ipicsadmin at their first start, a moment apart.

    A kept record is written anew by Configure (``now``, a higher version), so it is the
    newest copy in any later comparison: the secondary adopts it without logging its own
    as discarded.
    """
    local = list(local)
    merged = merge_newest(local, theirs)
    mine = {r.id: r for r in local}
    for rid in keep_local:
        own = mine.get(rid)
        if own is None or own.deleted:
            continue  # nothing here to keep: the merge's answer stands
        other = merged[rid]
        merged[rid] = replace(
            own, updated_at=max(now, other.updated_at), origin=origin, version=max(own.version, other.version) + 1
        )
    return merged


def discarded_on_adopt(
    local: Iterable[Record], active: Mapping[RecordId, Record], *, any_difference: bool = False
) -> list[Record]:
    """No failback: a returning server adopts the active's data.

    Its own records that the active never received (absent there, or a version the
    active does not have and that is newer than the active's) are discarded; they are
    returned so the server can log them, as with the chapter's lost Fire channel.
    With ``any_difference`` (adoption after REPAIR) every copy of ours that the
    active's data does not keep as it is counts, older ones too.
    """
    lost = []
    for record in local:
        theirs = active.get(record.id)
        if theirs is None:
            if not record.deleted:
                lost.append(record)
        elif any_difference:
            if (theirs.value, theirs.updated_at, theirs.origin) != (record.value, record.updated_at, record.origin):
                lost.append(record)
        elif theirs != record and _recency(record) > _recency(theirs):
            lost.append(record)
    return lost


def describe(record: Record) -> str:
    name = ""
    if record.value:
        name = record.value.get("name") or record.value.get("username") or ""
    what = f"{record.table}/{record.key}"
    return f"{what} ({name})" if name else what
