"""The sites topology: the pair on hosts of their own, joined by a real (virtual) network.

As root, ``Sites.create()`` makes one Linux network namespace per site (the primary,
the secondary, the media router, the witness, the clients), each with its own address, and joins
them with veth pairs through a bridge on this host.  Every byte between two sites
crosses that bridge, so the kernel can drop it (``netfaults``): a partition is silent,
the other side sees hangs and timeouts, never a refused connection.

Addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544), one /24 per lab:
``198.18.N.0/24``, the host's bridge ``.1``, the primary ``.11``, the secondary ``.12``,
the media router ``.13``, the witness ``.14`` (whether the pair has one or not), the
clients ``.21``.  No namespace has a default route and
nothing is forwarded, routed or NATed beyond the bridge (the host's forward hook drops
anything that would cross it): no packet of the lab leaves the namespaces it made,
except to this host's one bridge address, so the trainer's windows and the tests reach
the sites.

Every name carries the prefix ``ipicslab`` and the lab's number N: a run holds the lock
``/run/ipics-lab/sites-N.lock`` for its life, so a later run knows a number whose lock
is free was left by a lab that crashed, and removes what it left before using it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: where the lab's processes run: all on this host's loopback (the default, for a
#: desktop), or each server, the media router and the clients in a site of their own
TOPOLOGIES = ("loopback", "sites")
PREFIX = "ipicslab"
log = logging.getLogger("ipics.lab.sites")
#: where the numbers' locks live (tmpfs: a reboot frees them with the namespaces)
STATE_DIR = Path("/run/ipics-lab")
#: the range the sites' addresses come from, and the labs one host may run at once
RANGE = ipaddress.IPv4Network("198.18.0.0/15")
MAX_LABS = 200
HOST_OCTET = 1
SITE_OCTETS = {"primary": 11, "secondary": 12, "media": 13, "witness": 14, "clients": 21}
SERVER_SITES = ("primary", "secondary")
#: the nftables table the lab's faults live in, in every site's namespace, with a chain
#: per kind of fault and direction (``link_in``, ``loss_out``, ...): a fault adds rules
#: to its chains, healing it flushes them
FAULT_TABLE = "ipicslab"
FAULT_KINDS = ("link", "loss", "isolation")
COMMAND_TIMEOUT_S = 15


class SitesUnavailable(RuntimeError):
    """This host cannot make the sites topology; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class Site:
    name: str  # primary, secondary, media, clients
    netns: str  # its network namespace
    address: str  # its address on the lab's network

    def exec_prefix(self) -> list[str]:
        """What a command line is prefixed with to run in this site."""
        return ["ip", "netns", "exec", self.netns]


def why_not_here() -> str | None:
    """Why this host cannot make the sites topology, or None."""
    if os.geteuid() != 0:
        return (
            "the sites topology makes network namespaces, a bridge and nftables rules, which "
            "needs root: run it as root (sudo ipics-lab up --topology sites), or leave out "
            "--topology sites for the loopback lab"
        )
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"the sites topology needs the {tool} command: apt-get install {package}"
    return None


def add_topology_option(parser: argparse.ArgumentParser) -> None:
    """``--topology``: the lab's processes on this host's loopback (the default), or each
    in a site of its own on a real (virtual) network, as root."""
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="loopback",
        help="loopback (default): every process on this host's loopback; sites (as root): "
        "the primary, the secondary, the media router and the clients each in a network "
        "namespace of its own, joined by a bridge, so faults are made by the kernel",
    )


def topology_refusal(ns: argparse.Namespace) -> str | None:
    """Why the topology asked for cannot be made here, or None (said before anything starts)."""
    if getattr(ns, "topology", "loopback") != "sites":
        return None
    return why_not_here()


def network_of(number: int) -> ipaddress.IPv4Network:
    """The /24 of lab number ``number`` (1-based) in 198.18.0.0/15."""
    if not 1 <= number <= MAX_LABS:
        raise ValueError(f"a lab's number is 1-{MAX_LABS}, not {number}")
    net = ipaddress.IPv4Network(f"198.18.{number}.0/24")
    assert net.subnet_of(RANGE)
    return net


def names_of(number: int) -> dict[str, str]:
    """Every name lab ``number`` gives the kernel: its namespaces, its bridge."""
    names = {site: f"{PREFIX}{number}-{site}" for site in SITE_OCTETS}
    names["bridge"] = f"{PREFIX}{number}"  # at most 15 characters, the kernel's limit
    return names


def _veth(number: int, site: str) -> str:
    return f"{PREFIX[:3]}{number}{site[0]}"  # e.g. ipi3p: the host's end of the primary's link


