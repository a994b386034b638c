"""The witness's ballot on disk, so a restarted witness remembers whom it gave its vote.

Without it, a witness restarted during a partition could give the vote to the standby
while the active still holds a lease from before, and two servers would be active.  The
lease's end is kept as wall-clock time for that reason (a monotonic clock restarts with
the host); the file is replaced atomically on every grant and release.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..core.modes import Ballot

FILE_NAME = "ballot.json"


def read(data_dir: Path, now_mono: float) -> Ballot:
    """The ballot saved in ``data_dir`` (an empty one if none, or one not understood:
    then nobody holds the vote, which is what a new witness would say too)."""
    try:
        saved = json.loads((data_dir / FILE_NAME).read_text())
        holder, until_wall = saved["holder"], float(saved["until_wall"])
        term = saved.get("term", 0)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Ballot()
    term = term if isinstance(term, int) and not isinstance(term, bool) and term >= 0 else 0
    if not isinstance(holder, str):
        return Ballot(term=term)  # nobody holds it; the terms go on from there
    return Ballot(holder, now_mono + (until_wall - time.time()), term)


def write(data_dir: Path, ballot: Ballot, now_mono: float) -> Ballot:
    """``ballot`` on disk (fsynced); returns it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (FILE_NAME + ".tmp")
    until_wall = time.time() + (ballot.until - now_mono)
    with open(tmp, "w") as f:
        f.write(json.dumps({"holder": ballot.holder, "until_wall": until_wall, "term": ballot.term}))
        f.flush()
        os.fsync(f.fileno())  # on disk before the vote is answered: a crash keeps it
    os.replace(tmp, data_dir / FILE_NAME)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)  # and the rename with it
    finally:
        os.close(fd)
    return ballot
