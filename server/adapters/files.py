"""Uploaded incident files (photos, videos) on disk, by an opaque id.

File names from clients are metadata only: content lives under ``<data-dir>/files/<id>``
where the id is made here, so no client name ever becomes a path.  Names with path
tricks are refused outright rather than "cleaned", so the user sees why.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
from pathlib import Path

_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME_LENGTH = 200


class FileNameError(ValueError):
    pass


def check_file_name(name: str) -> str:
    if not name or len(name) > MAX_NAME_LENGTH:
        raise FileNameError(f"file name must be 1 to {MAX_NAME_LENGTH} characters")
    if name in (".", "..") or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        raise FileNameError("file name must not contain a path (/, \\, ..), a NUL, or start with a dot")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise FileNameError("file name must not contain control characters")
    return name


class FileStore:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, file_id: str) -> Path:
        if not _ID.match(file_id):
            raise FileNameError("not a file id")
        return self.directory / file_id

    def exists(self, file_id: str) -> bool:
        return self.path(file_id).exists()

    async def write(self, file_id: str, content: bytes, mtime: float | None = None) -> None:
        """``mtime``: the emulated UTC time of the upload, kept on the file as the real
        server keeps it; ipicsrsync compares it (the newer file wins)."""
        path = self.path(file_id)
        await asyncio.to_thread(_write_atomic, path, content, mtime)

    async def read(self, file_id: str) -> bytes:
        return await asyncio.to_thread(self.path(file_id).read_bytes)

    async def delete(self, file_id: str) -> None:
        await asyncio.to_thread(self.path(file_id).unlink, True)

    async def listing(self) -> dict[str, dict]:
        """Every stored file: id -> size, mtime (emulated UTC) and sha256."""
        return await asyncio.to_thread(self._listing)

    def _listing(self) -> dict[str, dict]:
        out = {}
        for path in self.directory.iterdir():
            if _ID.match(path.name):
                st = path.stat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[path.name] = {"size": st.st_size, "mtime": st.st_mtime, "sha256": digest}
        return out


def _write_atomic(path: Path, content: bytes, mtime: float | None = None) -> None:
    # A temporary name of its own: the standby's fetch and ipicsrsync may write one id at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)
