"""Benchmarks of the emulated IPICS HA pair: real server processes on loopback (and,
for the partition figure, as root, in the sites topology).

    .venv/bin/python bench/run_bench.py [--quick] [--only NAME ...] [--out PATH]

Figures (bench/README.md says what each means and how it is measured):

1. failover_detection_ratio: kill -9 the active; real time until the standby reports
   role "transitioning", in emulated seconds, divided by interval x missed count.
   failover_detection_ratio_hang: the same with the active paused (SIGSTOP), a silent
   partner: connections accepted, nothing answered.
   failover_detection_ratio_partition: the same in the sites topology, the active cut
   off by the kernel (nftables drops every packet between the servers: connects hang),
   with the takeover's emulated duration (the chapter's 150-180 s) beside it.
2. replication_lag_p99_ms: active -> standby lag at a steady 500 writes/s.
3. sustained_writes_per_s: channel creations per second on the active, replication on.
4. primary_rss_mb: resident memory of the primary with the demo data.
5. synchronous_write_rate_ratio: the price of synchronous replication: the same load
   (16 writers, 10 s in all, in turns of 2 s) on a pair in each replication mode (async,
   IPICS's; synchronous-strict; synchronous-fallback), all three up at once, writes per
   second and p50/p99 real time to acknowledge in each, and synchronous-strict's
   writes/s over async's, measured in one run.

Every figure goes to bench/results.json with its goal and pass/fail.  A benchmark that
crashes is recorded with its error and counts as failed; the others still run.  The
exit status is 0 only when every goal is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import inspect
import itertools
import json
import math
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ipics_lab.modes import LabModes
from ipics_lab.seed import seed_demo_data
from ipics_lab.sites import Sites
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.adapters.httpclient import ApiClient, Reply, Unreachable

HERE = Path(__file__).resolve().parent

# 1: the chapter's defaults (15 s x 5 missed), run 50x faster than real time.
FAILOVER_TIME_SCALE = 0.02
FAILOVER_INTERVAL_S = 15
FAILOVER_MISSED = 5
STATUS_POLL_S = 0.005

# 2: the load the lag goal is stated for.  Enough writers that one slow reply does
# not make the shared schedule slip.
LAG_RATE_PER_S = 500
LAG_WRITERS = 16

# 3: 32 writers on one ApiClient; its pool (100 connections) is larger than that, so
# every writer keeps its own keep-alive connection.
THROUGHPUT_WRITERS = 32

# 5: the same load on a pair in each replication mode (the standby Ready throughout)
MODES_WRITERS = 16
MODES_ROUNDS = 5
GOAL_SYNC_RATIO = ">= 0.5"
REPLICATION_MODES = {
    "async": "ipics",
    "synchronous-strict": "synchronous-strict",
    "synchronous-fallback": "synchronous",
}

CATCH_UP_TIMEOUT_S = 120
TOKEN_REPLICATION_TIMEOUT_S = 5


@dataclass
class Measured:
    """What a benchmark returns: the figure, the numbers behind it, and what (if
    anything) went wrong with the run itself (failed writes, a standby that never
    caught up, a load below the one asked).  A run with a problem fails its goal."""

    value: float
    details: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class Spec:
    figure: str
    unit: str
    goal: str
    meets: Callable[[float], bool]
    run: Callable[[bool], Awaitable[Measured]]  # run(quick)


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    goal: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers
@contextlib.asynccontextmanager
async def ready_pair(
    *,
    time_scale: float = 1.0,
    interval_s: int = 15,
    missed_count: int = 5,
    topology: str = "loopback",
    modes: LabModes | None = None,
) -> AsyncIterator[LabPair]:
    """A fresh pair in its own temp dir, up and Ready, in IPICS's modes or ``modes``;
    always stopped afterwards (in the sites topology, as root, its namespaces removed too)."""
    with tempfile.TemporaryDirectory(prefix="ipics-bench-") as tmp:
        sites = await Sites.create() if topology == "sites" else None
        pair = LabPair(Path(tmp), time_scale=time_scale, sites=sites, modes=modes)
        try:
            await pair.up(interval_s=interval_s, missed_count=missed_count)
            yield pair
        finally:
            pair.stop()
            if sites is not None:
                sites.remove()


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with p% of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def unique_name(prefix: str) -> str:
    # Channel names must be unique (case-insensitively) across the whole server.
    return f"{prefix}-{secrets.token_hex(6)}"


def rounded(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


async def wait_caught_up(pair: LabPair, timeout_s: float = CATCH_UP_TIMEOUT_S) -> float | None:
    """Seconds until the active holds no unshipped log entries, or None on timeout."""
    start = time.monotonic()

    async def drained():
        return (await pair.status(pair.primary))["replication"]["pending"] == 0

    try:
        await wait_until(drained, timeout_s, "the standby to catch up", interval_s=0.05)
    except TimeoutError:
        return None
    return time.monotonic() - start


def read_rss_kb(pid: int) -> int:
    """VmRSS of a process, in kB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# ------------------------------------------------------------------ 1. failover detection
