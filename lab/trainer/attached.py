"""A pair this process did not start: the trainer panel attached to it.

``ipics-lab --attach LAB_DIR_OR_LAB_JSON`` attaches by the lab file another lab wrote
(``ipics-lab up``, the trainer: the servers' addresses, SSH ports and data folders, the
topology and the sites); ``ipics-lab --attach-servers URL1,URL2`` by the two servers'
addresses alone.  The administrator's password is never in a lab file: it comes from
``IPICS_ADMIN_PASSWORD`` or is asked (``attach`` checks it with one login).

``AttachedLab`` is what the panel needs of a lab (``pair``, ``timeline``, ``clock``,
``summary``, ``offers``), beside ``TrainerLab``; its ``AttachedPair``
(``attached_pair``) is what ``Actions`` and the ``Monitor`` need of a pair.  It holds no process: power off and on
are not offered (the lab that started the servers does them), the faults through the
server's lab API (``--lab-faults``) and the administrator's actions work, the kernel's
faults of a sites lab only where this process can enter its namespaces.  ``stop``
stops nothing: closing an attached panel leaves the pair as it found it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipics_lab.labfile import LAB_FILE_NAME, NoLab, read_lab_file
from ipics_lab.pair_procedures import SetupError
from ipics_lab.sites import SERVER_SITES
from ipics_lab.trainer.attached_pair import UNKNOWN, AttachedPair, AttachedServer, AttachedSites, SitesIncomplete
from ipics_lab.trainer.monitor import Monitor
from ipics_lab.trainer.offers import Offers
from ipics_lab.trainer.timeline import Timeline
from ipics_server.adapters.httpclient import ApiClient, Unreachable, normalize_address, trust_ca_file
from ipics_server.clock import Clock, check_time_scale
from ipics_server.config import ADMIN_PASSWORD_ENV

#: where an attaching panel takes the administrator's password from (else it asks);
#: the name the server itself reads its first password from
PASSWORD_ENV = ADMIN_PASSWORD_ENV
#: real seconds an attached server has to answer its first status
ANSWER_S = 5.0
#: the real time a status came back, added to it here
RECEIVED = "received_at"


class AttachRefused(RuntimeError):
    """The pair cannot be attached to; ``str()`` says why (never the password)."""


class WrongPassword(AttachRefused):
    """The servers refused the administrator's password."""


