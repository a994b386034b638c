"""An HA pair in the test process: both servers' apps on one event loop, on one
emulated timeline that jumps (``emulated_time``), so the HA engine's rules are tested
in seconds of real time without starting a process.

Each server is the real one (``IpicsServer`` + ``make_app``) on its own loopback
address with its real client API, peer link (mutual TLS on the heartbeat port) and
SQLite database; the test talks to it through the same HTTP API and lab faults as the
pair of real processes (``PairProcedures``).  What only an OS can do stays with that
pair (``supervisor.LabPair``): ``kill -9`` and SIGSTOP of a process, the SSH server,
the browser, the GUI.

``power_off`` is as close to ``kill -9`` as one process allows: the server's listeners
and connections are aborted and its tasks cancelled at once (``EmulatedTimeLoop``
knows which are its), it is refused any thread job, connection or listener while they
unwind, so nothing it runs on the way down reaches the disk or the partner; SQLite's
autocommit has already made every statement that finished durable, and one that is
running on the store's thread finishes (a kill a moment later).  Its memory is then
dropped: the database handle and the data-directory lock are released, as the kernel
does.  ``power_on`` starts a new server on the same data directory and ports.

Waits are in emulated seconds: ``until(predicate, within_s)`` checks the predicate at
every idle moment after time moved and fails once ``within_s`` emulated seconds passed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import random
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from ipics_server.adapters.httpclient import ApiClient
from ipics_server.app import IpicsServer, listen
from ipics_server.config import ServerConfig
from ipics_server.shell.interpreter import Shell

from .emulated_time import EmulatedClock, Timeline
from .inprocess_loop import OWNER, EmulatedTimeLoop
from .package_data import sample_licenses_dir
from .pair_procedures import PairProcedures, poll_once, satisfied
from .supervisor import PRIMARY_HOST, SECONDARY_HOST, free_port_on

NTP = ["ntp-sj1.cisco.com", "ntp-sj2.cisco.com"]
#: real seconds any one wait may take before it is called a hang (time that never moves)
REAL_LIMIT_S = 60.0


class InProcessServer:
    """One server of the pair, running or powered off, with the same data directory
    and ports across power cycles."""

    def __init__(self, name: str, host: str, cfg: ServerConfig):
        self.name = name
        self.host = host
        self.cfg = cfg
        self.server: IpicsServer | None = None
        self._runner: web.AppRunner | None = None
        self._context: contextvars.Context | None = None
        #: how many times it was powered on (each boot gets its own random stream)
        self.boots = 0

    @property
    def heartbeat_port(self) -> int:
        return self.cfg.heartbeat_port

    @property
    def port(self) -> int:
        return self.cfg.port

    @property
    def data_dir(self) -> Path:
        return self.cfg.data_dir

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def powered(self) -> bool:
        return self.server is not None

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.url, token=token)

    def run_as_server(self, coro) -> asyncio.Task:
        """Run ``coro`` as this server's own code (a command typed in its shell, say):
        what it starts is the server's, and goes with it at power-off."""
        if self._context is None:
            coro.close()
            raise RuntimeError(f"the {self.name} server is powered off")
        return asyncio.get_running_loop().create_task(coro, context=self._context)

    async def power_on(self, timeline: Timeline, seed: Any) -> None:
        if self.server is not None:
            raise RuntimeError(f"the {self.name} server is already on")
        loop = _loop()
        loop.power_on(self.name)
        self._context = contextvars.copy_context()
        self._context.run(OWNER.set, self.name)
        server = IpicsServer(self.cfg, clock=EmulatedClock(timeline))
        # A takeover's 150-180 s is drawn at random: the same draws on every run.
        server.engine.state.rng = random.Random(f"{seed}/{self.name}/{self.boots}")
        self.boots += 1
        self._runner = await self.run_as_server(listen(server))
        self.server = server
        # A later boot has no license or NTP arguments: they were stored at the first.
        self.cfg = dataclasses.replace(self.cfg, licenses=[], ntp_servers=[])

    async def power_off(self) -> None:
        server, self.server, self._runner, self._context = self.server, None, None, None
        if server is None:
            return
        await _loop().power_off(self.name)
        # What the kernel does after a kill: drop the process's memory and descriptors.
        await server.engine.peer.stop()  # its connections are gone already: frees the client
        await asyncio.to_thread(server.store.close)
        server._lock_file.close()

    async def stop(self) -> None:
        """A clean shutdown (SIGTERM), at the end of a test."""
        server, runner = self.server, self._runner
        self.server, self._runner, self._context = None, None, None
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            server._lock_file.close()  # the process exits: the kernel releases the lock


def _loop() -> EmulatedTimeLoop:
    loop = asyncio.get_running_loop()
    if not isinstance(loop, EmulatedTimeLoop):
        raise RuntimeError("the in-process pair runs on an EmulatedTimeLoop (tests/inprocess/conftest.py)")
    return loop