#: a fault that takes the active away: done to the pair's active (the primary); returns
#: what undoes it before the pair is stopped, or None (either may be awaitable: the
#: sites topology's kernel partition is an nft command).
Silence = Callable[[LabPair], Any]


def kill_active(pair: LabPair) -> None:
    """``kill -9``: the partner's connections are refused at once."""
    pair.primary.kill()


async def partition_active(pair: LabPair) -> Callable[[], Awaitable[None]]:
    """The sites topology: the kernel drops every packet between the active and its
    partner (nftables in the active's namespace), silently; the processes run on."""
    await pair.network.cut_link("primary", "both")
    return lambda: pair.network.heal_link("primary")


def pause_active(pair: LabPair) -> Callable[[], None]:
    """SIGSTOP: a silent partner; the kernel still completes the handshakes, so
    connections succeed and requests are never answered, as in a partition."""
    pair.primary.send_signal(signal.SIGSTOP)
    return lambda: pair.primary.send_signal(signal.SIGCONT)


async def detection_seconds(pair: LabPair, silence: Silence) -> tuple[float, float | None]:
    """Make the active silent; real seconds until the standby reports it is taking over,
    and the emulated seconds its takeover then took (None if not watched to the end)."""
    undo = None
    async with ApiClient(pair.secondary.url, timeout_s=1) as standby:
        t_fault = time.monotonic()
        try:
            undo = await _maybe_awaited(silence(pair))
            deadline = t_fault + 3 * FAILOVER_TIME_SCALE * FAILOVER_INTERVAL_S * FAILOVER_MISSED
            while time.monotonic() < deadline:
                reply = await standby.get("/api/v1/ha/status")
                # Time of the reply, not of the request: errs on the slow side, by one poll at most.
                if reply.ok and reply["role"] == "transitioning":
                    detected = time.monotonic() - t_fault
                    return detected, await _takeover_emulated_s(standby, time.monotonic())
                await asyncio.sleep(STATUS_POLL_S)
        finally:
            if undo is not None:
                await _maybe_awaited(undo())
    raise TimeoutError("the standby never began the takeover")


async def _maybe_awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _takeover_emulated_s(standby: ApiClient, began: float) -> float | None:
    """Emulated seconds from the standby's "transitioning" to its "active" (the chapter:
    150 to 180 s); None if it is not active within twice the longest."""
    deadline = began + 2 * 180 * FAILOVER_TIME_SCALE + 5
    while time.monotonic() < deadline:
        reply = await standby.get("/api/v1/ha/status")
        if reply.ok and reply["role"] == "active":
            return (time.monotonic() - began) / FAILOVER_TIME_SCALE
        await asyncio.sleep(STATUS_POLL_S)
    return None


