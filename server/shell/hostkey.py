"""The SSH host key of a server: ed25519, made at first start, kept in ``<data_dir>/ssh``.

Kept, so a client that pinned the key trusts the server again after a restart; the lab
reads the public key from here to pin it (``ipics-lab shell``, the tests).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import asyncssh

log = logging.getLogger("ipics.sshd")

HOST_KEY_NAME = "ssh_host_ed25519_key"


def host_key_file(data_dir: Path) -> Path:
    return data_dir / "ssh" / HOST_KEY_NAME


def host_public_key_file(data_dir: Path) -> Path:
    return data_dir / "ssh" / (HOST_KEY_NAME + ".pub")


def load_or_create_host_key(data_dir: Path, name: str) -> asyncssh.SSHKey:
    """This server's host key: read from the data directory, or made on first start."""
    path = host_key_file(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    if path.exists():
        key = asyncssh.read_private_key(path)
    else:
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"root@{name}")
        _write_atomic(path, key.export_private_key(), 0o600)
        log.info("generated the SSH host key %s", key.get_fingerprint())
    path.chmod(0o600)
    public = key.export_public_key()
    pub_path = host_public_key_file(data_dir)
    if not pub_path.exists() or pub_path.read_bytes() != public:
        _write_atomic(pub_path, public, 0o644)
    return key


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
