"""Method 1 reconciliation rules, pure: what REPAIR and ipicsrsync change, and why.

Database (``ipicsedr_control_repl REPAIR``): a record on one server only is copied to
the other; a record on both is replaced by the primary server's copy (the *master*).

Files (``ipicsrsync run ipicsadmin``, run on the primary): a file on the primary only
is copied to the secondary; a file on the secondary only is deleted; a file on both
keeps the copy with the more recent UTC timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .records import Record

#: The replicated tables: one background repair process each.
TABLES = ("users", "sessions", "channels", "assignments", "vtgs", "incidents", "files")


def _same(a: Record, b: Record) -> bool:
    return a.value == b.value and a.updated_at == b.updated_at and a.origin == b.origin


@dataclass
class TablePlan:
    """Run on the active server.  ``write_here``: (record, version the active has now,
    None if absent); ``replaced_on_partner``: the standby's copies the primary's replace."""

    write_here: list[tuple[Record, int | None]] = field(default_factory=list)
    copied_to_partner: int = 0
    replaced_on_partner: list[Record] = field(default_factory=list)
    #: the active's copies the primary's replace (when the active is the secondary)
    replaced_here: list[Record] = field(default_factory=list)

    @property
    def copied_here(self) -> int:
        return len(self.write_here)


def plan_table(active: Iterable[Record], standby: Iterable[Record], *, active_is_primary: bool) -> TablePlan:
    mine = {r.key: r for r in active}
    theirs = {r.key: r for r in standby}
    plan = TablePlan()
    for key, record in theirs.items():
        here = mine.get(key)
        if here is None:
            plan.write_here.append((record, None))
        elif not _same(here, record):
            if active_is_primary:
                plan.replaced_on_partner.append(record)
            else:
                plan.write_here.append((record, here.version))  # the primary's copy is the master
                plan.replaced_here.append(here)
    plan.copied_to_partner = sum(1 for key in mine if key not in theirs)
    return plan


@dataclass
class FilePlan:
    copy_to_secondary: list[str] = field(default_factory=list)
    copy_to_primary: list[str] = field(default_factory=list)  # the secondary's copy is newer
    delete_on_secondary: list[str] = field(default_factory=list)


def plan_files(primary: Mapping[str, dict], secondary: Mapping[str, dict]) -> FilePlan:
    """Listings map a file id to ``{"mtime": utc, "sha256": ...}``."""
    plan = FilePlan()
    for fid, info in sorted(primary.items()):
        other = secondary.get(fid)
        if other is None:
            plan.copy_to_secondary.append(fid)
        elif other["sha256"] != info["sha256"]:
            if other["mtime"] > info["mtime"]:
                plan.copy_to_primary.append(fid)
            else:
                plan.copy_to_secondary.append(fid)
    plan.delete_on_secondary = sorted(fid for fid in secondary if fid not in primary)
    return plan
