"""The login server selector's list: every known server and its last seen role.

Kept between runs (chapter, Amy's case: a console that was not online during a
failover still shows the old roles, and learns the new ones when it logs in).  The
file holds addresses and roles only, never credentials.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ipics_clients.atomic import write_atomically

UNREACHABLE = "unreachable"


@dataclass
class KnownServer:
    address: str
    role: str | None = None  # active | standby | transitioning | standalone | unreachable
    server: str | None = None  # primary | secondary

    def label(self) -> str:
        role = self.role or "unknown"
        which = f"{self.server} server, " if self.server else ""
        return f"{self.address} ({which}{role})"


class KnownServers:
    def __init__(self, path: Path | None = None, servers: list[KnownServer] | None = None):
        self.path = path
        self.servers: list[KnownServer] = list(servers or [])

    @classmethod
    def load(cls, path: Path) -> KnownServers:
        try:
            raw = json.loads(path.read_text())
            servers = [KnownServer(str(s["address"]), s.get("role"), s.get("server")) for s in raw["servers"]]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            servers = []  # a missing or damaged file: start empty, the next login fills it
        return cls(path, servers)

    def save(self) -> None:
        if self.path is None:
            return
        write_atomically(self.path, json.dumps({"servers": [asdict(s) for s in self.servers]}, indent=1))

    def addresses(self) -> list[str]:
        return [s.address for s in self.servers]

    def get(self, address: str) -> KnownServer | None:
        return next((s for s in self.servers if s.address == address), None)

    def add(self, address: str) -> KnownServer:
        known = self.get(address)
        if known is None:
            known = KnownServer(address)
            self.servers.append(known)
        return known

    def set_role(self, address: str, role: str | None) -> None:
        self.add(address).role = role

    def update(self, listing: list[dict]) -> None:
        """From ``GET /api/v1/servers``: each server with its current role."""
        for entry in listing:
            known = self.add(entry["address"])
            known.role = entry.get("role") or known.role
            known.server = entry.get("server") or known.server

    def active(self) -> str | None:
        return next((s.address for s in self.servers if s.role == "active"), None)

    def others(self, address: str) -> list[str]:
        """The servers to try after ``address``: the one last seen active first."""
        rest = [s for s in self.servers if s.address != address]
        rest.sort(key=lambda s: s.role != "active")
        return [s.address for s in rest]
