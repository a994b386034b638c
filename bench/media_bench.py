"""Benchmarks of the push-to-talk media router on loopback: real processes throughout.

    .venv/bin/python bench/media_bench.py [--quick] [--only NAME ...] [--out PATH]

Figures:

- media_ptt_latency_p99_ms: mouth-to-ear latency of one talker's frames through the
  router to one listener.  Three processes: the router, a talker process that stamps
  each 20 ms frame with CLOCK_MONOTONIC as it sends it, and a listener process that
  subtracts that stamp from its own CLOCK_MONOTONIC as the frame reaches the client's
  listener (CLOCK_MONOTONIC is system-wide on Linux).  2,000 frames (500 with --quick);
  p50, p99 and max.  Goal p99 <= 40 ms.
- media_talk_groups_max: how many talk groups one router carries at once on this
  machine.  Each group has one talker streaming 20 ms frames of the tone and two
  listeners; all talkers live in one process, all listeners in another, and the
  router in a third.  The count ramps up (doubling, then bisecting) and a step passes
  when every frame reached every listener (none lost) with p99 <= 40 ms.  The value
  is the largest count that passed.  The load generators share the machine's CPUs
  with the router, so the figure is for the whole set-up on this machine;
  ``details.steps`` has the router's own CPU use at each step.

Every talker and listener connects with a ticket for its one group, as a server issues
them: the workers sign them with the router's key file (its path is their argument).

Written to bench/media_results.json in the schema of bench/results.json.  A benchmark
that crashes is recorded with its error and counts as failed; the others still run.
The exit status is 0 only when every goal is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run_bench, console_bench, as a script

from console_bench import CpuWindow, cpu_seconds, figure, raise_fd_limit
from run_bench import Figure, machine, percentile, print_table

from ipics_lab.media_process import MediaProcess
from ipics_server.media import tone
from ipics_server.media.client import MediaClient
from ipics_server.media.ticket import issue, load_key

HERE = Path(__file__).resolve().parent

LATENCY_GOAL_MS = 40.0
LATENCY_FRAMES, QUICK_LATENCY_FRAMES = 2000, 500
LISTENERS_PER_GROUP = 2
STEP_S, QUICK_STEP_S = 5.0, 2.0
FIRST_STEP = 10
MAX_GROUPS = 1600  # 3 connections per group: under the router's MAX_CLIENTS
GROUPS_GOAL = 100
#: bisect until the passing and failing counts are this close (relative)
BISECT_RESOLUTION = 0.1
CONNECT_CONCURRENCY = 50
#: after the talkers stop, how long the listeners may take to receive the last frames
DRAIN_S = 2.0


def group_id(i: int) -> str:
    return f"{0xBE7C4000000000000000000000000000 + i:032x}"


# ----------------------------------------------------------------- worker processes
async def _connect_all(url: str, key_file: str, members: list[tuple[str, str]]) -> list[MediaClient]:
    """A client per (name, group), each with a ticket for its group."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    key = load_key(Path(key_file))

    async def one(name: str, group: str) -> MediaClient:
        async with gate:
            return await MediaClient.connect(
                url, issue(key, name, [group], issuer="bench"), timeout_s=30, reconnect=False
            )

    return list(await asyncio.gather(*(one(n, g) for n, g in members)))


async def _stdin_line() -> str:
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