class Sites:
    """The namespaces, links and bridge of one lab, and the lock that says it lives."""

    def __init__(self, number: int, lock_file):
        self.number = number
        self._lock = lock_file
        net = network_of(number)
        self.network = str(net)
        self.host_address = str(net.network_address + HOST_OCTET)
        names = names_of(number)
        self.bridge = names["bridge"]
        self.sites = {
            name: Site(name, names[name], str(net.network_address + octet)) for name, octet in SITE_OCTETS.items()
        }
        self.removed = False

    def __getitem__(self, name: str) -> Site:
        return self.sites[name]

    def as_json(self) -> dict:
        """What ``up --json`` and the lab file say of the sites."""
        return {
            "network": self.network,
            "host": self.host_address,
            **{name: {"address": s.address, "netns": s.netns} for name, s in self.sites.items()},
        }

    # -- making it ---------------------------------------------------------------------
    @classmethod
    async def create(cls, state_dir: Path = STATE_DIR) -> Sites:
        """``create_sync`` on a thread: the event loop (a window's) goes on meanwhile."""
        return await asyncio.to_thread(cls.create_sync, state_dir)

    @classmethod
    def create_sync(cls, state_dir: Path = STATE_DIR) -> Sites:
        """A new lab network: the first free number (removing what a crashed lab left
        under it), its namespaces and links.  Raises ``SitesUnavailable``."""
        reason = why_not_here()
        if reason:
            raise SitesUnavailable(reason)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_crashed_labs(state_dir)
        for number in range(1, MAX_LABS + 1):
            lock = open(state_dir / f"sites-{number}.lock", "a+")  # noqa: SIM115 (held for the lab's life)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            sites = cls(number, lock)
            try:
                remove_leftovers(number)  # what a crashed lab left under this number
                sites._build()
            except BaseException:
                sites.remove()
                raise
            lock.seek(0)
            lock.truncate()
            lock.write(json.dumps({"pid": os.getpid(), "network": sites.network}))
            lock.flush()
            return sites
        raise SitesUnavailable(f"{MAX_LABS} lab networks are in use on this host: stop one")

    def _build(self) -> None:
        br = self.bridge
        prefix_len = network_of(self.number).prefixlen
        _check("ip", "link", "add", br, "type", "bridge")
        _ipv4_only(br)
        _check("ip", "addr", "add", f"{self.host_address}/{prefix_len}", "dev", br)
        _check("ip", "link", "set", br, "up")
        for name, site in self.sites.items():
            veth = _veth(self.number, name)
            _check("ip", "netns", "add", site.netns)
            _check("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", site.netns)
            _ipv4_only(veth)
            _check("ip", "link", "set", veth, "master", br, "up")
            _check("ip", "-n", site.netns, "addr", "add", f"{site.address}/{prefix_len}", "dev", "eth0")
            _check("ip", "-n", site.netns, "link", "set", "eth0", "up")
            _check("ip", "-n", site.netns, "link", "set", "lo", "up")
            _check("ip", "netns", "exec", site.netns, "nft", "-f", "-", stdin=fault_table())
        # Nothing crosses the bridge to or from the host's other networks, even on a host
        # that forwards (a container host often does): the sites reach this host only.
        # Traffic between two sites stays on the bridge (with br_netfilter it passes this
        # hook too, in and out on the bridge) and is let through.
        _check(
            "nft",
            "-f",
            "-",
            stdin=f"table inet {self.bridge} {{\n"
            "  chain forward { type filter hook forward priority 0; policy accept;\n"
            f'    iifname "{br}" oifname != "{br}" drop\n'
            f'    oifname "{br}" iifname != "{br}" drop\n'
            "  }\n}\n",
        )
        self._settled()

    # -- removing it -------------------------------------------------------------------
    def _settled(self) -> None:
        """Until the bridge and every host end are up: programs on this host that watch
        the network (Chromium aborts a page load with ERR_NETWORK_CHANGED) see no change
        once the sites are made."""
        links = [self.bridge, *(_veth(self.number, name) for name in self.sites)]
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while True:
            shown = _run_sync("ip", "-br", "link", "show", "master", self.bridge).stdout
            up = {line.split()[0].split("@")[0] for line in shown.splitlines() if " UP " in f" {line} "}
            bridge = _run_sync("ip", "-br", "link", "show", self.bridge).stdout
            if set(links[1:]) <= up and " UP " in f" {bridge} ":
                return
            if time.monotonic() > deadline:
                raise SitesUnavailable(f"the links of lab network {self.number} did not come up: {shown.strip()}")
            time.sleep(0.02)

    def remove(self) -> None:
        """Remove every namespace, link and table of this lab (the processes still in
        a site are killed: a namespace lives as long as a process in it), then free
        the number.  Synchronous: it runs on the way out, after the loop may be gone."""
        if self.removed:
            return
        self.removed = True
        try:
            remove_leftovers(self.number)
        finally:
            with contextlib.suppress(OSError):
                self._lock.close()


