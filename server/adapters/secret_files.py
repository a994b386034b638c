"""Files that hold a secret (a TLS key, the media ticket key): only their owner may read them."""

from __future__ import annotations

import stat
from pathlib import Path


def owner_only_refusal(mode: int, what: str, path: Path) -> str | None:
    """Why a file of this ``st_mode`` may not hold ``what`` (not a file; others may read
    it), in one sentence; None if it may.  The caller stats the file it opened, so the
    answer is about that very file."""
    if not stat.S_ISREG(mode):
        return f"{what} {path} is not a file"
    if mode & 0o077:
        return f"{what} {path} may be read by others: chmod 600 it"
    return None
