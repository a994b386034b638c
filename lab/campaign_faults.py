"""The fault campaign's faults: the schedule, and each fault injected and healed.

The schedule is a pure function of the seed (``make_schedule``).  ``Faults`` runs it
against the pair: after each fault's gap of normal operation it injects the fault
(``kill -9``, a SIGSTOP pause, the peer link cut, a clock jump, a tomcat crash, a
transaction log filling while the partner is down), heals it after its hold time, and
runs the documented recovery after it when the schedule says so.  Whatever stays
broken (a heal that failed) is healed again by ``heal_everything``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ipics_lab.campaign_history import History
from ipics_lab.campaign_pair import CampaignClock, CampaignError, CampaignPair
from ipics_lab.supervisor import ServerProcess, wait_until

FAULT_KINDS = ("kill", "pause", "cut-both", "cut-one-way", "clock-jump", "tomcat-crash", "txlog-fill")
#: the sites topology's: the cuts are made by the kernel there (silent), and packets are
#: lost between the servers at a rate (a fault loopback cannot make)
SITES_FAULT_KINDS = (*FAULT_KINDS, "packet-loss")


#: emulated seconds (server/core/roles.py, server/config.py)
SERVICE_RESTART_S = 60.0
DEFAULT_TXLOG_CAPACITY = 100_000


@dataclass(frozen=True)
class FaultSpec:
    """One fault of the schedule; a pure function of the seed."""

    index: int
    kind: str
    target: str  # "primary" or "secondary"
    gap_s: float  # emulated seconds of normal operation before it
    hold_s: float  # emulated seconds it lasts before it is healed
    params: dict = field(default_factory=dict)
    recover_after: bool = False  # an operator runs the documented recovery once it is healed

    def to_json(self) -> dict:
        return asdict(self)


def make_schedule(
    seed: int,
    duration_s: float,
    time_scale: float,
    faults: Sequence[str] = FAULT_KINDS,
    recover_probability: float = 0.5,
) -> list[FaultSpec]:
    """The faults for ``duration_s`` real seconds: enough that the campaign never runs
    out (the run stops injecting when its time is up).  Each fault draws the same
    numbers whatever the duration, so a longer run's schedule starts with a shorter
    one's."""
    unknown = set(faults) - set(SITES_FAULT_KINDS)
    if unknown or not faults:
        raise ValueError(f"unknown faults {sorted(unknown)}; choose from {', '.join(SITES_FAULT_KINDS)}")
    rng = random.Random(seed)
    out: list[FaultSpec] = []
    planned = 0.0
    while planned < duration_s * 2 or len(out) < 3:
        kind = rng.choice(list(faults))
        target = rng.choice(["primary", "secondary"])
        gap = round(rng.uniform(20, 150), 1)
        params: dict[str, Any] = {}
        if kind == "kill":
            hold = rng.uniform(10, 400)
        elif kind == "pause":
            hold = rng.uniform(5, 400)  # below the 25 s window nobody notices
        elif kind == "cut-both":
            hold = rng.uniform(10, 400)
        elif kind == "cut-one-way":
            hold = rng.uniform(10, 400)
            params["direction"] = rng.choice(["outbound", "inbound"])
        elif kind == "clock-jump":
            hold = rng.uniform(30, 400)
            params["seconds"] = round(rng.choice([-1, 1]) * rng.uniform(31, 120), 1)
        elif kind == "tomcat-crash":
            hold = 0.0  # ipics_nm restarts it after 60 emulated seconds
        elif kind == "packet-loss":  # between the servers, each way
            hold = rng.uniform(30, 400)
            params["percent"] = rng.choice([5, 30])
        else:  # txlog-fill: the partner is down for long, the transaction log is small
            hold = rng.uniform(100, 500)
            params["capacity"] = rng.randint(10, 30)
            params["safeguard"] = rng.random() >= 0.3
        recover = rng.random() < recover_probability
        out.append(FaultSpec(len(out), kind, target, gap, round(hold, 1), params, recover))
        planned += (gap + hold + 150) * time_scale  # + roughly what a heal and a failover take
    return out