class AttachedLab:
    """A pair this process did not start, as the trainer panel shows it.

    ``from_lab_file`` / ``from_addresses`` build it (bad input: ``AttachRefused``);
    ``attach(password)`` checks that both servers answer as IPICS servers and that the
    password is the administrator's, and reads the heartbeat port and time scale."""

    def __init__(
        self,
        primary: AttachedServer,
        secondary: AttachedServer,
        *,
        source: str,
        lab_file: Path | None = None,
        time_scale: float | None = None,
        anchor: tuple[float, float] | None = None,
        sites: Mapping[str, Any] | None = None,
    ):
        self.source = source
        self.lab_file = lab_file
        self.root = lab_file.parent if lab_file is not None else None
        self._anchor = anchor
        self._realign = False
        # the owner's reference clock, where the lab file gives its line
        real, emulated = anchor if anchor is not None else (None, None)
        self.clock = Clock(time_scale or 1.0, real, anchor_emulated=emulated)
        self.timeline = Timeline(self.clock)
        self.pair = AttachedPair(
            primary,
            secondary,
            clock=self.clock,
            sites=_sites(sites) if sites else None,
        )
        self.summary: dict = {}

    @property
    def topology(self) -> str:
        return self.pair.topology

    # -- building it ----------------------------------------------------------------
    @classmethod
    def from_lab_file(cls, path: Path) -> AttachedLab:
        """By ``lab.json`` (or the folder holding it)."""
        path = path.expanduser()
        if not path.exists():
            raise AttachRefused(f"there is no {path}: give the lab's folder (its --data-dir) or its {LAB_FILE_NAME}")
        file = path / LAB_FILE_NAME if path.is_dir() else path
        try:
            data = read_lab_file(file, hint=f"no {file.name} there: start one with ipics-lab up")
        except NoLab as exc:
            raise AttachRefused(str(exc)) from None
        if not isinstance(data.get("servers"), dict):
            raise AttachRefused(f"{file} is not a lab file (no servers in it)")
        if isinstance(data.get("ca_file"), str) and data["ca_file"]:  # its servers serve HTTPS
            try:
                trust_ca_file(Path(data["ca_file"]))
            except ValueError as exc:
                raise AttachRefused(f"the lab's CA: {exc}") from None
        primary, secondary = (_server_from_entry(file, name, data["servers"].get(name)) for name in SERVER_SITES)
        scale = _scale(data.get("time_scale"))
        clock = data.get("clock")
        clock = clock if isinstance(clock, dict) else {}
        anchor = None
        if isinstance(clock.get("anchor_real"), int | float) and isinstance(clock.get("anchor_emulated"), int | float):
            anchor = (float(clock["anchor_real"]), float(clock["anchor_emulated"]))
        sites = data.get("sites") if data.get("topology") == "sites" else None
        return cls(
            primary,
            secondary,
            source=f"the lab file {file}",
            lab_file=file.resolve(),
            time_scale=scale,
            anchor=anchor,
            sites=sites if isinstance(sites, dict) else None,
        )

    @classmethod
    def from_addresses(cls, addresses: list[str]) -> AttachedLab:
        """By the two servers' addresses (``host:port`` or URLs): the primary first,
        unless the servers say otherwise (``attach`` names them by their status)."""
        if len(addresses) != 2:
            raise AttachRefused(f"attach to two servers (URL1,URL2), not {len(addresses)}")
        servers = []
        for name, address in zip(SERVER_SITES, addresses, strict=True):
            try:
                url = normalize_address(address)
            except ValueError:
                raise AttachRefused(f"{address!r} is not a server address (host:port or http://host:port)") from None
            servers.append(_server(name, url))
        if servers[0].url == servers[1].url:
            raise AttachRefused(f"both addresses are {servers[0].url}: give the primary's and the secondary's")
        return cls(servers[0], servers[1], source=f"the servers {servers[0].url} and {servers[1].url}")

    # -- attaching -------------------------------------------------------------------
    async def attach(self, admin_password: str) -> dict:
        """Check the pair and the administrator's password (``WrongPassword``); the
        summary the panel shows."""
        if not admin_password:
            raise WrongPassword(f"no administrator's password: set {PASSWORD_ENV} or type it")
        statuses = {}
        for server in self.pair.servers:
            statuses[server.name] = await _status_of(server)
        self._name_by_designation(statuses)
        primary, secondary = self.pair.servers
        self.pair.admin_password = admin_password
        for server in self.pair.servers:
            port = (statuses[server.name].get("heartbeat") or {}).get("port")
            if isinstance(port, int):
                server.heartbeat_port = port
        await self._log_in()
        self._follow_servers(statuses)
        self.summary = {
            "primary": {"url": primary.url, "pid": primary.pid, "ssh_port": primary.ssh_port},
            "secondary": {"url": secondary.url, "pid": secondary.pid, "ssh_port": secondary.ssh_port},
            "time_scale": self.clock.time_scale,
            "topology": self.topology,
            "sites": self.pair.sites.as_json() if self.pair.sites else None,
            "attached": self.source,
            # who powers the servers off and on: the lab that started them
            "power": f"ipics-lab power on|off primary|secondary --lab-dir {self.root}" if self.root else None,
        }
        self.timeline.add("message", f"attached to {self.source}")
        return self.summary

    async def _log_in(self) -> None:
        """One administrator's login, on whichever server takes it (a standby refuses
        logins with 409): a 401 is the password's fault, said as such."""
        refusals = []
        for server in self.pair.servers:
            try:
                async with server.client() as c:
                    reply = await c.post(
                        "/api/v1/auth/login", {"username": "ipicsadmin", "password": self.pair.admin_password}
                    )
            except Unreachable as exc:
                refusals.append(f"{server.name}: {exc}")
                continue
            if reply.ok and isinstance(reply.body, dict):
                self.pair._lab_token = reply.body.get("token")
                return
            if reply.status == 401:
                raise WrongPassword(f"the {server.name} server refused the administrator's password (ipicsadmin)")
            body = reply.body
            refusals.append(f"{server.name}: {body.get('message', body) if isinstance(body, dict) else body}")
        raise AttachRefused("neither server takes an administrator's login now: " + "; ".join(refusals))

    def _name_by_designation(self, statuses: dict[str, dict]) -> None:
        """Addresses given in the other order: the servers' own designations win."""
        said = [statuses[s.name].get("server") for s in self.pair.servers]
        if said == ["secondary", "primary"]:
            a, b = self.pair.servers
            a.name, b.name = "secondary", "primary"
            self.pair.primary, self.pair.secondary = b, a
            statuses["primary"], statuses["secondary"] = statuses["secondary"], statuses["primary"]

    def _follow_servers(self, statuses: dict[str, dict]) -> None:
        """The lab clock at the servers' time scale.  Anchored where the lab file says
        (the owner's reference clock); by address, on the active's time (or the
        primary's), as its clients see it."""
        scales = {s.get("time_scale") for s in statuses.values() if isinstance(s.get("time_scale"), int | float)}
        if len(scales) != 1:
            return
        scale = _scale(scales.pop()) or self.clock.time_scale
        self.clock.set_time_scale(scale)  # from now on; monotonic time (the timeline's) does not jump
        if self._anchor is not None:
            return
        chosen = next((s for s in statuses.values() if s.get("role") == "active"), statuses["primary"])
        if isinstance(chosen.get("time"), int | float):
            # the emulated time that passed since that status came back
            since = (time.time() - chosen[RECEIVED]) / scale
            self.clock.offset_s += float(chosen["time"]) + since - self.clock.now()

    def make_monitor(self, period_s: float = 0.2) -> Monitor:
        """The panel's monitor of this pair, its views followed by the lab clock."""
        monitor = Monitor(self.pair, self.timeline, self.clock, period_s=period_s)
        monitor.subscribe(self.follow)
        return monitor

    def follow(self, views: Mapping[str, Any]) -> None:
        """The monitor's views (subscribe it): when the servers' time scale changed (the
        owner's speed control, a scenario), the lab clock switches too, then is set on the
        active's time at the next poll, so the clock offsets shown stay true."""
        answering = [v for v in views.values() if v.reachable]
        scales = {(v.status or {}).get("time_scale") for v in answering}
        if len(scales) != 1 or not isinstance(scale := scales.pop(), int | float):
            return
        if abs(scale - self.clock.time_scale) > 1e-9 * scale:
            self.clock.set_time_scale(scale)
            self._realign = True
            return
        if self._realign:
            active = next((v for v in answering if v.role == "active"), answering[0])
            if active.clock_offset_s is not None:
                self.clock.offset_s += active.clock_offset_s
            self._realign = False

    # -- what the panel asks ------------------------------------------------------------
    @property
    def offers(self) -> Offers:
        primary = self.pair.primary
        shell = None
        if primary.ssh_port is None or primary.data_dir is None:
            shell = (
                "attached by address, the panel knows no SSH port or host key of the servers: "
                "attach by the lab file, or run it in ipics-lab shell"
            )
        kernel = self.pair.kernel_unreachable
        if self.topology == UNKNOWN:
            kernel = (
                "attached by address, the panel does not know the sites' network: attach by the "
                "lab file, as root on the lab's host, for the faults the kernel makes"
            )
        return Offers(
            topology=self.topology,
            owns_processes=False,
            kernel=kernel,
            shell=shell,
            time_scale="this panel is attached: the lab that started the servers sets their time scale",
            lab_data="this panel is attached: the demo users' password and the lab's data are the owner's",
        )

    async def set_time_scale(self, scale: float) -> None:
        raise SetupError(self.offers.time_scale or "not changed")

    def stop(self) -> None:
        """Nothing: this lab started nothing (the servers run on)."""