async def bench_failover(quick: bool, silence: Silence = kill_active, topology: str = "loopback") -> Measured:
    window_s = FAILOVER_INTERVAL_S * FAILOVER_MISSED
    ratios, takeovers = [], []
    for _ in range(1 if quick else 3):
        # A fresh pair each run: after a takeover the old pair is no longer the set-up measured.
        async with ready_pair(
            time_scale=FAILOVER_TIME_SCALE,
            interval_s=FAILOVER_INTERVAL_S,
            missed_count=FAILOVER_MISSED,
            topology=topology,
        ) as pair:
            real_s, takeover_s = await detection_seconds(pair, silence)
        ratios.append(real_s / FAILOVER_TIME_SCALE / window_s)
        takeovers.append(None if takeover_s is None else round(takeover_s, 1))
    return Measured(
        max(ratios),
        {
            "fault": silence.__name__,
            "topology": topology,
            "max": round(max(ratios), 4),
            "median": round(statistics.median(ratios), 4),
            "runs": [round(r, 4) for r in ratios],
            "time_scale": FAILOVER_TIME_SCALE,
            "interval_s": FAILOVER_INTERVAL_S,
            "missed_count": FAILOVER_MISSED,
            "window_emulated_s": window_s,
            "poll_s": STATUS_POLL_S,
            # the chapter's 150-180 s, measured from "transitioning" to "active"
            "takeover_emulated_s": takeovers,
            "takeover_within_150_180": all(t is not None and 150 <= t <= 180 * 1.02 for t in takeovers),
        },
    )


# ---------------------------------------------------------------------------- load
@dataclass
class Load:
    ok: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    max_late_s: float = 0.0  # how far behind its schedule the latest write started
    ack_ms: list[float] = field(default_factory=list)  # real time from sending to the 201, each write

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0


async def create_channel(client: ApiClient, load: Load) -> bool:
    sent = time.monotonic()
    try:
        reply = await client.post("/api/v1/channels", {"name": unique_name("bench")})
    except Unreachable as exc:
        reply = Reply(0, str(exc))
    if reply.status == 201:
        load.ok += 1
        load.ack_ms.append((time.monotonic() - sent) * 1000)
        return True
    load.failed += 1
    if len(load.errors) < 5:  # a few examples are enough to diagnose
        load.errors.append(f"{reply.status}: {reply.body}")
    return False


async def paced_writes(clients: list[ApiClient], rate: float, duration_s: float) -> Load:
    """Write i is due at t0 + i/rate; no write starts after the window closes.

    Workers share one schedule, so a slow reply delays only that worker, not the rate.
    A server that cannot keep up shows as an achieved rate below the target (and as
    schedule slip), not as a run that stretches on.
    """
    indices = itertools.count()
    load = Load()
    t0 = time.monotonic() + 0.05
    end = t0 + duration_s

    async def worker(client: ApiClient):
        while (due := t0 + next(indices) / rate) < end and time.monotonic() < end:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                load.max_late_s = max(load.max_late_s, -delay)
            await create_channel(client, load)

    await asyncio.gather(*(worker(c) for c in clients))
    load.elapsed_s = duration_s
    return load


async def flat_out_writes(client: ApiClient, writers: int, duration_s: float) -> tuple[Load, list[int]]:
    """As many writes as `writers` concurrent loops manage, and completions per second
    (a falling series means the cost of a write grows with the data)."""
    load = Load()
    per_second = [0] * math.ceil(duration_s)
    start = time.monotonic()

    async def worker():
        while time.monotonic() - start < duration_s:
            if await create_channel(client, load):
                second = int(time.monotonic() - start)
                if second < len(per_second):
                    per_second[second] += 1

    await asyncio.gather(*(worker() for _ in range(writers)))
    load.elapsed_s = time.monotonic() - start
    return load, per_second


def load_problem(load: Load, caught_up_s: float | None, target_rate: float | None = None) -> str | None:
    """Why a load run does not measure what it claims to, or None."""
    if load.failed:
        return f"{load.failed} writes failed, e.g. {load.errors[0]}"
    if caught_up_s is None:
        return f"the standby did not catch up within {CATCH_UP_TIMEOUT_S} s"
    if target_rate and load.rate < 0.95 * target_rate:
        return (
            f"the active kept up only {load.rate:.0f} of the {target_rate:.0f} writes/s asked; "
            "the lag was measured at that rate, with the active saturated"
        )
    return None


