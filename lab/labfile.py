"""``lab.json``: what a running lab tells the other ``ipics-lab`` commands.

``ipics-lab up`` writes it in the lab directory once the pair is up and removes it on
stop; ``ipics-lab shell`` reads it to find a server's SSH port and host key, the
desktop windows their servers, and the CA certificate (``ca_file``) that the servers'
HTTPS is verified with when the lab serves it.  It holds addresses and paths only,
never a password or a key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ipics_lab.supervisor import ServerProcess
from ipics_server.shell.hostkey import host_public_key_file

LAB_FILE_NAME = "lab.json"
LAB_FILE_VERSION = 1


class NoLab(RuntimeError):
    """No lab is running in this directory (or its ``lab.json`` is unreadable)."""


def default_lab_dir() -> Path:
    """Where a user's lab keeps its data: ``$XDG_DATA_HOME/ipics-ha-lab/lab``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ipics-ha-lab" / "lab"


def lab_file(root: Path) -> Path:
    return root / LAB_FILE_NAME


def server_entry(server: ServerProcess) -> dict:
    return {
        "host": server.host,
        "url": server.url,
        "pid": server.pid,
        "ssh_port": server.ssh_port,
        "data_dir": str(server.data_dir),
    }


def write_lab_file(
    root: Path,
    servers: Iterable[ServerProcess],
    *,
    time_scale: float = 1.0,
    media: str | None = None,
    sites: dict | None = None,
    ca_file: Path | None = None,
    clock_anchor: tuple[float, float] | None = None,
    modes: dict | None = None,
    witness: dict | None = None,
) -> Path:
    """``modes``: the pair's modes (``{"name", "label"}``; IPICS's when not given);
    ``witness``: the witness process's ``{"url", "pid"}`` when the modes have one.
    ``clock_anchor``: the lab clock's line (the real Unix time and the emulated UTC
    at its latest time-scale change), so a panel attached later shows clock offsets
    against the same reference clock."""
    path = lab_file(root)
    data = {
        "version": LAB_FILE_VERSION,
        "pid": os.getpid(),
        "time_scale": time_scale,
        "servers": {s.name: server_entry(s) for s in servers},
        "media": media,
        "topology": "sites" if sites else "loopback",
        "sites": sites,
        "ca_file": str(ca_file) if ca_file else None,
        "modes": modes or {"name": "ipics", "label": "IPICS"},
        "witness": witness,
    }
    if clock_anchor is not None:
        data["clock"] = {"anchor_real": clock_anchor[0], "anchor_emulated": clock_anchor[1]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
    return path


def remove_lab_file(root: Path) -> None:
    lab_file(root).unlink(missing_ok=True)


def read_lab_file(path: Path, *, hint: str = "start one with ipics-lab up") -> dict:
    """The lab file at ``path``; ``NoLab`` if it is missing or unreadable (``hint``: what
    to do about it)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoLab(f"no lab is running in {path.parent} ({hint})") from None
    except (OSError, ValueError) as exc:
        raise NoLab(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise NoLab(f"{path} is not a lab file")
    return data


def read_lab_server(root: Path, name: str) -> dict:
    """The entry of server ``name`` of the lab running in ``root``, with ``ssh_host_key``
    (the path of its SSH host public key) added."""
    path = lab_file(root)
    data = read_lab_file(path, hint="start one with ipics-lab up, or pass the lab's --lab-dir")
    try:
        entry = dict(data["servers"][name])
        entry["ssh_host_key"] = str(host_public_key_file(Path(entry["data_dir"])))
    except (KeyError, TypeError):
        raise NoLab(f"{path} has no {name} server") from None
    return entry
