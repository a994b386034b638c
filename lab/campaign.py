"""A seeded, reproducible fault campaign against a real HA pair.

Clients keep creating and deleting channels and uploading files, following the active
server as the IDC does, and record every write they got a 2xx for.  Meanwhile faults
from the schedule hit either server, one at a time: ``kill -9``, a SIGSTOP pause, the
peer link cut both ways or one way, a clock jump of more than 30 s, a tomcat crash, a
transaction log filling up while the partner is down.  Each fault is healed after its
hold time; after some of them (chosen by the seed) an operator runs the documented
recovery at once.  At the end everything is healed, the documented recovery runs
(Method 1 for a split brain, Configure again after HA was unconfigured at 90 % of the
transaction log, else wait for Ready), the clients stop, and ``checker`` classifies
every acknowledged write and checks the invariants.  After every recovery the standby
must also fetch every file the active holds (file replication may lag, never stop),
and two watchers record when each server took the active role (content missing on the
active is documented only if that server took over after the upload).

Every random choice comes from ``random.Random`` seeded with the campaign seed (the
fault schedule from the seed itself, each client from ``"<seed>:client:<n>"``), so the
schedule is the same for the same seed; what the servers do with it depends on
timing, as on real hardware.  Durations in the schedule are emulated seconds
(``time_scale`` real seconds each).  Nothing waits a fixed time for things to settle:
every wait is for a condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ipics_lab import checker
from ipics_lab.checker import FAIL, OK, UNKNOWN, Ack, Op
from ipics_lab.supervisor import LabPair, ServerProcess, SetupError, wait_until
from ipics_server.adapters.httpclient import ApiClient, Reply, Unreachable
from ipics_server.core.commands import HA_STATUS, PENDING, REPAIR, RSYNC, RSYNC_LOG

FAULT_KINDS = ("kill", "pause", "cut-both", "cut-one-way", "clock-jump", "tomcat-crash", "txlog-fill")


#: emulated seconds (server/core/roles.py, server/config.py)
TAKEOVER_MAX_S = 300.0  # the longest takeover (critical process failure)
RECONFIGURATION_S = 120.0
SERVICE_RESTART_S = 60.0
FILE_REPLICATION_DELAY_S = 10.0
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
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown or not faults:
        raise ValueError(f"unknown faults {sorted(unknown)}; choose from {', '.join(FAULT_KINDS)}")
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
        else:  # txlog-fill: the partner is down for long, the transaction log is small
            hold = rng.uniform(100, 500)
            params["capacity"] = rng.randint(10, 30)
            params["safeguard"] = rng.random() >= 0.3
        recover = rng.random() < recover_probability
        out.append(FaultSpec(len(out), kind, target, gap, round(hold, 1), params, recover))
        planned += (gap + hold + 150) * time_scale  # + roughly what a heal and a failover take
    return out


@dataclass
class Report:
    seed: int
    duration_s: float
    time_scale: float
    ok: bool
    counts: dict[str, int]
    faults: list[dict]
    recoveries: list[dict]
    clients: dict[str, Any]
    invariants: dict[str, dict]
    unexplained: list[dict]
    documented_losses: dict[str, list]
    info: dict[str, Any]
    run_times_s: dict[str, float]
    schedule: list[dict]
    notes: list[str]

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        head = (
            f"fault campaign seed {self.seed}: {'OK' if self.ok else 'FAILED'} "
            f"({len(self.faults)} faults, {sum(self.counts.values())} acknowledged writes)"
        )
        lines = [head]
        if ops := self.info.get("operations"):
            lines.append("  operations: " + ", ".join(f"{k} {v}" for k, v in ops.items()))
        lines += [f"  {cls:<40} {n}" for cls, n in self.counts.items()]
        lines += [
            f"  invariant {name}: {'ok' if inv['ok'] else 'BROKEN'}: {inv['detail']}"
            for name, inv in self.invariants.items()
        ]
        lines += [
            f"  UNEXPLAINED #{u['seq']} {u['op']} {u['table']}/{u['key']} on the {u['server']}: {u['reason']}"
            for u in self.unexplained[:10]
        ]
        lines += [
            f"  server traceback ({name}): {t}"
            for name, ts in self.info.get("server_tracebacks", {}).items()
            for t in ts[:5]
        ]
        return "\n".join(lines)


class CampaignError(RuntimeError):
    pass


class Campaign:
    def __init__(
        self,
        root: Path,
        seed: int,
        duration_s: float = 15.0,
        time_scale: float = 0.01,
        *,
        faults: Sequence[str] = FAULT_KINDS,
        clients: int = 3,
        interval_s: int = 5,
        missed_count: int = 5,
        recover_probability: float = 0.5,
        log: Callable[[str], None] | None = None,
    ):
        self.root = Path(root)
        self.seed = seed
        self.duration_s = duration_s
        self.time_scale = time_scale
        self.faults = tuple(faults)
        self.n_clients = clients
        self.interval_s = interval_s
        self.missed_count = missed_count
        self.recover_probability = recover_probability
        self._log = log or (lambda line: print(line, flush=True))
        self._pair: LabPair | None = None
        self.acks: list[Ack] = []
        #: every operation the clients invoked, with its outcome (Jepsen's history)
        self.history: list[Op] = []
        #: (real seconds, server, role) whenever a server's role changes (or it stops answering)
        self.role_history: list[tuple[float, str, str]] = []
        self.file_checks: list[dict] = []
        self.injected: list[dict] = []
        self.recoveries: list[dict] = []
        self.notes: list[str] = []
        self.discarded: dict[str, list[dict]] = {"primary": [], "secondary": []}
        self._tokens: list[str] = []
        self._paused: set[str] = set()
        self._pending: list = []  # heals of faults still in place
        self.converge_detail = ""
        self._t0 = 0.0
        self._ack_seq = 0

    # ---------------------------------------------------------------------- helpers
    def schedule(self) -> list[FaultSpec]:
        return make_schedule(self.seed, self.duration_s, self.time_scale, self.faults, self.recover_probability)

    def now(self) -> float:
        return time.monotonic() - self._t0

    def emulated(self, seconds: float) -> float:
        """Real seconds for that many emulated seconds."""
        return seconds * self.time_scale

    def log(self, text: str) -> None:
        self._log(f"[{self.now():7.2f}s] {text}")

    @property
    def pair(self) -> LabPair:
        """The campaign's pair, made when ``run`` begins."""
        if self._pair is None:
            raise CampaignError("the campaign has not started: it has no pair yet")
        return self._pair

    def server(self, name: str) -> ServerProcess:
        return self.pair.primary if name == "primary" else self.pair.secondary

    def other(self, name: str) -> str:
        return "secondary" if name == "primary" else "primary"

    def name_of(self, url: str | None) -> str | None:
        for s in self.pair.servers:
            if s.url == url:
                return s.name
        return None

    def invoke(self, **kw) -> int:
        """An operation is about to be sent: its place in the history."""
        self.history.append(Op(seq=len(self.history) + 1, invoked_s=self.now(), **kw))
        return len(self.history) - 1

    def complete(self, index: int, outcome: str, why: str = "", key: str | None = None) -> None:
        op = self.history[index]
        self.history[index] = replace(op, outcome=outcome, completed_s=self.now(), why=why, key=key or op.key)

    def record_ack(self, **kw) -> Ack:
        self._ack_seq += 1
        ack = Ack(seq=self._ack_seq, at_s=self.now(), **kw)
        self.acks.append(ack)
        return ack

    def became_active_at(self, name: str) -> float | None:
        """When the server last took the active role (from another role; coming back
        from a pause as active is not a takeover)."""
        known, since = None, None
        for t, n, role in self.role_history:
            if n != name or role == "unreachable":
                continue
            if role == "active" and known != "active":
                since = t
            known = role
        return since

    async def watch_roles(self, name: str, stop: asyncio.Event) -> None:
        server, last = self.server(name), None
        async with ApiClient(server.url, timeout_s=1) as c:
            while not stop.is_set():
                try:
                    body = (await c.get("/api/v1/ha/status")).body
                    role = body.get("role", "?") if isinstance(body, dict) else "?"
                except Unreachable:
                    role = "unreachable"
                if role != last:
                    self.role_history.append((self.now(), name, role))
                    last = role
                await asyncio.sleep(0.02)  # polling period

    async def status(self, name: str) -> dict | None:
        try:
            return await self.pair.status(self.server(name))
        except Unreachable:
            return None

    async def statuses(self) -> tuple[dict | None, dict | None]:
        return await asyncio.gather(self.status("primary"), self.status("secondary"))

    def collect_discarded(self) -> None:
        """Keep the servers' discarded logs as they are now: each keeps only its last 1000."""
        for s in self.pair.servers:
            try:
                entries = checker.read_discarded(s.data_dir / "ipics.sqlite3")
            except Exception as exc:  # noqa: BLE001 - e.g. killed mid-write: read it next time
                self.notes.append(f"reading the {s.name}'s discarded log failed once: {exc}")
                continue
            self.discarded[s.name] = checker.dedupe([*self.discarded[s.name], *entries])

    # --------------------------------------------------------------- lab fault calls
    async def lab_fault(self, name: str, timeout_s: float = 20, **fault) -> Reply:
        """``POST /api/v1/lab/faults`` on that server with an administrator token valid
        there: one of the lab's tokens (sessions replicate), or a new one."""
        server = self.server(name)

        async def attempt():
            async with server.client() as c:
                for token in reversed(self._tokens):
                    c.token = token
                    reply = await c.post("/api/v1/lab/faults", fault, timeout_s=3)
                    if reply.status != 401:
                        if not reply.ok:
                            raise CampaignError(f"fault {fault} refused by the {name}: {reply.body}")
                        return reply
            await self.mint_token(prefer=name)
            return None

        return await wait_until(attempt, timeout_s, f"the {name} to take the lab fault {fault}")

    async def mint_token(self, prefer: str) -> str | None:
        for name in (prefer, self.other(prefer)):
            try:
                token = await self.pair.login(self.server(name))
            except (SetupError, Unreachable):
                continue
            self._tokens.append(token)
            del self._tokens[:-20]
            return token
        return None

    async def fresh_token_everywhere(self, timeout_s: float = 20) -> None:
        """After a recovery: a token minted on the active, once valid on the standby too
        (Configure logs administrators out; sessions expire)."""
        p = await self.status("primary")
        active = "primary" if p and p.get("role") == "active" else "secondary"
        token = await self.mint_token(prefer=active)
        if token is None:
            return
        standby = self.server(self.other(active))
        async with standby.client(token) as c:

            async def valid():
                return (await c.get("/api/v1/ha/discarded", timeout_s=3)).status != 401

            await wait_until(valid, timeout_s, "the lab token to reach the standby")

    # ---------------------------------------------------------------------- shell
    async def shell(self, name: str, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        return await self.pair.shell(self.server(name), command, user)

    # ------------------------------------------------------------------------ run
    async def run(self) -> Report:
        self._log(
            f"fault campaign seed {self.seed} (duration {self.duration_s:g} s, time scale "
            f"{self.time_scale:g}, faults {', '.join(self.faults)})"
        )
        self._t0 = time.monotonic()
        times: dict[str, float] = {}
        self._pair = LabPair(self.root, time_scale=self.time_scale)
        stop_clients, stop_watching = asyncio.Event(), asyncio.Event()
        clients: list[Client] = []
        tasks: list[asyncio.Task] = []
        watchers: list[asyncio.Task] = []
        result = None
        failure = None
        extra_invariants: dict[str, dict] = {}
        try:
            await self.pair.up(interval_s=self.interval_s, missed_count=self.missed_count)
            await self.mint_token(prefer="primary")
            times["pair_up"] = self.now()
            self.log("pair Ready; clients start")
            clients = [Client(self, i) for i in range(self.n_clients)]
            tasks = [asyncio.create_task(c.run(stop_clients)) for c in clients]
            watchers = [asyncio.create_task(self.watch_roles(n, stop_watching)) for n in ("primary", "secondary")]

            start = self.now()
            await self.fault_phase(deadline=start + self.duration_s)
            times["faults"] = self.now() - start

            start = self.now()
            self.log("all faults healed; final recovery")
            await self.heal_everything()
            recovered = await self.recover("final")
            times["final_recovery"] = self.now() - start
            stop_clients.set()
            await asyncio.gather(*tasks)
            self.log(f"clients stopped: {len(self.acks)} acknowledged writes")

            start = self.now()
            converged = await self.converge()
            times["converge"] = self.now() - start
            self.collect_discarded()
            p, s = await self.statuses()
            primary = checker.read_server(
                "primary",
                self.pair.primary.host,
                self.pair.primary.data_dir,
                status=p,
                extra_discarded=self.discarded["primary"],
            )
            secondary = checker.read_server(
                "secondary",
                self.pair.secondary.host,
                self.pair.secondary.data_dir,
                status=s,
                extra_discarded=self.discarded["secondary"],
            )
            errors = sum(c.stats["internal_errors"] for c in clients)
            stalled = [f for f in self.file_checks if not f["ok"]]
            extra_invariants = {
                "recovery_reached_ready": {"ok": recovered, "detail": self.recoveries[-1]["outcome"]},
                "converged": {"ok": converged, "detail": self.converge_detail},
                "no_internal_errors": {"ok": errors == 0, "detail": f"{errors} answers 500 to the clients"},
                "file_replication_kept_up": {
                    "ok": not stalled,
                    "detail": "; ".join(f"{f['why']}: {f['detail']}" for f in stalled[:5])
                    or f"after each of {len(self.file_checks)} recoveries the standby fetched every file "
                    "the active had",
                },
            }
            active = (
                (p or {}).get("role") == "active"
                and "primary"
                or (s or {}).get("role") == "active"
                and "secondary"
                or None
            )
            result = checker.check(
                self.acks,
                primary,
                secondary,
                history=self.history,
                active_since_s=self.became_active_at(active) if active else None,
                slack_s=0.5,
                extra_invariants=extra_invariants,
            )
        except Exception as exc:  # noqa: BLE001 - the campaign broke down: a failed run, with why
            failure = f"{type(exc).__name__}: {exc}"
            self.notes.append(
                "campaign aborted: " + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]
            )
            self.log(f"campaign aborted: {failure}")
        finally:
            tracebacks = self.server_tracebacks() if self._pair else {}
            stop_clients.set()
            stop_watching.set()
            for t in [*tasks, *watchers]:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, *watchers, return_exceptions=True)
            for name in list(self._paused):
                with contextlib.suppress(ProcessLookupError):
                    self.server(name).send_signal(signal.SIGCONT)
            self.pair.stop()
        times["total"] = self.now()
        data: dict[str, Any] = (
            result.to_json()
            if result
            else {"invariants": {"campaign_completed": {"ok": False, "detail": failure or "not run"}}}
        )
        report = Report(
            seed=self.seed,
            duration_s=self.duration_s,
            time_scale=self.time_scale,
            ok=bool(result and result.ok),
            counts=data.get("counts", {}),
            faults=self.injected,
            recoveries=self.recoveries,
            clients={"count": self.n_clients, **_sum_stats([c.stats for c in clients])},
            invariants=data.get("invariants", {}),
            unexplained=data.get("unexplained", []),
            documented_losses=data.get("documented_losses", {}),
            info={
                **data.get("info", {}),
                "unexplained_total": data.get("unexplained_total", 0),
                "server_tracebacks": tracebacks,
                "file_checks": self.file_checks,
                "unknown_outcomes": [op.to_json() for op in self.history if op.outcome == UNKNOWN][:200],
                "role_changes": len(self.role_history),
            },
            run_times_s={k: round(v, 2) for k, v in times.items()},
            schedule=[f.to_json() for f in self.schedule()],
            notes=self.notes,
        )
        self._log(report.summary())
        return report

    def server_tracebacks(self) -> dict[str, list[str]]:
        """Errors with a traceback in the servers' stderr: what was logged, and the
        exception (diagnostics for the report; the checker judges the data)."""
        found: dict[str, list[str]] = {}
        for s in self.pair.servers:
            if not (s.log_path and s.log_path.exists()):
                continue
            lines = s.log_path.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if line.startswith("Traceback") or "Task exception was never retrieved" in line:
                    logged = lines[i - 1].split(" ", 3)[-1] if i else ""
                    exc = next(
                        (ln for ln in lines[i + 1 :] if ln and not ln[0].isspace() and not ln.startswith("Traceback")),
                        "?",
                    )
                    found.setdefault(s.name, []).append(f"{logged} -> {exc}")
        return found

    # ---------------------------------------------------------------- the faults
    async def fault_phase(self, deadline: float) -> None:
        for spec in self.schedule():
            if self.now() >= deadline:
                return
            await asyncio.sleep(self.emulated(spec.gap_s))  # normal operation between faults
            if self.now() >= deadline:
                return
            entry = {
                "index": spec.index,
                "kind": spec.kind,
                "target": spec.target,
                "params": spec.params,
                "hold_s": spec.hold_s,
                "at_s": round(self.now(), 2),
            }
            self.injected.append(entry)
            p, s = await self.statuses()
            entry["roles_before"] = {"primary": p and p["role"], "secondary": s and s["role"]}
            self.log(
                f"fault {spec.index}: {spec.kind} on the {spec.target} {spec.params or ''} "
                f"for {spec.hold_s:g} emulated s (roles {entry['roles_before']})"
            )
            try:
                undo = await self.inject(spec)
                self._pending.append(undo)
                await asyncio.sleep(self.emulated(spec.hold_s))  # the fault lasts this long
                await undo()
                self._pending.remove(undo)
            except Exception as exc:  # noqa: BLE001 - could not inject or heal it: note it, heal all
                entry["error"] = f"{type(exc).__name__}: {exc}"
                self.notes.append(f"fault {spec.index} ({spec.kind} on the {spec.target}): {entry['error']}")
                self.log(f"fault {spec.index} failed: {entry['error']}")
                await self.heal_everything()
            entry["healed_at_s"] = round(self.now(), 2)
            self.collect_discarded()
            if spec.recover_after:
                await self.recover(f"after fault {spec.index}")

    async def inject(self, spec: FaultSpec):
        name, server = spec.target, self.server(spec.target)
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
            direction = spec.params.get("direction", "both")
            await self.lab_fault(name, fault="cut-link", direction=direction)

            async def undo():
                await self.lab_fault(name, fault="heal-link")

            return undo
        if spec.kind == "clock-jump":
            await self.lab_fault(name, fault="clock-offset", seconds=spec.params["seconds"])

            async def undo():
                await self.lab_fault(name, fault="clock-offset", seconds=0)  # NTP time again

            return undo
        if spec.kind == "tomcat-crash":
            await self.lab_fault(name, fault="crash-service", service="tomcat")

            async def undo():
                async def tomcat_back():
                    st = await self.status(name)
                    return st and st["services"]["tomcat"] == "running"

                await wait_until(
                    tomcat_back, self.emulated(SERVICE_RESTART_S) + 20, f"ipics_nm to restart tomcat on the {name}"
                )

            return undo
        if spec.kind == "txlog-fill":
            partner = self.server(self.other(name))
            before = await self.status(name)
            capacity = before["replication"]["transaction_log_capacity"] if before else DEFAULT_TXLOG_CAPACITY
            await self.lab_fault(name, fault="txlog-capacity", capacity=spec.params["capacity"])
            if not spec.params["safeguard"]:
                await self.lab_fault(name, fault="txlog-safeguard", enabled=False)
            partner.kill()  # prolonged downtime of the partner

            async def undo():
                await self.power_on(partner)
                await self.lab_fault(name, fault="txlog-capacity", capacity=capacity)
                await self.lab_fault(name, fault="txlog-safeguard", enabled=True)

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
        for s in self.pair.servers:
            self.resume(s)
            await self.power_on(s)
        for undo in list(self._pending):
            try:
                await undo()
            except Exception as exc:  # noqa: BLE001
                self.notes.append(f"healing failed again: {type(exc).__name__}: {exc}")
                continue
            self._pending.remove(undo)

    # ------------------------------------------------------------------ recovery
    async def recover(self, why: str, timeout_s: float = 120) -> bool:
        """The documented recovery, as an operator would run it, until one server is
        active and the Standby Server Status is Ready."""
        entry: dict[str, Any] = {"why": why, "at_s": round(self.now(), 2), "steps": []}
        self.recoveries.append(entry)
        deadline = time.monotonic() + timeout_s
        last_state = None
        actions = {
            "split_brain": self.method_1,
            "repair_pending": self.repair,
            "configure": self.configure,
            "unconfigure": self.unconfigure,
        }
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no recovery within {timeout_s:g} s; last state {last_state}")

                async def actionable():
                    nonlocal last_state
                    p, s = await self.statuses()
                    last_state = pair_state(p, s)
                    return last_state if last_state[0] != "flux" else None

                state, detail = await wait_until(actionable, remaining, "an actionable pair state", interval_s=0.05)
                if state == "ready":
                    break
                entry["steps"].append({"state": state, "detail": detail, "at_s": round(self.now(), 2)})
                self.log(f"recovery ({why}): {state}: {detail}")
                try:
                    await actions[state](entry)
                except Exception as exc:  # noqa: BLE001 - refused or timed out: look at the pair again
                    entry["steps"].append({"failed": f"{type(exc).__name__}: {exc}"})
                    self.notes.append(
                        f"recovery ({why}) step {state} failed, looking again: {type(exc).__name__}: {exc}"
                    )
                    self.log(f"recovery ({why}): {state} failed: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(self.emulated(self.interval_s))  # retry delay
            await self.fresh_token_everywhere()
            await self.check_file_replication(why)
        except TimeoutError as exc:
            entry["outcome"] = f"FAILED: {exc}"
            p, s = await self.statuses()
            entry["final_roles"] = {"primary": p and p["role"], "secondary": s and s["role"]}
            self.log(f"recovery ({why}) failed: {exc}")
            return False
        entry["outcome"] = (
            "Ready"
            if not entry["steps"]
            else "Ready after " + ", ".join(st["state"] for st in entry["steps"] if "state" in st)
        )
        entry["done_at_s"] = round(self.now(), 2)
        self.collect_discarded()
        return True

    async def method_1(self, entry: dict) -> None:
        """Method 1: Go Standby on the secondary, REPAIR as informix, ipicsrsync."""
        async with await self.pair.admin(self.pair.secondary) as s:
            reply = await s.post("/api/v1/ha/go-standby")
        if not reply.ok:
            entry["steps"].append({"go_standby_refused": reply.body})
            return  # the state changed meanwhile: look again
        await self.pair.wait_status(self.pair.primary, 20, partner_role="standby")
        await self.repair(entry)
        await self.rsync(entry)

    async def repair(self, entry: dict) -> None:
        """``ipicsedr_control_repl REPAIR`` as informix (on the secondary; either works),
        watched with ``service ipics ha-status`` until nothing is pending and the
        standby is Ready; run again if a repair process failed."""
        for _attempt in range(3):

            async def started():
                out, status = await self.shell("secondary", REPAIR, user="informix")
                if status == 0 or "already running" in out:
                    return out
                self.notes.append(f"REPAIR refused, trying again: {out.strip()}")
                return None

            await wait_until(started, 30, "ipicsedr_control_repl REPAIR to start", interval_s=0.2)

            async def repaired():
                text, _ = await self.shell("primary", HA_STATUS, user="informix")
                pending = text.split(PENDING)[1].strip()
                if pending.startswith("repair") and " failed " in pending:
                    return "failed"
                return (
                    text
                    if pending.startswith("none")
                    and "last REPAIR finished" in text
                    and "Standby Server Status        : Ready" in text
                    else None
                )

            text = await wait_until(
                repaired, 60, "the repair processes to finish and the standby to be Ready", interval_s=0.1
            )
            if text != "failed":
                entry["steps"].append({"repair": text.split(PENDING)[1].strip().splitlines()[-1].strip()})
                return
            self.notes.append("a REPAIR process failed: running REPAIR again")
        raise CampaignError("REPAIR failed three times")

    async def rsync(self, entry: dict) -> None:
        log_file = self.pair.primary.data_dir / "logs" / "rsync.log"
        offset = log_file.stat().st_size if log_file.exists() else 0
        for _ in range(3):
            out, status = await self.shell("primary", RSYNC)
            if status != 0:
                raise CampaignError(f"ipicsrsync refused: {out.strip()}")

            async def finished(offset=offset):
                # the chapter's monitoring, and this run's part of the log (earlier runs
                # finished too)
                tail, _ = await self.shell("primary", f"tail -n 50 {RSYNC_LOG}")
                new = log_file.read_text()[offset:] if log_file.exists() else ""
                if "ipicsrsync finished" in new or "ERROR" in new:
                    return tail, new
                return None

            tail, new = await wait_until(finished, 60, "ipicsrsync to finish", interval_s=0.1)
            if "ERROR" not in new:
                deleted = len(checker.RSYNC_DELETED.findall(new))
                entry["steps"].append(
                    {
                        "rsync": f"finished, {deleted} deleted on the secondary",
                        "deleted_on_secondary": deleted,
                        "at_s": round(self.now(), 2),
                        "tail": tail.strip().splitlines()[-1],
                    }
                )
                return
            offset = log_file.stat().st_size
            self.notes.append(f"ipicsrsync failed, run again: {new.strip().splitlines()[-1]}")
        raise CampaignError("ipicsrsync failed three times")

    async def configure(self, entry: dict) -> None:
        """HA unconfigured (at 90 % of the transaction log): configure it again from the
        primary; the trust still exists."""
        start = self.now()
        try:
            await self.pair.configure(self.interval_s, self.missed_count)
        finally:
            entry["steps"].append(
                {
                    "configure": "HA configured again from the primary",
                    "from_s": round(start, 3),
                    "to_s": round(self.now(), 3),
                }
            )
        await self.mint_token(prefer="primary")

    async def unconfigure(self, entry: dict) -> None:
        """The primary still configured and active, the secondary not: Unconfigure on the
        primary, wait for the reconfiguration, then Configure."""
        async with await self.pair.admin(self.pair.primary) as p:
            reply = await p.post("/api/v1/ha/unconfigure")
        if not reply.ok:
            raise CampaignError(f"Unconfigure refused: {reply.body}")
        await self.pair.wait_status(self.pair.primary, self.emulated(RECONFIGURATION_S) + 20, role="standalone")

    # --------------------------------------------------------------- convergence
    async def wait_progress(self, remaining, what: str, max_s: float = 120) -> tuple[bool, str]:
        """Wait until ``remaining()`` (work left, a number) is 0, failing when it has not
        gone down for a while: a standby catching up on a backlog may take long, one
        that is stuck never gets there."""
        stall_s = 3 + self.emulated(3 * (FILE_REPLICATION_DELAY_S + self.interval_s))
        start = best_at = time.monotonic()
        best = None
        while True:
            left = await remaining()
            if left == 0:
                return True, f"{what}: done after {time.monotonic() - start:.1f}s"
            now = time.monotonic()
            if best is None or left < best:
                best, best_at = left, now
            if now - best_at > stall_s or now - start > max_s:
                return False, (f"{what}: {left} left, no progress for {now - best_at:.1f}s (after {now - start:.1f}s)")
            await asyncio.sleep(0.1)  # polling period

    async def check_file_replication(self, why: str) -> None:
        """After a recovery: the standby must fetch every file the active holds now
        (file replication is slower than records, but must not stop)."""
        p, s = await self.statuses()
        if not p or not s:
            return
        act = self.pair.primary if p["role"] == "active" else self.pair.secondary
        sb = self.pair.secondary if act is self.pair.primary else self.pair.primary
        records = checker.read_records(act.data_dir / "ipics.sqlite3")
        live = {k for (t, k), v in records.items() if t == "files" and v[0] is not None}
        target = live & set(os.listdir(act.data_dir / "files"))

        async def missing():
            return len(target - set(os.listdir(sb.data_dir / "files")))

        ok, detail = await self.wait_progress(missing, f"{len(target)} files of the {act.name} to reach the {sb.name}")
        self.file_checks.append({"why": why, "at_s": round(self.now(), 2), "ok": ok, "detail": detail})
        if not ok:
            self.log(f"file replication stalled: {detail}")

    async def converge(self) -> bool:
        """Clients stopped: wait until both databases are identical and the standby has
        fetched every file the active has."""

        async def left():
            p, s = await self.statuses()
            if not p or not s:
                return 10**9
            prim = checker.read_server("primary", self.pair.primary.host, self.pair.primary.data_dir, status=p)
            sec = checker.read_server("secondary", self.pair.secondary.host, self.pair.secondary.data_dir, status=s)
            db = checker.databases_identical(prim, sec)["differing"]
            files = checker.files_follow_rules(prim, sec)[0]
            return db + (0 if files["ok"] else int(files.get("missing_on_standby", 1)))

        ok, self.converge_detail = await self.wait_progress(left, "both servers to converge")
        return ok


def pair_state(p: dict | None, s: dict | None) -> tuple[str, str]:
    """What the recovery should do next: ``ready``, ``split_brain`` (Method 1),
    ``repair_pending`` (Go Standby done, REPAIR not), ``configure`` (HA unconfigured,
    configure it again from the primary), ``unconfigure`` (the primary still configured
    but the secondary not), or ``flux`` (wait: something is under way)."""
    if p is None or s is None:
        return "flux", "a server does not answer"
    for name, st in (("primary", p), ("secondary", s)):
        if st["role"] == "transitioning":
            return "flux", f"the {name} is transitioning"
        down = [k for k, v in st["services"].items() if v != "running"]
        if down:
            return "flux", f"{', '.join(down)} not running on the {name}"
    if p["ha"] == "configured" and s["ha"] == "configured":
        roles = (p["role"], s["role"])
        if roles == ("active", "active"):
            if p["split_brain"] and s["split_brain"]:
                return "split_brain", "both servers active and communicating"
            return "flux", "both active, not hearing each other yet"
        if "active" in roles and "standby" in roles:
            act, sb = (p, s) if p["role"] == "active" else (s, p)
            if sb["awaiting_repair"]:
                if act["repair"]["running"] or sb["repair"]["running"]:
                    return "flux", "REPAIR running"
                return "repair_pending", "Go Standby done, REPAIR not run"
            if act["standby_server_status"] == "Ready" and sb["standby_server_status"] == "Ready":
                return "ready", f"the {'primary' if act is p else 'secondary'} is active, the standby Ready"
            return "flux", "the standby is synchronizing"
        return "flux", f"roles {roles[0]}/{roles[1]}"
    if p["ha"] != "configured" and p["role"] == "standalone":
        if s["ha"] == "configured" and s["role"] == "standby":
            return "flux", "the secondary follows the primary's unconfigure"
        return "configure", f"HA {p['ha']} on the primary (standalone), {s['ha']} on the secondary"
    if p["ha"] == "configured" and s["ha"] != "configured":
        if p["role"] == "active":
            return "unconfigure", "the primary is configured and active, the secondary is not configured"
        return "flux", "the primary follows the secondary's unconfigure"
    return "flux", f"HA {p['ha']}/{s['ha']}, roles {p['role']}/{s['role']}"


def _sum_stats(stats: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for st in stats:
        for k, v in st.items():
            if isinstance(v, dict):
                d = out.setdefault(k, {})
                for kk, vv in v.items():
                    d[kk] = d.get(kk, 0) + vv
            else:
                out[k] = out.get(k, 0) + v
    return out


class Client:
    """One IDC-like client: logs in to the active, follows ``active`` from a refusal
    (or tries the other server), creates and deletes channels and uploads photos."""

    def __init__(self, campaign: Campaign, index: int):
        self.c = campaign
        self.name = f"client{index}"
        self.rng = random.Random(f"{campaign.seed}:client:{index}")
        self.current = "primary" if index % 2 == 0 else "secondary"
        self.token: str | None = None
        self.incident: str | None = None
        self.channels: list[str] = []  # channels this client created (acknowledged), not deleted
        self.n = 0
        self.stats: dict[str, Any] = {
            "attempts": 0,
            "acknowledged": 0,
            "unknown_outcome": 0,
            "internal_errors": 0,
            "refused": {},
        }

    def switch(self, reply: Reply | None = None) -> None:
        active = (
            self.c.name_of(reply.body.get("active")) if reply is not None and isinstance(reply.body, dict) else None
        )
        self.current = active if active and active != self.current else self.c.other(self.current)

    async def pause(self, emulated_s: float) -> None:
        await asyncio.sleep(self.c.emulated(emulated_s))

    async def run(self, stop: asyncio.Event) -> None:
        timeout = 2.0
        async with (
            ApiClient(self.c.pair.primary.url, timeout_s=timeout) as cp,
            ApiClient(self.c.pair.secondary.url, timeout_s=timeout) as cs,
        ):
            http = {"primary": cp, "secondary": cs}
            while not stop.is_set():
                try:
                    await self.step(http[self.current])
                except Unreachable:
                    self.switch()
                    await self.pause(1)
                await self.pause(self.rng.uniform(1, 6))  # think time

    def refused(self, reply: Reply) -> None:
        key = f"{reply.status} {_code(reply)}"
        self.stats["refused"][key] = self.stats["refused"].get(key, 0) + 1
        if not _a_refusal(reply):
            self.stats["internal_errors"] += 1
            self.c.notes.append(f"{self.name}: {reply.status} from the {self.current}: {reply.body}")

    def handle_refusal(self, reply: Reply) -> None:
        self.refused(reply)
        if reply.status == 401:
            self.token = None
            return
        if reply.status in (409, 503):
            self.switch(reply)

    async def step(self, http: ApiClient) -> None:
        if self.token is None:
            reply = await http.post(
                "/api/v1/auth/login", {"username": "ipicsadmin", "password": self.c.pair.admin_password}
            )
            if reply.status == 200:
                self.token = reply["token"]
            else:
                self.handle_refusal(reply)
                await self.pause(1)
            return
        http.token = self.token
        roll = self.rng.random()
        self.n += 1
        if roll < 0.55:
            await self.create_channel(http)
        elif roll < 0.70 and self.channels:
            await self.delete_channel(http)
        else:
            await self.upload(http)

    async def write(
        self,
        http: ApiClient,
        method: str,
        path: str,
        *,
        op: str,
        table: str,
        key: str | None = None,
        name: str | None = None,
        sha256: str | None = None,
        **kw,
    ) -> Reply:
        """One write, in the history: invoked, then ok, fail or unknown.  No answer
        (``Unreachable``, raised) or a 5xx that is not a refusal: the outcome is unknown
        (it may have happened), and the checker may use it to explain a change."""
        self.stats["attempts"] += 1
        index = self.c.invoke(
            client=self.name, op=op, table=table, key=key, server=self.current, name=name, sha256=sha256
        )
        try:
            reply = await http.request(method, path, **kw)
        except Unreachable as exc:
            self.stats["unknown_outcome"] += 1
            self.c.complete(index, UNKNOWN, why=f"no answer: {exc}")
            raise
        if reply.ok:
            self.stats["acknowledged"] += 1
            created = reply.body.get("id") if isinstance(reply.body, dict) else None
            self.c.complete(index, OK, why=str(reply.status), key=key or created)
        else:
            self.c.complete(index, FAIL if _a_refusal(reply) else UNKNOWN, why=f"{reply.status} {_code(reply)}")
            self.handle_refusal(reply)
        return reply

    async def create_channel(self, http: ApiClient) -> None:
        name = f"s{self.c.seed}-{self.name}-ch{self.n}"
        reply = await self.write(
            http, "POST", "/api/v1/channels", op="create", table="channels", name=name, json={"name": name}
        )
        if reply.status == 201:
            self.c.record_ack(
                client=self.name, op="create", table="channels", key=reply["id"], server=self.current, name=name
            )
            self.channels.append(reply["id"])

    async def delete_channel(self, http: ApiClient) -> None:
        key = self.channels[self.rng.randrange(len(self.channels))]
        reply = await self.write(http, "DELETE", f"/api/v1/channels/{key}", op="delete", table="channels", key=key)
        if reply.ok:
            self.c.record_ack(client=self.name, op="delete", table="channels", key=key, server=self.current)
            self.channels.remove(key)
        elif reply.status == 404:
            self.channels.remove(key)  # not on this server (lost in a failover): forget it

    async def upload(self, http: ApiClient) -> None:
        if self.incident is None:
            name = f"s{self.c.seed}-{self.name}-incident{self.n}"
            reply = await self.write(
                http, "POST", "/api/v1/incidents", op="create", table="incidents", name=name, json={"name": name}
            )
            if reply.status == 201:
                self.c.record_ack(
                    client=self.name, op="create", table="incidents", key=reply["id"], server=self.current, name=name
                )
                self.incident = reply["id"]
            return
        content = (
            b"\xff\xd8\xff\xe0"
            + f"{self.c.seed}/{self.name}/{self.n}/".encode()
            + self.rng.randbytes(self.rng.randint(16, 512))
        )
        name = f"photo-{self.name}-{self.n}.jpg"
        sha256 = hashlib.sha256(content).hexdigest()
        reply = await self.write(
            http,
            "POST",
            f"/api/v1/incidents/{self.incident}/files?name={name}",
            op="upload",
            table="files",
            name=name,
            sha256=sha256,
            data=content,
            headers={"Content-Type": "image/jpeg"},
        )
        if reply.status == 201:
            self.c.record_ack(
                client=self.name,
                op="upload",
                table="files",
                key=reply["id"],
                server=self.current,
                name=name,
                sha256=sha256,
            )
        elif reply.status == 404:
            self.incident = None  # the incident is not on this server: open a new one


#: 5xx answers that refuse a write before it is made (the server says why): it did not happen
REFUSALS_5XX = ("transitioning", "ddrblock", "tomcat_down", "database_down", "configuring")


def _code(reply: Reply) -> str | None:
    return reply.body.get("error") if isinstance(reply.body, dict) else None


def _a_refusal(reply: Reply) -> bool:
    """A 4xx, or a 5xx that refuses before writing; anything else (a 500) may have written."""
    return reply.status < 500 or _code(reply) in REFUSALS_5XX


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False)