# -------------------------------------------------------------------- 2. replication lag
def p99_per_chunk(samples: list[float], size: int = LAG_RATE_PER_S) -> list[float]:
    """p99 of each run of `size` consecutive writes (samples arrive in write order): a
    series that rises while the rate stays level means the lag grows with the data."""
    chunks = [samples[i : i + size] for i in range(0, len(samples), size)]
    return [round(percentile(c, 99), 1) for c in chunks]


async def standby_lag_samples(pair: LabPair, token: str) -> Reply:
    """The standby's lag samples, asked with the session token issued by the active."""
    async with ApiClient(pair.secondary.url, token=token) as standby:
        return await standby.get("/api/v1/ha/replication/lag")


async def token_accepted_on_standby(pair: LabPair, token: str) -> tuple[Reply, float]:
    """Wait for the session record to reach the standby: replication is asynchronous, so
    the login answers before the standby has it.  The last reply and the wait."""
    start = time.monotonic()
    reply = await standby_lag_samples(pair, token)
    while not reply.ok and time.monotonic() - start < TOKEN_REPLICATION_TIMEOUT_S:
        await asyncio.sleep(0.01)
        reply = await standby_lag_samples(pair, token)
    return reply, time.monotonic() - start


async def bench_replication_lag(quick: bool) -> Measured:
    duration_s = 3 if quick else 10
    async with ready_pair() as pair:
        token = await pair.login(pair.primary)
        before, token_wait_s = await token_accepted_on_standby(pair, token)
        if not before.ok:
            # Log in on the standby is refused, so there is no other token to use.
            raise RuntimeError(
                f"the active's session token is refused on the standby after "
                f"{token_wait_s:.1f} s: {before.status} {before.body}"
            )
        # Samples from set-up (the login) are not load.  The standby keeps its last 10000
        # samples; a 10 s run at 500/s adds at most 5000, so slicing at `skip` stays exact.
        skip = len(before["lag_ms"])
        clients = [pair.primary.client(token) for _ in range(LAG_WRITERS)]
        try:
            load = await paced_writes(clients, LAG_RATE_PER_S, duration_s)
        finally:
            await asyncio.gather(*(c.close() for c in clients))
        caught_up_s = await wait_caught_up(pair)
        after = await standby_lag_samples(pair, token)
    samples = after["lag_ms"][skip:] if after.ok else []
    if not samples:
        raise RuntimeError(f"no lag samples on the standby: {after.status} {after.body}")
    p99 = percentile(samples, 99)
    return Measured(
        p99,
        {
            "p50_ms": round(percentile(samples, 50), 2),
            "p99_ms": round(p99, 2),
            "max_ms": round(max(samples), 2),
            f"p99_ms_per_{LAG_RATE_PER_S}_writes": p99_per_chunk(samples),
            "samples": len(samples),
            "target_rate_per_s": LAG_RATE_PER_S,
            "achieved_rate_per_s": round(load.rate, 1),
            "duration_s": duration_s,
            "writers": LAG_WRITERS,
            "writes_ok": load.ok,
            "writes_failed": load.failed,
            "max_schedule_slip_ms": round(load.max_late_s * 1000, 1),
            "errors": load.errors,
            "token_works_on_standby": True,
            "token_replicated_after_s": round(token_wait_s, 3),
            "caught_up_after_s": rounded(caught_up_s),
        },
        load_problem(load, caught_up_s, LAG_RATE_PER_S),
    )


# -------------------------------------------------------------------- 3. sustained writes
async def bench_throughput(quick: bool) -> Measured:
    duration_s = 3 if quick else 10
    async with ready_pair() as pair:
        async with await pair.admin(pair.primary) as client:
            load, per_second = await flat_out_writes(client, THROUGHPUT_WRITERS, duration_s)
        caught_up_s = await wait_caught_up(pair)
    return Measured(
        load.rate,
        {
            "writers": THROUGHPUT_WRITERS,
            "duration_s": duration_s,
            "writes_ok": load.ok,
            "writes_failed": load.failed,
            "errors": load.errors,
            "per_second": per_second,
            "standby_caught_up": caught_up_s is not None,
            "caught_up_after_s": rounded(caught_up_s),
        },
        load_problem(load, caught_up_s),
    )


