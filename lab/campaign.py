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

The pair runs in the modes given (``ipics_lab.modes``: IPICS's by default, or
synchronous replication, a witness, both), and the report says per mode what the
issue compares them by (``measures``): the acknowledged writes lost (every one, and
the unexplained among them), the split brains entered, the time without an active
server, and the writes refused or not acknowledged, by answer; ``goals`` says which of
those the modes promise and whether the run kept the promise.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ipics_lab import campaign_measures, checker
from ipics_lab.campaign_faults import FAULT_KINDS, SITES_FAULT_KINDS, Faults, FaultSpec, make_schedule
from ipics_lab.campaign_history import History
from ipics_lab.campaign_pair import CampaignClock, CampaignError, CampaignPair
from ipics_lab.campaign_recovery import Recovery, pair_state
from ipics_lab.checker import FAIL, OK, UNKNOWN
from ipics_lab.modes import LabModes
from ipics_lab.server_faults import SITES_ONLY
from ipics_lab.sites import TOPOLOGIES, Sites
from ipics_lab.supervisor import LabPair
from ipics_server.adapters.httpclient import ApiClient, Reply, Unreachable
from ipics_server.core.commands import REPAIR, RSYNC, RSYNC_LOG

#: what other modules and tests take from here (the schedule, the recovery's pair
#: state and the chapter's commands live beside it)
__all__ = [
    "FAULT_KINDS",
    "SITES_FAULT_KINDS",
    "REPAIR",
    "RSYNC",
    "RSYNC_LOG",
    "TAKEOVER_MAX_S",
    "Campaign",
    "CampaignError",
    "FaultSpec",
    "Report",
    "make_schedule",
    "pair_state",
    "report_json",
]

#: emulated seconds (server/core/roles.py): the longest takeover (critical process failure)
TAKEOVER_MAX_S = 300.0


@dataclass
class Report:
    seed: int
    duration_s: float
    time_scale: float
    ok: bool
    #: the pair's modes (``LabModes.name``), what was measured in them, and their goals
    modes: str
    measures: dict[str, Any]
    goals: dict[str, dict]
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
            f"fault campaign seed {self.seed} in {self.modes} mode: {'OK' if self.ok else 'FAILED'} "
            f"({len(self.faults)} faults, {sum(self.counts.values())} acknowledged writes)"
        )
        lines = [head]
        if m := self.measures:
            lost, refused = m["acknowledged_writes_lost"], m["writes"]["refused"]
            lines.append(
                f"  acknowledged writes lost {lost.get('total', '?')} ({lost.get('unexplained', '?')} unexplained), "
                f"split brains entered {m['split_brains_entered']}, without an active "
                f"{m['without_active_real_s']:g} s ({m['without_active_emulated_s']:g} emulated s), writes refused "
                + (", ".join(f"{k} {v}" for k, v in refused.items()) or "none")
            )
        lines += [
            f"  goal {name}: {'met' if g['met'] else 'MISSED'}: {g['detail']}"
            for name, g in self.goals.items()
            if g["goal"]
        ]
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