class InProcessPair(PairProcedures):
    """A primary and a secondary server in this process, on the running
    ``EmulatedTimeLoop``'s timeline; waits are in emulated seconds."""

    #: a token reaches a standby with the next replication, and a transitioning server
    #: takes one once it is active: at most a takeover (300 s) and an interval later
    TOKEN_WAIT_S = 600

    def __init__(
        self,
        root: Path,
        *,
        admin_password: str | None = None,
        seed: Any = 0,
        transaction_log_capacity: int = 100_000,
        file_replication_delay_s: float = 10.0,
        heartbeat_port: int | None = None,
        ports: dict[str, int] | None = None,
    ):
        """``heartbeat_port`` and ``ports`` (client API, by server name): those of a pair
        whose data directories were copied into ``root`` (default: free ones)."""
        super().__init__()
        self.root = root
        self.seed = seed
        self._timeline: Timeline | None = None
        self.admin_password = admin_password or secrets.token_urlsafe(12)
        heartbeat_port = heartbeat_port or free_port_on(PRIMARY_HOST, SECONDARY_HOST)
        lic = sample_licenses_dir()

        def config(name: str, host: str, licenses: list[str]) -> ServerConfig:
            return ServerConfig(
                data_dir=root / name / "data",
                host=host,
                port=(ports or {}).get(name, 0),
                ssh_port=None,
                heartbeat_port=heartbeat_port,
                name=name,
                licenses=[lic / f for f in licenses],
                ntp_servers=list(NTP),
                lab_faults=True,
                admin_password=self.admin_password,
                transaction_log_capacity=transaction_log_capacity,
                file_replication_delay_s=file_replication_delay_s,
            )

        self.primary = InProcessServer(
            "primary", PRIMARY_HOST, config("primary", PRIMARY_HOST, ["base.lic", "policy.lic"])
        )
        self.secondary = InProcessServer("secondary", SECONDARY_HOST, config("secondary", SECONDARY_HOST, ["ha.lic"]))

    @property
    def timeline(self) -> Timeline:
        """The emulated time of the loop the pair was started on."""
        if self._timeline is None:
            self._timeline = _loop().timeline
        return self._timeline

    @property
    def now_s(self) -> float:
        """Emulated seconds since the loop started."""
        return self.timeline.now_s

    # -- power ---------------------------------------------------------------------------
    async def start(self) -> None:
        for server in self.servers:  # one after the other: the same order on every run
            await server.power_on(self.timeline, self.seed)

    async def power_off(self, server: InProcessServer) -> None:
        await server.power_off()

    async def power_on(self, server: InProcessServer) -> None:
        await server.power_on(self.timeline, self.seed)

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()

    # -- waiting, in emulated time ----------------------------------------------------------
    async def wait_until(self, predicate, timeout_s: float, what: str):
        return await self.until(predicate, timeout_s, what)

    async def until(self, predicate, within_s: float, what: str):
        """Check ``predicate`` (plain or async) now, then at every idle moment after
        emulated time moved, until it is truthy (returned) or ``within_s`` emulated
        seconds passed (TimeoutError)."""
        timeline = self.timeline
        deadline = timeline.now_s + within_s
        alarm = timeline.call_at(deadline, lambda: None)  # time reaches the deadline, whatever else waits
        real_deadline = time.monotonic() + REAL_LIMIT_S
        last: Any = None
        try:
            while True:
                last = await poll_once(predicate)
                if satisfied(last):
                    return last
                if timeline.now_s >= deadline:
                    raise TimeoutError(f"{what}: not within {within_s:g} emulated seconds (last: {last!r})")
                if time.monotonic() > real_deadline:
                    raise TimeoutError(
                        f"{what}: emulated time stuck at {timeline.now_s:g} s for "
                        f"{REAL_LIMIT_S:g} real seconds (last: {last!r})"
                    )
                await timeline.settled(after_step=True)
        finally:
            alarm.cancel()

    async def run_for(self, emulated_s: float) -> None:
        """Let ``emulated_s`` emulated seconds pass, and what is due then settle."""
        await EmulatedClock(self.timeline).sleep(emulated_s)
        await self.settle()

    async def settle(self) -> None:
        """Return once nothing runs or is in flight, without emulated time moving."""
        await self.timeline.settled()

    # -- what a test does ---------------------------------------------------------------------
    async def cut_link(self, server: InProcessServer, direction: str = "both") -> None:
        await self._fault(server, fault="cut-link", direction=direction)

    async def heal_link(self, server: InProcessServer) -> None:
        await self._fault(server, fault="heal-link")

    async def clock_offset(self, server: InProcessServer, seconds: float) -> None:
        await self._fault(server, fault="clock-offset", seconds=seconds)

    async def crash_service(self, server: InProcessServer, service: str = "tomcat") -> None:
        await self._fault(server, fault="crash-service", service=service)

    async def _fault(self, server: InProcessServer, **fault) -> None:
        reply = await self.fault(server, **fault)
        if not reply.ok:
            raise AssertionError(f"the {server.name} refused the lab fault {fault}: {reply.body}")

    async def shell(self, server: InProcessServer, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        """A command typed in the server's shell, line by line as over SSH: (output,
        exit status of the last line).  The interpreter is the one the SSH server runs."""
        if server.server is None:
            raise RuntimeError(f"the {server.name} server is powered off")
        shell, out, status = Shell(server.server), [], 0
        for line in command.split("\n"):
            result = await server.run_as_server(shell.run(user, line))
            out.append(result.output)
            status = result.exit_status
            if result.close:
                break
        return "".join(out), status