# ------------------------------------------------------------------------- 4. memory
async def bench_memory(quick: bool) -> Measured:
    async with ready_pair() as pair:
        async with await pair.admin(pair.primary) as client:
            await seed_demo_data(client, secrets.token_urlsafe(9))
        await pair.wait_ready()
        primary_kb = read_rss_kb(pair.primary.pid)
        secondary_kb = read_rss_kb(pair.secondary.pid)
    return Measured(primary_kb / 1024, {"primary_vmrss_kb": primary_kb, "secondary_vmrss_kb": secondary_kb})


# ------------------------------------------------------------- 5. replication modes
async def bench_replication_modes(quick: bool) -> Measured:
    """The same load against the active of a pair in each replication mode; the figure
    is synchronous-strict's rate over async's.  The three pairs are up together and the
    load goes to one at a time, in turns (``MODES_ROUNDS`` of them): a machine shared
    with other work slows every mode alike instead of the one that ran then."""
    rounds = 1 if quick else MODES_ROUNDS
    duration_s = 3 if quick else 10  # per mode, over all rounds
    per_mode: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        pairs = {
            label: await stack.enter_async_context(ready_pair(modes=LabModes.parse(spec)))
            for label, spec in REPLICATION_MODES.items()
        }
        clients = {label: await stack.enter_async_context(await p.admin(p.primary)) for label, p in pairs.items()}
        loads = {label: Load() for label in pairs}
        for _ in range(rounds):
            for label in pairs:
                load, _ = await flat_out_writes(clients[label], MODES_WRITERS, duration_s / rounds)
                loads[label] = _merged(loads[label], load)
        for label, pair in pairs.items():
            per_mode[label] = await _mode_figures(pair, loads[label], problems, label, REPLICATION_MODES[label])
    base = per_mode["async"]["writes_per_s"]
    ratio = per_mode["synchronous-strict"]["writes_per_s"] / base if base else 0.0
    return Measured(
        ratio,
        {
            "writers": MODES_WRITERS,
            "duration_s": duration_s,
            "rounds": rounds,
            "time_scale": 1.0,
            "per_mode": per_mode,
            "synchronous_fallback_over_async": round(per_mode["synchronous-fallback"]["writes_per_s"] / base, 3)
            if base
            else None,
        },
        "; ".join(problems) or None,
    )


def _merged(a: Load, b: Load) -> Load:
    return Load(
        ok=a.ok + b.ok,
        failed=a.failed + b.failed,
        elapsed_s=a.elapsed_s + b.elapsed_s,
        errors=(a.errors + b.errors)[:5],
        ack_ms=a.ack_ms + b.ack_ms,
    )


async def _mode_figures(pair: LabPair, load: Load, problems: list[str], label: str, spec: str) -> dict[str, Any]:
    status = await pair.status(pair.primary)
    caught_up_s = await wait_caught_up(pair)
    synchronous = status.get("synchronous") or {}
    if problem := load_problem(load, caught_up_s):
        problems.append(f"{label}: {problem}")
    elif spec != "ipics" and synchronous.get("state") != "synchronous":
        problems.append(f"{label}: the pair left synchronous replication ({synchronous.get('state')})")
    return {
        "writes_per_s": round(load.rate, 1),
        "ack_ms_p50": round(percentile(load.ack_ms, 50), 2) if load.ack_ms else None,
        "ack_ms_p99": round(percentile(load.ack_ms, 99), 2) if load.ack_ms else None,
        "writes_ok": load.ok,
        "writes_failed": load.failed,
        "errors": load.errors,
        # the server's own count: the part of the answer spent waiting for the standby
        "server_standby_wait_ms_p50": synchronous.get("ack_ms_p50"),
        "server_standby_wait_ms_p99": synchronous.get("ack_ms_p99"),
        "acknowledged_without_standby": synchronous.get("acknowledged_without_standby"),
        "synchronous_state": synchronous.get("state"),
    }


