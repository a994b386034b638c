"""Logging of a server process: stderr and ``<data-dir>/server.log``.

Nothing logged carries a password, token or key: records are described by table,
key and name only (see ``core.records.describe``).
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path


def setup_logging(name: str, data_dir: Path | None = None, level: int = logging.INFO) -> None:
    fmt = logging.Formatter(f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    stderr.setLevel(logging.WARNING)
    root.addHandler(stderr)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        f = logging.handlers.RotatingFileHandler(data_dir / "server.log", maxBytes=5_000_000, backupCount=2)
        f.setFormatter(fmt)
        root.addHandler(f)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # asyncssh narrates every connection and channel at INFO; the shell logs its own logins.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