async def talkers_worker(url: str, key_file: str, groups: int, frames: int) -> None:
    """One talker per group: join, press, say "ready"; on "go" stream ``frames`` frames
    of the tone each, the talkers spread over the 20 ms period as real talkers would be."""
    clients = await _connect_all(url, key_file, [(f"talker-{i}", group_id(i)) for i in range(groups)])
    try:
        for i, c in enumerate(clients):
            await c.join(group_id(i))
        granted = await asyncio.gather(*(c.press(group_id(i)) for i, c in enumerate(clients)))
        if not all(granted):
            raise RuntimeError(f"{granted.count(False)} talkers were denied the floor")
        print("ready", flush=True)
        await _stdin_line()  # "go"

        async def talk(i: int, c: MediaClient) -> int:
            await asyncio.sleep(0.02 * i / groups)
            return await c.stream(group_id(i), count=frames)

        started = time.monotonic()
        sent = await asyncio.gather(*(talk(i, c) for i, c in enumerate(clients)))
        elapsed = time.monotonic() - started
        for i, c in enumerate(clients):
            c.release(group_id(i))
        dropped = sum(c.stats["audio_dropped_backlog"] + c.stats["audio_dropped_offline"] for c in clients)
        print(json.dumps({"sent": sent, "dropped_at_sender": dropped, "stream_s": round(elapsed, 3)}), flush=True)
        await _stdin_line()  # "bye": the listeners have everything
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def listeners_worker(url: str, key_file: str, groups: int, per_group: int) -> None:
    """``per_group`` listeners per group: record each frame's latency and sequence; on
    "stop" print what was heard."""
    members = [(f"listener-{i}-{j}", group_id(i)) for i in range(groups) for j in range(per_group)]
    clients = await _connect_all(url, key_file, members)
    latencies_ms: list[float] = []
    received = [0] * len(clients)
    out_of_order = not_tone = not_talker = 0
    last_seq: list[int] = [-1] * len(clients)

    def listen(k: int, expected_talker: str):
        def on_audio(group, talker, seq, payload, sent_ns):
            nonlocal out_of_order, not_tone, not_talker
            latencies_ms.append((time.monotonic_ns() - sent_ns) / 1e6)
            received[k] += 1
            if seq <= last_seq[k]:
                out_of_order += 1
            last_seq[k] = seq
            if talker != expected_talker:
                not_talker += 1
            if seq % 25 == 0 and payload != tone.tone_frame(seq):  # a sample: checking every frame costs CPU
                not_tone += 1

        return on_audio

    try:
        for k, c in enumerate(clients):
            i = k // per_group
            c.on_audio(listen(k, f"talker-{i}"))
            await c.join(group_id(i))
        print("ready", flush=True)
        await _stdin_line()  # "stop"
        ordered = sorted(latencies_ms)
        summary = {
            "frames": len(ordered),
            "received_per_listener": received,
            "out_of_order": out_of_order,
            "not_the_tone": not_tone,
            "wrong_talker": not_talker,
            "disconnected": sum(1 for c in clients if not c.connected),
        }
        if ordered:
            summary.update(
                {
                    "p50_ms": percentile(ordered, 50),
                    "p99_ms": percentile(ordered, 99),
                    "max_ms": ordered[-1],
                    "min_ms": ordered[0],
                }
            )
        print(json.dumps(summary), flush=True)
    finally:
        await asyncio.gather(*(c.close() for c in clients))