class Campaign:
    """One seeded campaign: the pair up, clients writing, the schedule's faults
    (``Faults``), the documented recovery (``Recovery``), then the checker's verdict
    on what ``History`` recorded, in a ``Report``."""

    def __init__(
        self,
        root: Path,
        seed: int,
        duration_s: float = 15.0,
        time_scale: float = 0.01,
        *,
        faults: Sequence[str] | None = None,
        clients: int = 3,
        interval_s: int = 5,
        missed_count: int = 5,
        recover_probability: float = 0.5,
        log: Callable[[str], None] | None = None,
        topology: str = "loopback",
        modes: LabModes | None = None,
    ):
        if topology not in TOPOLOGIES:
            raise ValueError(f"the topology is {' or '.join(TOPOLOGIES)}, not {topology!r}")
        self.topology = topology
        if faults is None:  # every fault the topology can make
            faults = SITES_FAULT_KINDS if topology == "sites" else FAULT_KINDS
        if topology == "loopback" and "packet-loss" in faults:
            raise ValueError(f"packet-loss is made by the kernel: {SITES_ONLY}")
        self.root = Path(root)
        self.seed = seed
        self.duration_s = duration_s
        self.time_scale = time_scale
        self.faults = tuple(faults)
        self.n_clients = clients
        self.interval_s = interval_s
        self.missed_count = missed_count
        self.recover_probability = recover_probability
        self.modes = modes or LabModes()
        self.notes: list[str] = []
        self.clock = CampaignClock(time_scale, log or (lambda line: print(line, flush=True)))
        self.servers = CampaignPair()
        self.history = History(self.clock, self.servers, self.notes)
        self.recovery = Recovery(
            self.clock, self.servers, self.history, self.notes, interval_s=interval_s, missed_count=missed_count
        )
        self.injector = Faults(self.clock, self.servers, self.history, self.notes, self.recovery.recover)

    def schedule(self) -> list[FaultSpec]:
        return make_schedule(self.seed, self.duration_s, self.time_scale, self.faults, self.recover_probability)

    @property
    def pair(self) -> LabPair:
        """The campaign's pair, made when ``run`` begins."""
        return self.servers.pair

    async def run(self) -> Report:
        self.clock.say(
            f"fault campaign seed {self.seed} in {self.modes.name} mode (duration {self.duration_s:g} s, "
            f"time scale {self.time_scale:g}, faults {', '.join(self.faults)})"
        )
        self.clock.start()
        times: dict[str, float] = {}
        sites = await Sites.create() if self.topology == "sites" else None
        self.servers.start(LabPair(self.root, time_scale=self.time_scale, sites=sites, modes=self.modes))
        stop_clients, stop_watching = asyncio.Event(), asyncio.Event()
        clients: list[Client] = []
        tasks: list[asyncio.Task] = []
        watchers: list[asyncio.Task] = []
        result = None
        failure = None
        extra_invariants: dict[str, dict] = {}
        roles: dict[str, Any] = {}
        try:
            await self.pair.up(interval_s=self.interval_s, missed_count=self.missed_count)
            await self.servers.mint_token(prefer="primary")
            times["pair_up"] = self.clock.now()
            self.clock.log("pair Ready; clients start")
            clients = [Client(self, i) for i in range(self.n_clients)]
            tasks = [asyncio.create_task(c.run(stop_clients)) for c in clients]
            watchers = [
                asyncio.create_task(self.history.watch_roles(n, stop_watching)) for n in ("primary", "secondary")
            ]

            start = self.clock.now()
            await self.injector.run(self.schedule(), deadline=start + self.duration_s)
            times["faults"] = self.clock.now() - start

            start = self.clock.now()
            self.clock.log("all faults healed; final recovery")
            await self.injector.heal_everything()
            recovered = await self.recovery.recover("final")
            times["final_recovery"] = self.clock.now() - start
            stop_clients.set()
            await asyncio.gather(*tasks)
            self.clock.log(f"clients stopped: {len(self.history.acks)} acknowledged writes")

            start = self.clock.now()
            converged = await self.recovery.converge()
            times["converge"] = self.clock.now() - start
            self.history.collect_discarded()
            p, s = await self.servers.statuses()
            primary = checker.read_server(
                "primary",
                self.pair.primary.host,
                self.pair.primary.data_dir,
                status=p,
                extra_discarded=self.history.discarded["primary"],
            )
            secondary = checker.read_server(
                "secondary",
                self.pair.secondary.host,
                self.pair.secondary.data_dir,
                status=s,
                extra_discarded=self.history.discarded["secondary"],
            )
            errors = sum(c.stats["internal_errors"] for c in clients)
            stalled = [f for f in self.recovery.file_checks if not f["ok"]]
            extra_invariants = {
                "recovery_reached_ready": {"ok": recovered, "detail": self.recovery.recoveries[-1]["outcome"]},
                "converged": {"ok": converged, "detail": self.recovery.converge_detail},
                "no_internal_errors": {"ok": errors == 0, "detail": f"{errors} answers 500 to the clients"},
                "file_replication_kept_up": {
                    "ok": not stalled,
                    "detail": "; ".join(f"{f['why']}: {f['detail']}" for f in stalled[:5])
                    or f"after each of {len(self.recovery.file_checks)} recoveries the standby fetched every file "
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
            roles = campaign_measures.role_timeline(self.history.role_history, self.clock.now(), self.time_scale)
            result = checker.check(
                self.history.acks,
                primary,
                secondary,
                history=self.history.ops,
                active_since_s=self.history.became_active_at(active) if active else None,
                slack_s=0.5,
                extra_invariants=extra_invariants,
                modes=self.modes,
                split_brains=int(roles["split_brains_entered"]),
            )
        except Exception as exc:  # noqa: BLE001 - the campaign broke down: a failed run, with why
            failure = f"{type(exc).__name__}: {exc}"
            self.notes.append(
                "campaign aborted: " + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]
            )
            self.clock.log(f"campaign aborted: {failure}")
        finally:
            tracebacks = self.server_tracebacks() if self.servers.started else {}
            stop_clients.set()
            stop_watching.set()
            for t in [*tasks, *watchers]:
                if not t.done():
                    t.cancel()
            await asyncio.gather(*tasks, *watchers, return_exceptions=True)
            self.injector.resume_all()
            self.pair.stop()
            if sites is not None:
                sites.remove()
        times["total"] = self.clock.now()
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
            modes=self.modes.name,
            measures={
                "acknowledged_writes": len(self.history.acks),
                "acknowledged_writes_lost": data.get("acknowledged_writes_lost", {}),
                **(
                    roles or campaign_measures.role_timeline(self.history.role_history, times["total"], self.time_scale)
                ),
                "writes": campaign_measures.writes_not_acknowledged(self.history.ops),
            },
            goals=data.get("goals", {}),
            counts=data.get("counts", {}),
            faults=self.injector.injected,
            recoveries=self.recovery.recoveries,
            clients={"count": self.n_clients, **_sum_stats([c.stats for c in clients])},
            invariants=data.get("invariants", {}),
            unexplained=data.get("unexplained", []),
            documented_losses=data.get("documented_losses", {}),
            info={
                **data.get("info", {}),
                "unexplained_total": data.get("unexplained_total", 0),
                "server_tracebacks": tracebacks,
                "file_checks": self.recovery.file_checks,
                "unknown_outcomes": [op.to_json() for op in self.history.ops if op.outcome == UNKNOWN][:200],
                "role_changes": len(self.history.role_history),
            },
            run_times_s={k: round(v, 2) for k, v in times.items()},
            schedule=[f.to_json() for f in self.schedule()],
            notes=self.notes,
        )
        self.clock.say(report.summary())
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
            self.c.servers.name_of(reply.body.get("active"))
            if reply is not None and isinstance(reply.body, dict)
            else None
        )
        self.current = active if active and active != self.current else self.c.servers.other(self.current)

    async def pause(self, emulated_s: float) -> None:
        await asyncio.sleep(self.c.clock.emulated(emulated_s))

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
        if an_internal_error(reply):
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
        index = self.c.history.invoke(
            client=self.name, op=op, table=table, key=key, server=self.current, name=name, sha256=sha256
        )
        try:
            reply = await http.request(method, path, **kw)
        except Unreachable as exc:
            self.stats["unknown_outcome"] += 1
            self.c.history.complete(index, UNKNOWN, why=f"no answer: {exc}")
            raise
        if reply.ok:
            self.stats["acknowledged"] += 1
            created = reply.body.get("id") if isinstance(reply.body, dict) else None
            self.c.history.complete(index, OK, why=str(reply.status), key=key or created)
        else:
            self.c.history.complete(index, FAIL if a_refusal(reply) else UNKNOWN, why=f"{reply.status} {_code(reply)}")
            self.handle_refusal(reply)
        return reply

    async def create_channel(self, http: ApiClient) -> None:
        name = f"s{self.c.seed}-{self.name}-ch{self.n}"
        reply = await self.write(
            http, "POST", "/api/v1/channels", op="create", table="channels", name=name, json={"name": name}
        )
        if reply.status == 201:
            self.c.history.record_ack(
                client=self.name, op="create", table="channels", key=reply["id"], server=self.current, name=name
            )
            self.channels.append(reply["id"])

    async def delete_channel(self, http: ApiClient) -> None:
        key = self.channels[self.rng.randrange(len(self.channels))]
        reply = await self.write(http, "DELETE", f"/api/v1/channels/{key}", op="delete", table="channels", key=key)
        if reply.ok:
            self.c.history.record_ack(client=self.name, op="delete", table="channels", key=key, server=self.current)
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
                self.c.history.record_ack(
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
            self.c.history.record_ack(
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


#: 5xx answers that refuse a write before it is made (the server says why): it did not
#: happen (``no_synchronous_standby``: strict synchronous replication without a standby)
REFUSALS_5XX = (
    "transitioning",
    "ddrblock",
    "tomcat_down",
    "database_down",
    "configuring",
    "no_synchronous_standby",
    "no_quorum",  # witness mode: neither partner nor witness heard
)
#: 5xx answers of a write made but not acknowledged (synchronous replication: the standby
#: did not confirm it in time, or the server lost the active role meanwhile): not an
#: acknowledged write, not a refusal either; it may or may not survive
NOT_ACKNOWLEDGED_5XX = ("not_acknowledged",)


def _code(reply: Reply) -> str | None:
    return reply.body.get("error") if isinstance(reply.body, dict) else None


def a_refusal(reply: Reply) -> bool:
    """A 4xx, or a 5xx that refuses before writing; anything else (a 500, a write not
    acknowledged) may have written."""
    return reply.status < 500 or _code(reply) in REFUSALS_5XX


def an_internal_error(reply: Reply) -> bool:
    """A failed answer that is neither a refusal nor a write made but not acknowledged."""
    return not reply.ok and not a_refusal(reply) and _code(reply) not in NOT_ACKNOWLEDGED_5XX


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False)
