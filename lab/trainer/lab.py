"""The embedded default lab: what ``ipics-lab`` (no arguments) and ``ipics-lab up`` start.

A media router first (push-to-talk outlives the servers), then the HA pair, trusted,
configured and Ready, then the demo users, channels, VTGs and incident.  The router and
both servers share the key of push-to-talk tickets, new at each start.  ``lab.json``
tells the other ``ipics-lab`` commands where everything is.  ``stop`` ends every
process it started, whatever state the start reached.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from ipics_lab.labfile import remove_lab_file, write_lab_file
from ipics_lab.media_process import MediaProcess
from ipics_lab.modes import LabModes
from ipics_lab.recorder import Recorder
from ipics_lab.recording import Header, default_recording_path
from ipics_lab.seed import seed_demo_data
from ipics_lab.sites import TOPOLOGIES, Sites
from ipics_lab.supervisor import LabPair, ServerProcess
from ipics_lab.trainer.actions import Actions
from ipics_lab.trainer.control import LabControl
from ipics_lab.trainer.monitor import Monitor
from ipics_lab.trainer.offers import Offers
from ipics_lab.trainer.timeline import Timeline
from ipics_server.clock import Clock
from ipics_server.media.ticket import KEY_FILE_NAME

DEMO_USERS = ("dan", "adam", "ursula", "amy", "fred")


class TrainerLab:
    def __init__(
        self,
        root: Path,
        *,
        time_scale: float = 1.0,
        interval_s: int = 15,
        missed_count: int = 5,
        media: bool = True,
        topology: str = "loopback",
        modes: LabModes | None = None,
        record: str | None = "lab",
        recording_name: str | None = None,
        recording_path: Path | None = None,
        recording_details: dict[str, Any] | None = None,
    ):
        """``modes``: the pair's modes beyond IPICS (``ipics_lab.modes``; IPICS's own by
        default); with a witness the pair starts its process too.

        ``record``: the kind of run the recording says this is (``lab``, ``scenario``,
        ``exercise``, ...; None: nothing recorded); ``recording_name`` its name (a
        scenario's, default the kind); ``recording_path`` the file (default
        ``<root>/recordings/<UTC time>-<kind>.ipicsrec``), ``recording_details`` its
        header's details (a scenario's title, ...).  A run that starts its recording
        later (a game day: at the day's start) passes ``record=None`` and calls
        ``start_recording``."""
        if topology not in TOPOLOGIES:
            raise ValueError(f"the topology is {' or '.join(TOPOLOGIES)}, not {topology!r}")
        self.root = root
        self.topology = topology
        self.modes = modes or LabModes()
        #: the sites' network, made at start in the sites topology
        self.sites: Sites | None = None
        self._media = media
        self.interval_s, self.missed_count = interval_s, missed_count
        self.users_password = secrets.token_urlsafe(9)
        self.pin = f"{secrets.randbelow(10**6):06d}"
        self.router: MediaProcess | None = None
        self.pair: LabPair | None = None
        self._time_scale = time_scale
        self.clock = Clock(time_scale)
        self.timeline = Timeline(self.clock)
        self.seeded: dict = {}
        self.summary: dict = {}
        self.control: LabControl | None = None
        self._record, self._recording_name = record, recording_name or record or ""
        self._recording_details = recording_details or {}
        #: the run's one recording (``ipics_lab.recorder``): from ``start`` (``record``) or
        #: ``start_recording`` until ``stop_recording``/``stop``; an after-action report and
        #: the replay are made from it
        self.recorder: Recorder | None = None
        #: where it is written (known from start on; the file stays after stop)
        self.recording_path: Path | None = recording_path
        #: the servers' views the recording keeps (and the panel, a game day share: one poller)
        self.monitor: Monitor | None = None

    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def _started(self) -> LabPair:
        """The lab's pair, once ``start`` has made it."""
        if self.pair is None:
            raise RuntimeError("the lab is not started")
        return self.pair

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self._started().servers]

    def server(self, name: str) -> ServerProcess:
        for s in self._started().servers:
            if s.name == name:
                return s
        raise ValueError(f"no server {name!r}: primary or secondary")

    async def start(self) -> dict:
        # Every start is a clean install of both servers, so a lab starts the same each time.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in ("primary", "secondary", "media", "witness", "console", "profiles", "scenario-profiles"):
            shutil.rmtree(self.root / name, ignore_errors=True)
        (self.root / "pstn.json").unlink(missing_ok=True)  # the telephones of a lab gone
        (self.root / KEY_FILE_NAME).unlink(missing_ok=True)  # no ticket of a lab gone works here
        if self.topology == "sites":
            self.sites = await Sites.create()  # SitesUnavailable says why not, before anything starts
        if self._media:
            self.router = MediaProcess(
                self.root / "media",
                time_scale=self._time_scale,
                ticket_key_file=self.root / KEY_FILE_NAME,
                site=self.sites["media"] if self.sites else None,
            )
            await self.router.start()
        self.pair = LabPair(
            self.root,
            time_scale=self._time_scale,
            media_router=self.router.url if self.router else None,
            sites=self.sites,
            modes=self.modes,
        )
        # The pair's reference clock: a clock offset is measured against it, and it
        # switches scale with the servers at the same instant.
        self.clock = self.pair.clock
        self.timeline.clock = self.clock
        await self.pair.up(self.interval_s, self.missed_count)
        async with await self.pair.admin(self.pair.primary) as admin:
            self.seeded = await seed_demo_data(admin, self.users_password, self.pin)
        await self.pair.wait_ready()
        p, s = self.pair.servers
        self.summary = {
            "primary": {"url": p.url, "pid": p.pid, "ssh_port": p.ssh_port},
            "secondary": {"url": s.url, "pid": s.pid, "ssh_port": s.ssh_port},
            "admin": {"username": "ipicsadmin", "password": self.pair.admin_password},
            "users": {"usernames": list(DEMO_USERS), "password": self.users_password},
            "demo": self.seeded,
            "time_scale": self.time_scale,
            "data_dir": str(self.root),
            "media": {"url": self.router.url, "pid": self.router.pid} if self.router else None,
            "topology": self.topology,
            "sites": self.sites.as_json() if self.sites else None,
            # the lab CA a client is given to trust the servers' HTTPS (null: plain HTTP)
            "ca_file": str(self.pair.ca_file) if self.pair.ca_file else None,
            "modes": self.modes_entry(),
            "witness": self.witness_entry(),
        }
        self.write_lab_file()
        # ipics-lab power on|off from another terminal (Method 3: power the secondary up)
        self.control = LabControl(self.root, Actions(self.pair, self.timeline), on_change=self.write_lab_file)
        await self.control.start()
        self.timeline.add("message", "the lab is up: primary active, secondary standby Ready")
        if self._record is not None:
            await self.start_recording(
                self.recording_path, kind=self._record, name=self._recording_name, details=self._recording_details
            )
        return self.summary

    async def start_recording(
        self,
        path: Path | None = None,
        *,
        kind: str = "lab",
        name: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Recorder:
        """Record the run from now on (the lab's set-up left out) into ``path``, by default
        ``<root>/recordings/<UTC time>-<kind>.ipicsrec``, with the lab's monitor of the
        servers' views (its first poll is the baseline a replay starts from).  One recording
        per run: ``RuntimeError`` while one is under way (``start`` began one unless
        ``record=None``)."""
        if self.recorder is not None:
            raise RuntimeError(f"the lab is recording already into {self.recording_path}: one recording per run")
        pair = self._started()
        started_at = time.time()
        self.recording_path = path or default_recording_path(self.root, kind, started_at)
        if self.monitor is None:
            self.monitor = Monitor(pair, self.timeline, self.clock)
        header = Header(
            kind=kind,
            name=name or kind,
            started_at=started_at,
            time_scale=self.time_scale,
            topology=self.topology,
            modes=self.modes.name,
            details={"interval_s": self.interval_s, "missed_count": self.missed_count, **(details or {})},
        )
        self.recorder = Recorder(
            self.recording_path, header, pair=pair, timeline=self.timeline, clock=self.clock, monitor=self.monitor
        )
        await self.recorder.start()
        await self.monitor.poll_once()
        self.monitor.start()
        return self.recorder

    async def stop_recording(self, result: dict[str, Any] | None = None) -> Path | None:
        """The recording finished (the last actions read, ``result`` kept); its path
        (None: nothing was being recorded).
        ``stop`` does it too, without the last read, for a lab stopped from synchronous code."""
        recorder, self.recorder = self.recorder, None
        if self.monitor is not None:
            await self.monitor.stop()
        return await recorder.stop(result) if recorder is not None else None

    def write_lab_file(self) -> None:
        write_lab_file(
            self.root,
            self._started().servers,
            time_scale=self.time_scale,
            media=self.router.url if self.router else None,
            sites=self.sites.as_json() if self.sites else None,
            ca_file=self._started().ca_file,
            clock_anchor=self.clock.anchor()[:2],
            modes=self.modes_entry(),
            witness=self.witness_entry(),
        )

    def modes_entry(self) -> dict:
        """The modes as ``up --json`` and ``lab.json`` give them: the spelling ``--modes``
        takes back, and the label the servers' status shows."""
        return {"name": self.modes.name, "label": self.modes.label}

    def witness_entry(self) -> dict | None:
        witness = self.pair.witness if self.pair is not None else None
        return {"url": witness.url, "pid": witness.pid} if witness is not None else None

    @property
    def offers(self) -> Offers:
        """Everything but the kernel-only faults on loopback: this lab holds the processes."""
        return Offers(topology=self.topology)

    async def set_time_scale(self, scale: float) -> None:
        """Both servers and this lab's clock (which the in-process devices use) switch at
        the same real instant, so no clock-skew rule trips."""
        await self._started().set_time_scale(scale)  # switches self.clock too
        self.summary["time_scale"] = scale
        self.write_lab_file()
        self.timeline.add("action", f"time scale set to {describe_scale(scale)}")

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
        if self.monitor is not None:
            self.monitor.cancel()  # the loop may be gone: no await here
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            recorder.stop_now()
        try:
            if self.pair is not None:
                self.pair.stop()
        finally:
            try:
                if self.router is not None:
                    self.router.stop()
            finally:
                remove_lab_file(self.root)
                if self.sites is not None:
                    self.sites.remove()


def describe_scale(scale: float) -> str:
    """``1.0`` -> "real time (1x)", ``0.01`` -> "100x faster"."""
    if abs(scale - 1.0) < 1e-9:
        return "real time (1x)"
    if scale < 1:
        return f"{1 / scale:g}x faster"
    return f"{scale:g}x slower"