class Worker:
    """A worker process of this script, driven by lines on stdin and stdout."""

    def __init__(self, *args: str):
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        line = await self.read(timeout_s)
        if line != "ready":
            raise RuntimeError(f"worker {self.args[0]} did not start: {line!r} {await self._stderr()}")

    async def read(self, timeout_s: float) -> str:
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout_s)
        if not raw:
            raise RuntimeError(f"worker {self.args[0]} exited: {await self._stderr()}")
        return raw.decode().strip()

    async def tell(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def _stderr(self) -> str:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        return (await self.proc.stderr.read()).decode()[-2000:] if self.proc.returncode is not None else ""

    async def finish(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 30)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def run_groups(router: MediaProcess, groups: int, frames: int, per_group: int) -> dict[str, Any]:
    """One load: ``groups`` talkers streaming ``frames`` frames to ``per_group`` listeners each."""
    connect_s = max(30.0, groups * 0.05)
    key_file = str(router.ticket_key_file)
    listeners = Worker("_listeners", router.url, key_file, str(groups), str(per_group))
    talkers = Worker("_talkers", router.url, key_file, str(groups), str(frames))
    try:
        await listeners.start(connect_s)
        await talkers.start(connect_s)
        cpu = CpuWindow(router.pid, talkers.proc.pid, listeners.proc.pid)
        router_cpu0, t0 = cpu_seconds(router.pid), time.monotonic()
        await talkers.tell("go")
        sent_report = json.loads(await talkers.read(frames * 0.02 * 3 + 30))
        stream_s = time.monotonic() - t0
        router_cpu = cpu_seconds(router.pid) - router_cpu0
        cpu_use = cpu.stop()
        await asyncio.sleep(DRAIN_S)  # frames still on their way
        await listeners.tell("stop")
        heard = json.loads(await listeners.read(60))
        await talkers.tell("bye")
    finally:
        for w in (talkers, listeners):
            if w.proc is not None and w.proc.returncode is None:
                with contextlib.suppress(ConnectionError):
                    w.proc.stdin.close()
        await asyncio.gather(talkers.finish(), listeners.finish())
    sent = sent_report["sent"]
    expected = [sent[k // per_group] for k in range(groups * per_group)]
    lost = sum(max(0, e - r) for e, r in zip(expected, heard["received_per_listener"], strict=True))
    stats = await router.stats() or {}
    return {
        "groups": groups,
        "listeners_per_group": per_group,
        "frames_per_talker": frames,
        "frames_sent": sum(sent),
        "frames_expected": sum(expected),
        "frames_received": heard["frames"],
        "lost": lost,
        "dropped_at_sender": sent_report["dropped_at_sender"],
        "out_of_order": heard["out_of_order"],
        "not_the_tone": heard["not_the_tone"],
        "wrong_talker": heard["wrong_talker"],
        "latency_ms": {k: round(heard[k], 3) for k in ("min_ms", "p50_ms", "p99_ms", "max_ms") if k in heard},
        "stream_s": round(stream_s, 2),
        "router_cpu_fraction": round(router_cpu / stream_s, 3) if stream_s else None,
        "router_counters": stats.get("counters", {}),
        "cpu": cpu_use,
    }


def step_ok(step: dict) -> bool:
    return (
        step["lost"] == 0
        and step["dropped_at_sender"] == 0
        and step["out_of_order"] == 0
        and step["not_the_tone"] == 0
        and step["wrong_talker"] == 0
        and step["frames_expected"] > 0
        and step["latency_ms"].get("p99_ms", 1e9) <= LATENCY_GOAL_MS
    )


@contextlib.asynccontextmanager
async def media_router():
    with tempfile.TemporaryDirectory(prefix="ipics-media-bench-") as tmp:
        router = MediaProcess(Path(tmp))
        await router.start()
        try:
            yield router
        finally:
            router.stop()


# ------------------------------------------------------------------------ figures
async def bench_latency(quick: bool) -> dict:
    frames = QUICK_LATENCY_FRAMES if quick else LATENCY_FRAMES
    async with media_router() as router:
        step = await run_groups(router, 1, frames, 1)
    p99 = step["latency_ms"].get("p99_ms")
    problem = None
    if step["lost"] or step["dropped_at_sender"]:
        problem = f"{step['lost']} frames lost, {step['dropped_at_sender']} dropped at the sender"
    elif step["not_the_tone"] or step["wrong_talker"] or step["out_of_order"]:
        problem = "frames arrived altered, out of order or with the wrong talker"
    details = {
        **step,
        "method": "talker process -> router process -> listener process, loopback; "
        "sent_ns stamped as the frame is queued, compared on arrival",
    }
    if problem:
        details["error"] = problem
    return figure(
        p99,
        "ms (p99, mouth to ear)",
        f"<= {LATENCY_GOAL_MS:g}",
        problem is None and p99 is not None and p99 <= LATENCY_GOAL_MS,
        details,
    )


async def bench_groups(quick: bool) -> dict:
    frames = round((QUICK_STEP_S if quick else STEP_S) / 0.02)
    raise_fd_limit(3 * MAX_GROUPS * 2 + 500)
    steps: list[dict] = []
    best, worst = 0, None  # largest passing count, smallest failing count

    async with media_router() as router:

        async def attempt(n: int) -> bool:
            print(f"  {n} groups ...", file=sys.stderr, flush=True)
            try:
                step = await run_groups(router, n, frames, LISTENERS_PER_GROUP)
            except Exception as exc:  # noqa: BLE001 (a step that breaks down counts as failed)
                step = {"groups": n, "error": f"{type(exc).__name__}: {exc}"}
            step["passed"] = "error" not in step and step_ok(step)
            steps.append(step)
            print(
                f"    p99 {step.get('latency_ms', {}).get('p99_ms')} ms, lost {step.get('lost')}, "
                f"router CPU {step.get('router_cpu_fraction')}: {'pass' if step['passed'] else 'FAIL'}",
                file=sys.stderr,
                flush=True,
            )
            return step["passed"]

        n = FIRST_STEP
        while n <= MAX_GROUPS:
            if not await attempt(n):
                worst = n
                break
            best = n
            n *= 2
        if worst is not None and best:
            while worst - best > max(1, round(best * BISECT_RESOLUTION)):
                mid = (best + worst) // 2
                if await attempt(mid):
                    best = mid
                else:
                    worst = mid
    details: dict[str, Any] = {
        "listeners_per_group": LISTENERS_PER_GROUP,
        "step_s": frames * 0.02,
        "frame_ms": 20,
        "criteria": f"no frame lost, p99 <= {LATENCY_GOAL_MS:g} ms",
        "first_failing": worst,
        "capped_at": MAX_GROUPS if worst is None else None,
        "steps": [{k: v for k, v in s.items() if k != "router_counters"} for s in steps],
    }
    best_step = next((s for s in steps if s["groups"] == best and s["passed"]), None)
    if best_step and best_step.get("router_cpu_fraction"):
        # The router's own cost, apart from the load generators it shares the CPUs with.
        details["router_cpu_per_100_groups"] = round(best_step["router_cpu_fraction"] / best * 100, 3)
        details["groups_per_router_core_estimate"] = round(best / best_step["router_cpu_fraction"])
    details["other_processes_cpu_s_per_s"] = [
        round(s["cpu"]["other_processes_cpu_s"] / s["cpu"]["window_s"], 2) for s in steps if "cpu" in s
    ]
    if not best:
        details["error"] = f"even {FIRST_STEP} groups failed"
    return figure(
        best or None, "talk groups (1 talker + 2 listeners each)", f">= {GROUPS_GOAL}", best >= GROUPS_GOAL, details
    )


FIGURES: dict[str, Callable[[bool], Awaitable[dict]]] = {
    "media_ptt_latency_p99_ms": bench_latency,
    "media_talk_groups_max": bench_groups,
}


async def run_figure(name: str, quick: bool) -> Figure:
    print(f"running {name} ...", file=sys.stderr, flush=True)
    try:
        f = await FIGURES[name](quick)
    except Exception as exc:  # noqa: BLE001 (one broken benchmark must not hide the other figures)
        traceback.print_exc()
        return Figure(name, None, "", "", False, {"error": f"{type(exc).__name__}: {exc}"})
    return Figure(name, f["value"], f["unit"], f["goal"], f["passed"], f["details"])


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LATENCY_FRAMES} latency frames, {QUICK_STEP_S:g} s per load step"
    )
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), help="run only these figures")
    parser.add_argument("--out", type=Path, default=HERE / "media_results.json")
    ns = parser.parse_args(argv)

    figures = [await run_figure(name, ns.quick) for name in FIGURES if not ns.only or name in ns.only]
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if ns.quick else "full",
        "machine": machine(),
        "figures": {f.name: asdict(f) for f in figures},
    }
    ns.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(figures)
    for f in figures:
        lat = f.details.get("latency_ms")
        if lat:
            print(
                f"  {f.name}: p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms, max {lat.get('max_ms')} ms "
                f"over {f.details.get('frames_received')} frames"
            )
        if "steps" in f.details:
            print(
                f"  {f.name}: first failing count {f.details.get('first_failing')}; the router used "
                f"{f.details.get('router_cpu_per_100_groups')} of a CPU per 100 groups"
            )
        if (busy := max(f.details.get("other_processes_cpu_s_per_s") or [0])) > 0.1:
            print(
                f"  note: other processes used up to {busy} CPUs meanwhile; the figure is worse than on a quiet machine"
            )
    print(f"written to {ns.out}")
    return 0 if all(f.passed for f in figures) else 1


def worker(argv: list[str]) -> None:
    kind, url, key_file, groups, n = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    raise_fd_limit(groups * LISTENERS_PER_GROUP + 200)
    if kind == "_talkers":
        asyncio.run(talkers_worker(url, key_file, groups, n))
    else:
        asyncio.run(listeners_worker(url, key_file, groups, n))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_talkers", "_listeners"):
        worker(sys.argv[1:])
    else:
        sys.exit(asyncio.run(main()))