# --------------------------------------------------------------------------- driver
SPECS: dict[str, Spec] = {
    "failover": Spec(
        "failover_detection_ratio", "x (interval x missed)", "max <= 1.05", lambda v: v <= 1.05, bench_failover
    ),
    "failover_hang": Spec(
        "failover_detection_ratio_hang",
        "x (interval x missed)",
        "max <= 1.05",
        lambda v: v <= 1.05,
        lambda quick: bench_failover(quick, pause_active),
    ),
    "failover_partition": Spec(
        "failover_detection_ratio_partition",
        "x (interval x missed)",
        "max <= 1.05",
        lambda v: v <= 1.05,
        lambda quick: bench_failover(quick, partition_active, topology="sites"),
    ),
    "lag": Spec("replication_lag_p99_ms", "ms", "p99 <= 20", lambda v: v <= 20, bench_replication_lag),
    "throughput": Spec("sustained_writes_per_s", "writes/s", ">= 2000", lambda v: v >= 2000, bench_throughput),
    "memory": Spec("primary_rss_mb", "MB", "<= 120", lambda v: v <= 120, bench_memory),
    "modes": Spec(
        "synchronous_write_rate_ratio",
        "x (sync/async writes/s)",
        GOAL_SYNC_RATIO,
        lambda v: v >= 0.5,
        bench_replication_modes,
    ),
}


async def run_one(spec: Spec, quick: bool) -> Figure:
    print(f"running {spec.figure} ...", file=sys.stderr, flush=True)
    try:
        m = await spec.run(quick)
    except Exception as exc:  # noqa: BLE001 (one broken benchmark must not hide the other figures)
        traceback.print_exc()
        return Figure(spec.figure, None, spec.unit, spec.goal, False, {"error": f"{type(exc).__name__}: {exc}"})
    details = m.details if m.problem is None else {**m.details, "error": m.problem}
    return Figure(
        spec.figure, round(m.value, 4), spec.unit, spec.goal, m.problem is None and spec.meets(m.value), details
    )


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def kept_figures(path: Path) -> dict[str, Any]:
    """The figures of an earlier run in ``path``, each with the date and mode it was
    measured in: ``--only`` replaces the figures it runs and keeps the others."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {
        name: {"date": earlier.get("date"), "mode": earlier.get("mode"), **figure}
        for name, figure in earlier.get("figures", {}).items()
    }


def print_table(figures: list[Figure]) -> None:
    print(f"{'figure':30} {'value':>10}  {'unit':22} {'goal':12} result")
    for f in figures:
        value = "-" if f.value is None else f"{f.value:.4g}"
        print(f"{f.name:30} {value:>10}  {f.unit:22} {f.goal:12} {'PASS' if f.passed else 'FAIL'}")
        if "error" in f.details:
            print(f"  error: {f.details['error']}")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s loads and one failover run")
    parser.add_argument("--only", nargs="+", choices=list(SPECS), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    ns = parser.parse_args(argv)

    figures = [await run_one(spec, ns.quick) for key, spec in SPECS.items() if not ns.only or key in ns.only]
    return write_results(ns.out, "quick" if ns.quick else "full", figures, keep_others=bool(ns.only))


def write_results(out: Path, mode: str, figures: list[Figure], *, keep_others: bool = False) -> int:
    """``figures`` written to ``out`` in this file's schema, each with the date, mode and
    machine (``keep_others``: the figures already in ``out`` that were not measured now
    stay), and printed as a table; the exit status: 0 only if every figure passed."""
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results = {
        "date": date,
        "mode": mode,
        "machine": machine(),
        "figures": {
            **(kept_figures(out) if keep_others else {}),
            **{f.name: {**asdict(f), "date": date, "mode": mode} for f in figures},
        },
    }
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(figures)
    print(f"written to {out}")
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
