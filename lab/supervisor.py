"""The lab supervisor: real server processes on loopback, set up as an HA pair.

``ServerProcess`` starts one ``ipics-lab server`` process and can kill it (``kill -9``)
or power it on again with the same data.  ``LabPair`` does what an administrator does
by hand in the chapter: licenses, NTP, trust, HA configuration, then waits until the
Standby Server Status is Ready.  The lab CLI, tests and benchmarks all use these.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from ipics_server.adapters.httpclient import ApiClient, Unreachable, trust_ca_file
from ipics_server.clock import Clock, check_time_scale
from ipics_server.config import ADMIN_PASSWORD_ENV, ssh_port_file
from ipics_server.core.ha_config import HEARTBEAT_PORT_DEFAULT
from ipics_server.media.ticket import KEY_FILE_NAME, create_key_file
from ipics_server.shell.hostkey import host_public_key_file

from . import launcher as launchers
from .ca import Issued, init_ca, issue
from .modes import LabModes
from .netfaults import KernelFaults
from .package_data import sample_licenses_dir
from .pair_procedures import PairProcedures, SetupError, poll_once, run_in_shell, satisfied, wait_until
from .server_faults import ServerFaults
from .sites import SERVER_SITES, Site, Sites
from .witness_process import LOOPBACK_HOST as WITNESS_HOST
from .witness_process import WitnessProcess

__all__ = [
    "LabPair",
    "ServerProcess",
    "SetupError",
    "free_port_on",
    "poll_once",
    "running_pair",
    "satisfied",
    "wait_until",
]

PRIMARY_HOST = "127.0.0.1"
SECONDARY_HOST = "127.0.0.2"  # its own loopback address, so both can use one heartbeat port
#: the sites topology's well-known ports: each server has an address of its own there,
#: so the bare IP address the chapter has the administrator type reaches its client API
SITES_API_PORT = 443
SITES_HTTP_PORT = 80  # plain HTTP, answered with a redirect to the client API's https
SITES_SSH_PORT = 22
CA_DIR_NAME = "ca"  # the lab CA of a pair started with tls=True, in its root


def free_port_on(*hosts: str) -> int:
    """A port free on every host given (the pair's heartbeat port).

    Picked below the kernel's ephemeral range: a server started afterwards binds its web
    and SSH ports to port 0, and the kernel could hand it this very port (seen: the
    secondary's SSH server on its heartbeat port) if it came from that range."""
    low = _ephemeral_low()
    candidates = (random.randrange(20000, low) for _ in range(200)) if low > 21000 else _ephemeral_ports(hosts[0])
    for port in candidates:
        try:
            for host in hosts:
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port found on " + ", ".join(hosts))


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _ephemeral_ports(host: str):
    """Where the ephemeral range starts too low to stay below it: ports the kernel picks."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((host, 0))
            yield s.getsockname()[1]


@dataclass
class ServerProcess:
    name: str  # "primary" or "secondary"
    data_dir: Path
    host: str
    heartbeat_port: int
    admin_password: str
    time_scale: float
    clock_epoch: float
    licenses: list[Path] = field(default_factory=list)
    ntp: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    software_version: str | None = None
    lab_faults: bool = True
    #: how it is started (None: the default, ``ipics_lab.launcher.use``)
    launcher: launchers.Launcher | None = None
    proc: launchers.Child | None = None
    port: int | None = None
    #: the shell's SSH port, kept across power_on like the API port
    ssh_port: int | None = None
    log_path: Path | None = None
    #: emulated UTC at ``clock_epoch`` (None: the epoch itself); set by the pair after a
    #: time scale change, so a server powered on later agrees with its partner
    clock_anchor_emulated: float | None = None
    #: the site (network namespace) it runs in, in the sites topology; None on loopback
    site: Site | None = None
    #: the client API over HTTPS: this certificate (issued by the lab's CA) and key
    tls: Issued | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def port_file(self) -> Path:
        return self.data_dir.parent / f"{self.name}.port"

    @property
    def ssh_host_public_key_file(self) -> Path:
        """The server's SSH host public key, to pin in a client's known hosts."""
        return host_public_key_file(self.data_dir)

    def command(self, *, first_start: bool) -> list[str]:
        cmd = launchers.module_command(
            "ipics_server",
            "server",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(self.port or 0),
            "--ssh-port",
            str(self.ssh_port or 0),
            "--name",
            self.name,
            "--heartbeat-port",
            str(self.heartbeat_port),
            "--time-scale",
            str(self.time_scale),
            "--clock-epoch",
            repr(self.clock_epoch),
            "--port-file",
            str(self.port_file),
        )
        if self.clock_anchor_emulated is not None:
            cmd += ["--clock-anchor-emulated", repr(self.clock_anchor_emulated)]
        if self.lab_faults:
            cmd.append("--lab-faults")
        if first_start:
            for lic in self.licenses:
                cmd += ["--license", str(lic)]
            for n in self.ntp:
                cmd += ["--ntp", n]
        if self.software_version:
            cmd += ["--software-version", self.software_version]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        return cmd + self.extra_args

    async def start(self, *, first_start: bool = True, timeout_s: float = 30) -> None:
        port_file, ssh_file = self.port_file, ssh_port_file(self.port_file)
        port_file.unlink(missing_ok=True)
        ssh_file.unlink(missing_ok=True)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path = self.data_dir.parent / f"{self.name}.stderr"
        env = {**os.environ, ADMIN_PASSWORD_ENV: self.admin_password}
        prefix = self.site.exec_prefix() if self.site else []
        self.proc = proc = launchers.spawn(
            [*prefix, *self.command(first_start=first_start)], stderr=log_path, env=env, launcher=self.launcher
        )

        async def bound():
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            return port_file.exists() and port_file.read_text()

        self.port = int(await wait_until(bound, timeout_s, f"{self.name} server to listen"))
        # written before the port file; absent if the server runs without SSH (--ssh-port -1)
        self.ssh_port = int(ssh_file.read_text()) if ssh_file.exists() else None
        await wait_until(self._answers, timeout_s, f"{self.name} server to answer")

    async def _answers(self) -> bool:
        async with ApiClient(self.url, timeout_s=2) as c:
            return (await c.get("/api/v1/ha/status")).ok

    def kill(self) -> None:
        """``kill -9``: the earthquake knocks the server out of the rack."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL, to this process only (even one the zygote forked)
            self.proc.wait()

    def send_signal(self, sig: int) -> None:
        """``sig`` to the server's process, if it was started (SIGSTOP, SIGCONT: a server
        that hangs and comes back)."""
        if self.proc is not None:
            self.proc.send_signal(sig)

    async def power_on(self, timeout_s: float = 30) -> None:
        """Start again with the same data, port and licenses (as after a reboot)."""
        await self.start(first_start=False, timeout_s=timeout_s)

    def stop(self, timeout_s: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.url, token=token)


class _Common(TypedDict):
    """What both servers of a pair are started with."""

    admin_password: str
    time_scale: float
    clock_epoch: float
    heartbeat_port: int


class LabPair(PairProcedures):
    """A primary and a secondary server process, and the steps that make them a pair
    (``PairProcedures``: the same HTTP steps as the in-process tier's)."""

    def __init__(
        self,
        root: Path,
        *,
        time_scale: float = 1.0,
        admin_password: str | None = None,
        primary_args: list[str] | None = None,
        secondary_args: list[str] | None = None,
        ntp: bool = True,
        licenses: bool = True,
        media_router: str | None = None,
        sites: Sites | None = None,
        tls: bool = False,
        modes: LabModes | None = None,
    ):
        """``tls``: the servers serve HTTPS with certificates of a lab CA made in ``root``
        (``ca/ca.pem``, ``ca_file``), and each calls its partner trusting that CA; so
        does this process from here on (``trust_ca_file``), its clients included.  Always
        in the sites topology: off loopback a server serves HTTPS only.

        ``modes``: the pair's modes beyond IPICS (``lab/modes.py``); with a witness the
        pair starts it (``witness``) before the servers and stops it with them."""
        tls = tls or sites is not None
        self.root = root
        #: the sites topology's network (None: loopback); the pair does not own it
        self.sites = sites
        self.time_scale = time_scale
        self.admin_password = admin_password or secrets.token_urlsafe(12)
        self.clock_epoch = time.time()
        #: the pair's emulated time (offset 0): rebased with the servers by
        #: ``set_time_scale``; its anchor is what a restarted server is started with
        self.clock = Clock(time_scale, self.clock_epoch)
        super().__init__()
        hosts = [sites[name].address for name in SERVER_SITES] if sites else [PRIMARY_HOST, SECONDARY_HOST]
        heartbeat_port = HEARTBEAT_PORT_DEFAULT if sites else free_port_on(*hosts)
        lic = sample_licenses_dir()
        common = _Common(
            admin_password=self.admin_password,
            time_scale=time_scale,
            clock_epoch=self.clock_epoch,
            heartbeat_port=heartbeat_port,
        )
        # Both servers share the lab's telephone network (dial-out participants), and the
        # key of push-to-talk tickets: a ticket from either one works on the lab's router.
        self.pstn_directory = root / "pstn.json"
        self.media_ticket_key_file = create_key_file(root / KEY_FILE_NAME)
        shared = [
            "--pstn-directory",
            str(self.pstn_directory),
            "--media-ticket-key-file",
            str(self.media_ticket_key_file),
        ]
        if media_router:  # phones' and telephones' push-to-talk goes through the server
            shared += ["--media-router", media_router]
        if sites:  # a browser typing the bare address gets http: sent on to https
            shared += ["--http-redirect-port", str(SITES_HTTP_PORT)]
        #: the lab CA's certificate the servers' HTTPS is verified with (None: plain HTTP)
        self.ca_file = init_ca(root / CA_DIR_NAME) if tls else None
        if self.ca_file is not None:
            trust_ca_file(self.ca_file)
            shared += ["--ca-file", str(self.ca_file)]
        #: the pair's modes, and its witness process when they have one
        self.modes = modes or LabModes()
        self.witness: WitnessProcess | None = None
        if self.modes.witness:
            witness_site = sites["witness"] if sites else None
            self.witness = WitnessProcess(
                root,
                port=0 if sites else free_port_on(WITNESS_HOST),
                site=witness_site,
                tls=issue(root / CA_DIR_NAME, ip=witness_site.address, name="witness") if witness_site else None,
            )
        shared += self.modes.server_args(
            self.witness.url if self.witness else None, str(self.witness.key_file) if self.witness else None
        )
        primary_args = [*shared, *(primary_args or [])]
        secondary_args = [*shared, *(secondary_args or [])]
        placed = _placed(sites, "primary")
        self.primary = ServerProcess(
            "primary",
            root / "primary" / "data",
            hosts[0],
            licenses=[lic / "base.lic", lic / "policy.lic"] if licenses else [],
            ntp=["ntp-sj1.cisco.com", "ntp-sj2.cisco.com"] if ntp else [],
            extra_args=list(primary_args or []),
            **placed,
            tls=issue(root / CA_DIR_NAME, ip=hosts[0], name="primary") if tls else None,
            **common,
        )
        placed = _placed(sites, "secondary")
        self.secondary = ServerProcess(
            "secondary",
            root / "secondary" / "data",
            hosts[1],
            licenses=[lic / "ha.lic"] if licenses else [],
            ntp=["ntp-sj1.cisco.com", "ntp-sj2.cisco.com"] if ntp else [],
            extra_args=list(secondary_args or []),
            **placed,
            tls=issue(root / CA_DIR_NAME, ip=hosts[1], name="secondary") if tls else None,
            **common,
        )
        #: the lab's faults of the network between the sites: made by the kernel in the
        #: sites topology, by the servers themselves on loopback; the same names in both
        self.network: KernelFaults | ServerFaults = KernelFaults(sites) if sites else ServerFaults(self)

    @property
    def topology(self) -> str:
        return "sites" if self.sites else "loopback"

    async def start(self) -> None:
        if self.witness is not None:
            await self.witness.start()
        await asyncio.gather(self.primary.start(), self.secondary.start())

    def stop(self) -> None:
        # SIGTERM to both first, then wait: their shutdowns overlap, not add up.
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGTERM)
        for s in self.servers:
            s.stop()
        if self.witness is not None:
            self.witness.stop()

    async def shell(self, server: ServerProcess, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        """Run one command in the server's SSH shell, as an administrator types it in the
        chapter's procedures: (output, exit status)."""
        from ipics_server.shell.client import ShellLoginError

        if server.ssh_port is None:  # not started yet, or started without SSH (--ssh-port -1)
            raise ShellLoginError(f"the {server.name} server has no SSH shell")
        return await run_in_shell(server, self.admin_password, command, user)

    async def set_time_scale(self, scale: float, lead_s: float = 0.3) -> float:
        """The trainer's time-scale control: every running server, the standby too and
        even behind a cut link (each is told directly), switches at the same real moment,
        ``lead_s`` from now, so the emulated clocks never disagree.  A powered-off server
        gets the new scale and anchor at its next start.  Returns that moment (a Unix
        time), for other clocks to switch with them; returns once it has passed."""
        check_time_scale(scale)
        running = [s for s in self.servers if s.proc is not None and s.proc.poll() is None]
        if self._lab_token is None and running:
            # One login before the moment is chosen (a login hashes a password), shared by
            # both: a standby refuses logins and learns the token by replication.
            with contextlib.suppress(SetupError, Unreachable):
                self._lab_token = await self.any_admin_token(running[0])
        # Every running server must take a token *before* anything switches: a change
        # that one server refuses would leave the two clocks drifting apart.
        for server in running:
            await self._token_accepted_by(server)
        at = time.time() + lead_s
        self.clock.set_time_scale(scale, at_real=at)
        anchor_real, anchor_emulated, _ = self.clock.anchor()
        for server in self.servers:
            server.time_scale, server.clock_epoch = scale, anchor_real
            server.clock_anchor_emulated = anchor_emulated
        self.time_scale = scale
        replies = await asyncio.gather(*(self._tell_time_scale(s, scale, at) for s in running), return_exceptions=True)
        refused = [f"{s.name}: {r}" for s, r in zip(running, replies, strict=True) if isinstance(r, BaseException)]
        # A restart from here on must start on the new line, not before it is in force.
        await asyncio.sleep(max(0.0, at - time.time()))
        if refused:
            raise SetupError("time scale change refused: " + "; ".join(refused))
        return at

    async def _token_accepted_by(self, server: ServerProcess, timeout_s: float = 5) -> None:
        try:
            await wait_until(
                lambda: self.admin_attempt(server, "GET", "/api/v1/ha/discarded", timeout_s=2),
                timeout_s,
                f"{server.name} to accept an administrator session",
            )
        except TimeoutError:
            raise SetupError(
                f"the {server.name} server knows no administrator session (a standby behind a "
                "cut link refuses logins): nothing was changed; heal the link first"
            ) from None

    async def _tell_time_scale(self, server: ServerProcess, scale: float, at: float) -> None:
        async def told():
            if server.proc is None or server.proc.poll() is not None:
                return "powered off"  # it takes the new scale at its next start
            reply = await self.admin_attempt(
                server, "PUT", "/api/v1/lab/time-scale", {"time_scale": scale, "at": at}, timeout_s=2
            )
            if reply is not None and not reply.ok:
                raise SetupError(reply.body.get("message") if isinstance(reply.body, dict) else reply.body)
            return reply

        # A server told late still switches as of ``at`` (it accepts a moment a few
        # seconds past), so both clocks agree.
        await wait_until(told, max(1.0, at + 4 - time.time()), f"{server.name} to take the time scale")


class _Placement(TypedDict, total=False):
    site: Site
    port: int
    ssh_port: int


def _placed(sites: Sites | None, name: str) -> _Placement:
    """Where a server runs: its site and well-known ports there; nothing on loopback
    (free ports, chosen at start)."""
    if sites is None:
        return {}
    return {"site": sites[name], "port": SITES_API_PORT, "ssh_port": SITES_SSH_PORT}


@contextlib.asynccontextmanager
async def running_pair(root: Path, **kw):
    pair = LabPair(root, **kw)
    try:
        yield pair
    finally:
        pair.stop()