def _sites(data: Mapping[str, Any]) -> AttachedSites:
    try:
        return AttachedSites(data)
    except SitesIncomplete as exc:
        raise AttachRefused(str(exc)) from None


def _scale(value: object) -> float | None:
    try:
        return check_time_scale(value)
    except (TypeError, ValueError):
        return None


def _server(name: str, url: str, **known: Any) -> AttachedServer:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        raise AttachRefused(f"the {name} server's address {url!r} has no host and port")
    return AttachedServer(name, url.rstrip("/"), parts.hostname, parts.port, **known)


def _server_from_entry(file: Path, name: str, entry: object) -> AttachedServer:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise AttachRefused(f"{file} has no {name} server")
    ssh = entry.get("ssh_port")
    pid = entry.get("pid")
    data_dir = entry.get("data_dir")
    return _server(
        name,
        entry["url"],
        ssh_port=ssh if isinstance(ssh, int) else None,
        pid=pid if isinstance(pid, int) else None,
        data_dir=Path(data_dir) if isinstance(data_dir, str) else None,
    )


async def _status_of(server: AttachedServer) -> dict:
    """The server's HA status, or why it is not an IPICS server that answers."""
    try:
        async with ApiClient(server.url, timeout_s=ANSWER_S) as c:
            reply = await c.get("/api/v1/ha/status")
    except (Unreachable, TimeoutError, OSError) as exc:
        raise AttachRefused(f"the {server.name} server at {server.url} does not answer: {exc}") from None
    body = reply.body
    if not reply.ok or not isinstance(body, dict) or "role" not in body or "ha" not in body:
        raise AttachRefused(f"{server.url} answers but is not an IPICS server (no HA status there)")
    return {**body, RECEIVED: time.time()}