@dataclass
class Faults:
    """Injects the schedule's faults one at a time and heals them; ``injected`` says
    what was done, when, and what failed."""

    clock: CampaignClock
    servers: CampaignPair
    history: History
    notes: list[str]
    recover: Callable[[str], Awaitable[bool]]
    injected: list[dict] = field(default_factory=list)
    _paused: set[str] = field(default_factory=set)
    _pending: list = field(default_factory=list)  # heals of faults still in place

    async def run(self, schedule: list[FaultSpec], deadline: float) -> None:
        for spec in schedule:
            if self.clock.now() >= deadline:
                return
            await asyncio.sleep(self.clock.emulated(spec.gap_s))  # normal operation between faults
            if self.clock.now() >= deadline:
                return
            entry = {
                "index": spec.index,
                "kind": spec.kind,
                "target": spec.target,
                "params": spec.params,
                "hold_s": spec.hold_s,
                "at_s": round(self.clock.now(), 2),
            }
            self.injected.append(entry)
            p, s = await self.servers.statuses()
            entry["roles_before"] = {"primary": p and p["role"], "secondary": s and s["role"]}
            self.clock.log(
                f"fault {spec.index}: {spec.kind} on the {spec.target} {spec.params or ''} "
                f"for {spec.hold_s:g} emulated s (roles {entry['roles_before']})"
            )
            try:
                undo = await self.inject(spec)
                self._pending.append(undo)
                await asyncio.sleep(self.clock.emulated(spec.hold_s))  # the fault lasts this long
                await undo()
                self._pending.remove(undo)
            except Exception as exc:  # noqa: BLE001 - could not inject or heal it: note it, heal all
                entry["error"] = f"{type(exc).__name__}: {exc}"
                self.notes.append(f"fault {spec.index} ({spec.kind} on the {spec.target}): {entry['error']}")
                self.clock.log(f"fault {spec.index} failed: {entry['error']}")
                await self.heal_everything()
            entry["healed_at_s"] = round(self.clock.now(), 2)
            self.history.collect_discarded()
            if spec.recover_after:
                await self.recover(f"after fault {spec.index}")

    async def inject(self, spec: FaultSpec):
        name, server = spec.target, self.servers.server(spec.target)
        if spec.kind == "kill":
            server.kill()

            async def undo():
                await self.power_on(server)

            return undo
        if spec.kind == "pause":
            server.send_signal(signal.SIGSTOP)
            self._paused.add(name)

            async def undo():
                self.resume(server)

            return undo
        if spec.kind in ("cut-both", "cut-one-way"):
            await self.servers.cut_link(name, spec.params.get("direction", "both"))

            async def undo():
                await self.servers.heal_link(name)

            return undo
        if spec.kind == "packet-loss":
            network = self.servers.kernel_faults()
            await network.packet_loss("primary", "secondary", spec.params["percent"])

            async def undo():
                await network.heal()

            return undo
        if spec.kind == "clock-jump":
            await self.servers.lab_fault(name, fault="clock-offset", seconds=spec.params["seconds"])

            async def undo():
                await self.servers.lab_fault(name, fault="clock-offset", seconds=0)  # NTP time again

            return undo
        if spec.kind == "tomcat-crash":
            await self.servers.lab_fault(name, fault="crash-service", service="tomcat")

            async def undo():
                async def tomcat_back():
                    st = await self.servers.status(name)
                    return st and st["services"]["tomcat"] == "running"

                await wait_until(
                    tomcat_back,
                    self.clock.emulated(SERVICE_RESTART_S) + 20,
                    f"ipics_nm to restart tomcat on the {name}",
                )

            return undo
        if spec.kind == "txlog-fill":
            partner = self.servers.server(self.servers.other(name))
            before = await self.servers.status(name)
            capacity = before["replication"]["transaction_log_capacity"] if before else DEFAULT_TXLOG_CAPACITY
            await self.servers.lab_fault(name, fault="txlog-capacity", capacity=spec.params["capacity"])
            if not spec.params["safeguard"]:
                await self.servers.lab_fault(name, fault="txlog-safeguard", enabled=False)
            partner.kill()  # prolonged downtime of the partner

            async def undo():
                await self.power_on(partner)
                await self.servers.lab_fault(name, fault="txlog-capacity", capacity=capacity)
                await self.servers.lab_fault(name, fault="txlog-safeguard", enabled=True)

            return undo
        raise CampaignError(f"unknown fault {spec.kind}")

    def resume(self, server: ServerProcess) -> None:
        if server.name in self._paused:
            server.send_signal(signal.SIGCONT)
            self._paused.discard(server.name)

    async def power_on(self, server: ServerProcess) -> None:
        if server.proc is None or server.proc.poll() is not None:
            await server.power_on()

    async def heal_everything(self) -> None:
        """Whatever is still broken: paused servers continue, dead ones power on, and
        the heals of faults not healed yet (a heal that failed) run again."""
        for s in self.servers.pair.servers:
            self.resume(s)
            await self.power_on(s)
        for undo in list(self._pending):
            try:
                await undo()
            except Exception as exc:  # noqa: BLE001
                self.notes.append(f"healing failed again: {type(exc).__name__}: {exc}")
                continue
            self._pending.remove(undo)

    def resume_all(self) -> None:
        """The campaign ends: every paused server continues."""
        for name in list(self._paused):
            with contextlib.suppress(ProcessLookupError):
                self.servers.server(name).send_signal(signal.SIGCONT)