def _ipv4_only(link: str) -> None:
    """No IPv6 on a link of this host the lab made: the lab's network is IPv4, and an IPv6
    link-local address the kernel adds a second after the link is up (after its duplicate
    address detection) is a network change other programs see."""
    knob = Path(f"/proc/sys/net/ipv6/conf/{link}/disable_ipv6")
    if knob.exists():
        knob.write_text("1\n")


def remove_leftovers(number: int) -> list[str]:
    """Remove what lab ``number`` made (its lock held, or free): the names removed.
    Waits until the kernel has let go of them, so the names can be made again."""
    names = names_of(number)
    existing = _namespaces()
    removed = []
    for site in SITE_OCTETS:
        netns = names[site]
        if netns not in existing:
            continue
        for pid in _run_sync("ip", "netns", "pids", netns).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _run_sync("ip", "netns", "del", netns)
        removed.append(netns)
    links = [names["bridge"], *(_veth(number, s) for s in SITE_OCTETS)]
    for link in links:
        if _run_sync("ip", "link", "del", link).returncode == 0:
            removed.append(link)
    if _run_sync("nft", "delete", "table", "inet", names["bridge"]).returncode == 0:
        removed.append(f"nft table inet {names['bridge']}")
    # A namespace's links go when its last process has gone, a moment after ``del``.
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while any(_run_sync("ip", "link", "show", link).returncode == 0 for link in links):
        if time.monotonic() > deadline:
            raise SitesUnavailable(f"the links of lab network {number} are still there after removal")
        time.sleep(0.02)
    return removed


def remove_crashed_labs(state_dir: Path = STATE_DIR) -> list[int]:
    """Remove what labs that crashed left (namespaces whose number no lab holds the lock
    of), each while holding its lock, so no lab starting meanwhile takes it: the numbers."""
    removed = []
    numbers = {int(n[len(PREFIX) :].split("-")[0]) for n in _namespaces() if _is_ours(n)}
    for number in sorted(numbers):
        with open(state_dir / f"sites-{number}.lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a running lab
            gone = remove_leftovers(number)
            log.warning("removed what a crashed lab left on 198.18.%d.0/24: %s", number, ", ".join(gone))
            removed.append(number)
    return removed


def _namespaces() -> set[str]:
    if shutil.which("ip") is None:
        return set()
    return {line.split()[0] for line in _run_sync("ip", "netns", "list").stdout.splitlines() if line.strip()}


def _is_ours(netns: str) -> bool:
    if not netns.startswith(PREFIX):
        return False
    number, _, site = netns[len(PREFIX) :].partition("-")
    return number.isdigit() and site in SITE_OCTETS


def fault_table() -> str:
    """The empty fault table of a site (nft -f syntax)."""
    chains = "".join(f"  chain {kind}_{way} {{}}\n" for kind in FAULT_KINDS for way in ("in", "out"))
    # A rule that reads the connection's state, first in each base chain: it makes the
    # kernel track every connection of the namespace from its first packet.  Tracking
    # otherwise starts with the first fault that needs it (a one-way cut) and picks the
    # connections already open up mid-stream, some of them the wrong way round.
    track = "    ct state untracked counter\n"
    jumps_in = track + "".join(f"    jump {kind}_in\n" for kind in FAULT_KINDS)
    jumps_out = track + "".join(f"    jump {kind}_out\n" for kind in FAULT_KINDS)
    return (
        f"table inet {FAULT_TABLE} {{\n{chains}"
        f"  chain input {{ type filter hook input priority 0; policy accept;\n{jumps_in}  }}\n"
        f"  chain output {{ type filter hook output priority 0; policy accept;\n{jumps_out}  }}\n"
        "}\n"
    )


# -- the commands --------------------------------------------------------------------
async def nft(netns: str | None, ruleset: str) -> None:
    """Apply ``ruleset`` (nft -f syntax) in ``netns`` (None: this host) atomically."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    await _run(*prefix, "nft", "-f", "-", stdin=ruleset)


async def _run(*argv: str, stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else None), COMMAND_TIMEOUT_S
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise SitesUnavailable(f"{' '.join(argv)} did not finish in {COMMAND_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        raise SitesUnavailable(f"{' '.join(argv)} failed: {err.decode(errors='replace').strip()}")
    return out.decode()


def _run_sync(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """For making and removing, which must work without an event loop (on the way out)."""
    return subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        check=False,
    )


def _check(*argv: str, stdin: str | None = None) -> None:
    result = _run_sync(*argv, stdin=stdin)
    if result.returncode != 0:
        raise SitesUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()}")
