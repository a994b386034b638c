"""The two servers of a pair this process did not start, as ``Actions`` and the
``Monitor`` see them (``AttachedPair``), and the network faults this process can make
on them: the sites' kernel rules where it can enter the namespaces the lab file names
(root), the servers' own cut on loopback, else none, each refusal saying why.

Nothing here starts, stops or removes anything: the lab that started the servers and
made the sites owns them (``attached.AttachedLab`` is the trainer panel's side).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ipics_lab.netfaults import CannotMake, KernelFaults
from ipics_lab.pair_procedures import PairProcedures, SetupError, run_in_shell
from ipics_lab.server_faults import ServerFaults
from ipics_lab.sites import SITE_OCTETS, Site, Sites
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.clock import Clock
from ipics_server.core.ha_config import HEARTBEAT_PORT_DEFAULT
from ipics_server.shell.hostkey import host_public_key_file

#: the topology of a pair attached by address off this host's loopback: its sites, if
#: any, are not known here
UNKNOWN = "unknown"
#: where ``ip netns`` keeps the named namespaces a sites lab made
NETNS_DIR = Path("/run/netns")


class SitesIncomplete(ValueError):
    """A lab file's sites lack an address or a namespace; ``str()`` says which."""


@dataclass
class AttachedServer:
    """One server of an attached pair: its address, and what the lab file told of it.

    ``proc`` is always None: this process holds no process of it, so ``Actions``
    refuses to power it off or on (the lab that started it can)."""

    name: str
    url: str
    host: str
    port: int
    ssh_port: int | None = None
    data_dir: Path | None = None
    pid: int | None = None
    heartbeat_port: int = HEARTBEAT_PORT_DEFAULT
    proc: None = None

    @property
    def ssh_host_public_key_file(self) -> Path:
        if self.data_dir is None:
            raise SetupError(f"the {self.name} server's host key is not known here (attached by address)")
        return host_public_key_file(self.data_dir)

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.url, token=token)

    def kill(self) -> NoReturn:
        raise SetupError(f"this lab did not start the {self.name}: it cannot power it off")

    async def power_on(self, timeout_s: float = 30) -> NoReturn:
        raise SetupError(f"this lab did not start the {self.name}: it cannot power it on")


class AttachedSites(Sites):
    """The sites of a lab another process made, as its lab file names them.  This process
    adds and flushes fault rules in them and never removes them (``remove`` is a no-op)."""

    def __init__(self, data: Mapping[str, Any]):  # no Sites.__init__: nothing is made or locked
        try:
            self.network = str(data["network"])
            self.host_address = str(data["host"])
            # a lab file from before the witness's site has none: the lab it names has none
            self.sites = {
                name: Site(name, str(data[name]["netns"]), str(data[name]["address"]))
                for name in SITE_OCTETS
                if name in data or name != "witness"
            }
        except (KeyError, TypeError) as exc:
            raise SitesIncomplete(f"the lab file's sites are incomplete ({exc})") from None
        self.number = int(self.network.split(".")[2]) if self.network.count(".") == 3 else 0
        self.bridge = ""
        self._lock = None
        self.removed = True  # not ours to remove

    def why_unreachable(self) -> str | None:
        """Why this process cannot make faults in these sites' namespaces, or None."""
        if os.geteuid() != 0:
            return (
                "the sites lab's network faults are nftables rules in its namespaces, which "
                "need root: attach as root (sudo ipics-lab --attach ...) to cut links here"
            )
        if shutil.which("nft") is None or shutil.which("ip") is None:
            return "the sites lab's network faults need the ip and nft commands: apt-get install iproute2 nftables"
        missing = [s.netns for s in self.sites.values() if not (NETNS_DIR / s.netns).exists()]
        if missing:
            return f"the lab file names namespaces this host does not have ({', '.join(missing)}): is the lab running?"
        return None


class NoNetworkFaults:
    """The network faults of a sites lab this process cannot reach: each says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def describe(self) -> list[str]:
        return []

    async def _refuse(self, *_args: Any) -> NoReturn:
        raise CannotMake(self.reason)

    cut_link = heal_link = packet_loss = isolate_clients = heal = _refuse


class AttachedPair(PairProcedures):
    """Two servers this process did not start, with the steps an administrator takes
    (``PairProcedures``) and the network faults this process can make on them."""

    def __init__(
        self,
        primary: AttachedServer,
        secondary: AttachedServer,
        *,
        clock: Clock,
        sites: AttachedSites | None = None,
    ):
        super().__init__()
        self.primary, self.secondary = primary, secondary
        self.admin_password = ""  # given to ``AttachedLab.attach``, checked there
        self.clock = clock
        self.time_scale = clock.time_scale
        self.sites = sites
        #: why the kernel's faults cannot be made from here (None: they can, or loopback)
        self.kernel_unreachable = sites.why_unreachable() if sites is not None else None
        self.network: KernelFaults | ServerFaults | NoNetworkFaults
        if sites is None:
            self.network = ServerFaults(self)
        elif self.kernel_unreachable:
            self.network = NoNetworkFaults(self.kernel_unreachable)
        else:
            self.network = KernelFaults(sites)

    @property
    def topology(self) -> str:
        if self.sites is not None:
            return "sites"
        return "loopback" if all(_on_loopback(s.host) for s in self.servers) else UNKNOWN

    def __repr__(self) -> str:  # never the password
        return f"AttachedPair({self.primary.url}, {self.secondary.url}, topology={self.topology})"

    async def start(self) -> None:
        raise SetupError("an attached pair was started elsewhere")

    async def shell(self, server: AttachedServer, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        """One command in the server's SSH shell, its host key pinned from the lab file."""
        from ipics_server.shell.client import ShellLoginError

        if server.ssh_port is None or server.data_dir is None:
            raise ShellLoginError(f"the {server.name} server's SSH port and host key are not known here")
        return await run_in_shell(server, self.admin_password, command, user)


def _on_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
