"""Files that hold a secret (a TLS key, the media ticket key, the witness key): only
their owner may read them."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class KeyFileError(ValueError):
    """A key file that cannot be used, in one sentence (never its content)."""


def owner_only_refusal(mode: int, what: str, path: Path) -> str | None:
    """Why a file of this ``st_mode`` may not hold ``what`` (not a file; others may read
    it), in one sentence; None if it may.  The caller stats the file it opened, so the
    answer is about that very file."""
    if not stat.S_ISREG(mode):
        return f"{what} {path} is not a file"
    if mode & 0o077:
        return f"{what} {path} may be read by others: chmod 600 it"
    return None


def create_key_file(path: Path, key_bytes: int) -> Path:
    """A new random key (``key_bytes``, hex) in ``path``, readable by its owner only; an
    existing key file is kept (the processes of one lab share it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(key_bytes) + "\n")
    return path


def load_key(path: Path, what: str, key_bytes: int) -> bytes:
    """The key in ``path`` (at least ``key_bytes``, hex); ``KeyFileError`` saying what is
    wrong with the file, never what it holds."""
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            raw = f.read(4 * key_bytes + 16)
    except OSError as exc:
        raise KeyFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    refusal = owner_only_refusal(mode, what, path)
    if refusal:
        raise KeyFileError(refusal)
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < key_bytes:
        raise KeyFileError(f"{path} holds no {what.removeprefix('the ')}: at least {key_bytes} random bytes, hex")
    return key
