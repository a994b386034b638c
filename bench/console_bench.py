"""Benchmarks of the IDC console's headless client core (no Qt) against a real pair.

    .venv/bin/python bench/console_bench.py [--quick] [--only NAME ...] [--out PATH]

Figures (bench/README.md says what each means and how it is measured):

- console_reconnect_all_s: 1,000 ConsoleSessions logged in on the primary; kill -9 the
  primary; real seconds from the secondary's role becoming "active" until the LAST
  session is ONLINE again on it.

Every figure goes to bench/console_results.json, in the schema of bench/results.json.
A benchmark that crashes is recorded with its error and counts as failed; the others
still run.  The exit status is 0 only when every goal is met.

To add a figure: write ``async def bench_x(quick) -> dict`` returning
``figure(value, unit, goal, passed, details)`` and add it to ``FIGURES``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
import traceback
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run_bench, when run as a script

from run_bench import Figure, machine, percentile, print_table, ready_pair, rounded

from ipics_clients import session as session_mod
from ipics_clients.known_servers import KnownServers
from ipics_clients.session import ConsoleSession, State
from ipics_lab.seed import DEMO_USERS, seed_demo_data
from ipics_lab.supervisor import LabPair, wait_until
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.clock import Clock

HERE = Path(__file__).resolve().parent

# console_reconnect_all_s ------------------------------------------------------------
#: 50x faster than real time: the 150-180 s takeover passes in 3-3.6 real seconds
CONSOLE_TIME_SCALE = 0.02
#: the chapter's defaults
CONSOLE_INTERVAL_S = 15
CONSOLE_MISSED = 5
SESSIONS = 1000
QUICK_SESSIONS = 200
#: logins run scrypt on the server (tens of ms each): set-up, not measured
LOGIN_CONCURRENCY = 8
RECONNECT_GOAL_S = 2.0
#: after the secondary is active, how long to wait for stragglers before giving up
STRAGGLER_TIMEOUT_S = 30.0
USER_PASSWORD = "dispatch-bench-1"  # the demo users' password in this throwaway pair

# The secondary's role, polled from a separate process so that the 1,000 consoles
# busy in this process cannot delay the timestamp.  CLOCK_MONOTONIC is system-wide.
_ROLE_POLLER = textwrap.dedent("""
    import http.client, json, sys, time
    host, port, interval, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    print("ready", time.monotonic(), flush=True)
    deadline, seen, conn = time.monotonic() + timeout, set(), None
    while time.monotonic() < deadline:
        try:
            conn = conn or http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/api/v1/ha/status")
            role = json.loads(conn.getresponse().read())["role"]
        except (OSError, ValueError, KeyError, http.client.HTTPException):
            conn = None
            time.sleep(interval)
            continue
        now = time.monotonic()  # the time of the reply: late by one request at most
        if role not in seen:
            seen.add(role)
            print(role, now, flush=True)
        if role == "active":
            break
        time.sleep(interval)
""")
ROLE_POLL_S = 0.005


def figure(value: float | None, unit: str, goal: str, passed: bool, details: dict[str, Any]) -> dict:
    """One figure in the schema of bench/results.json (without its name: the FIGURES key)."""
    return {
        "value": None if value is None else round(value, 4),
        "unit": unit,
        "goal": goal,
        "passed": passed,
        "details": details,
    }


def raise_fd_limit(needed: int) -> dict:
    """1,000 consoles hold 1,000+ sockets here and on each server (children inherit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(hard, max(needed, soft)) if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return {"soft": soft, "hard": hard}


class WebSocketTrace:
    """Instrumentation only: when each ApiClient's event WebSocket opened.  Wraps
    ``ApiClient.websocket`` for the benchmark's duration; behaviour unchanged."""

    def __init__(self) -> None:
        self.opened: weakref.WeakKeyDictionary[ApiClient, float] = weakref.WeakKeyDictionary()
        self._original = None

    def __enter__(self) -> Self:
        self._original = original = ApiClient.websocket
        opened = self.opened

        async def websocket(client, path, **kw):
            ws = await original(client, path, **kw)
            opened[client] = time.monotonic()
            return ws

        ApiClient.websocket = websocket
        return self

    def __exit__(self, *exc) -> None:
        ApiClient.websocket = self._original

    def open_at(self, s: ConsoleSession) -> float | None:
        return self.opened.get(s._client) if s._client is not None else None


class ReconnectTracker:
    """``on_change`` of every console: when each went offline and came back online on
    the secondary, timed with the monotonic clock."""

    def __init__(self, secondary_url: str):
        self.secondary_url = secondary_url
        self.armed = False  # set just before the kill
        self.offline_at: dict[int, float] = {}
        self.online_at: dict[int, float] = {}
        self.reconnected_notices = 0

    def on_change(self, s: ConsoleSession, notice) -> None:
        if not self.armed:
            return
        key = id(s)
        if notice is not None and notice.kind == "reconnected":
            self.reconnected_notices += 1
        if s.state == State.OFFLINE and key not in self.offline_at:
            self.offline_at[key] = time.monotonic()
        elif s.state == State.ONLINE and s.server == self.secondary_url and key not in self.online_at:
            self.online_at[key] = time.monotonic()


class RolePoller:
    """The secondary's role, polled by a separate process; ``on_active`` runs as soon as
    its report of "active" is read here."""

    def __init__(self, on_active: Callable[[], None]):
        self.on_active = on_active
        self.seen: dict[str, float] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self, pair: LabPair, timeout_s: float) -> None:
        s = pair.secondary
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _ROLE_POLLER,
            s.host,
            str(s.port),
            str(ROLE_POLL_S),
            str(timeout_s),
            stdout=subprocess.PIPE,
        )
        await self._proc.stdout.readline()  # "ready": polling from now on
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for line in self._proc.stdout:
            role, t = line.decode().split()
            self.seen[role] = float(t)
            if role == "active":
                self.on_active()

    async def finish(self) -> dict[str, float]:
        """What it saw; it stops by itself once the role is "active"."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._proc.wait(), 2)
        self.stop()
        await self._proc.wait()
        await self._reader
        return self.seen

    def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()


def active_in_server_log(pair: LabPair) -> float | None:
    """The secondary's own record of the moment (its log line, ms resolution), on the
    monotonic clock; None if not found."""
    path = pair.secondary.data_dir / "server.log"
    if not path.exists():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if "role transitioning -> active" in line:
            stamp = " ".join(line.split()[:2])  # "YYYY-mm-dd HH:MM:SS,mmm"
            wall = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            return wall - (time.time() - time.monotonic())
    return None


async def login_all(
    sessions: list[ConsoleSession], url: str, users: list[str], password: str, concurrency: int
) -> list[str]:
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one(i: int, s: ConsoleSession):
        async with gate:
            try:
                await s.login(url, users[i % len(users)], password)
            except Exception as exc:  # noqa: BLE001  (counted, and the figure fails)
                errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one(i, s) for i, s in enumerate(sessions)))
    return errors


async def close_all(sessions: list[ConsoleSession]) -> None:
    gate = asyncio.Semaphore(50)

    async def one(s: ConsoleSession):
        async with gate:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.close(), 10)

    await asyncio.gather(*(one(s) for s in sessions))


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process, all its threads, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all CPUs)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU used during a window by the benchmark and the server it talks to, and by
    everything else on the machine: other work running at the same time makes the
    figure worse than the code is, and ``other_processes_cpu_s`` shows it."""

    def __init__(self, *pids: int | None):
        self.pids = pids
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, list[float]]:
        return time.monotonic(), machine_busy_seconds(), [cpu_seconds(p) for p in self.pids]

    def stop(self) -> dict[str, float]:
        t1, busy1, ours1 = self._sample()
        t0, busy0, ours0 = self.start
        ours = [b - a for a, b in zip(ours0, ours1, strict=True)]
        return {
            "window_s": round(t1 - t0, 2),
            "ours_cpu_s": [round(x, 2) for x in ours],
            "other_processes_cpu_s": round(max(0.0, busy1 - busy0 - sum(ours)), 2),
            "loadavg_1min": round(os.getloadavg()[0], 2),
        }


def spread(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"min": None, "p50": None, "p99": None, "max": None}
    return {
        "min": round(min(samples), 3),
        "p50": round(percentile(samples, 50), 3),
        "p99": round(percentile(samples, 99), 3),
        "max": round(max(samples), 3),
    }


# ------------------------------------------------------------- console_reconnect_all_s
async def bench_reconnect_all(quick: bool) -> dict:
    n = QUICK_SESSIONS if quick else SESSIONS
    unit, goal = "s (real, secondary active -> last console online)", f"<= {RECONNECT_GOAL_S:g}"
    details: dict[str, Any] = {
        "sessions": n,
        "time_scale": CONSOLE_TIME_SCALE,
        "interval_s": CONSOLE_INTERVAL_S,
        "missed_count": CONSOLE_MISSED,
        "reconnect_poll_real_s": session_mod.RECONNECT_EVERY_S * CONSOLE_TIME_SCALE,
        "login_concurrency": LOGIN_CONCURRENCY,
        "fd_limit": raise_fd_limit(3 * n + 200),
    }
    async with ready_pair(
        time_scale=CONSOLE_TIME_SCALE, interval_s=CONSOLE_INTERVAL_S, missed_count=CONSOLE_MISSED
    ) as pair:
        async with await pair.admin(pair.primary) as admin:
            await seed_demo_data(admin, USER_PASSWORD)  # the chapter's Dan, Adam, Ursula, Amy, Fred
        users = [u for u, _, _ in DEMO_USERS]
        details["users"] = users
        await pair.wait_ready()

        tracker = ReconnectTracker(pair.secondary.url)
        clock = Clock(CONSOLE_TIME_SCALE)
        sessions = [ConsoleSession(KnownServers(), clock=clock, on_change=tracker.on_change) for _ in range(n)]
        with WebSocketTrace() as wst:
            try:
                return await _measure_reconnect(pair, sessions, users, tracker, wst, details, unit, goal)
            finally:
                print("  closing the consoles ...", file=sys.stderr, flush=True)
                await close_all(sessions)


async def _measure_reconnect(
    pair: LabPair,
    sessions: list[ConsoleSession],
    users: list[str],
    tracker: ReconnectTracker,
    wst: WebSocketTrace,
    details: dict,
    unit: str,
    goal: str,
) -> dict:
    n = len(sessions)
    print(f"  logging in {n} consoles on the primary ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    errors = await login_all(sessions, pair.primary.url, users, USER_PASSWORD, LOGIN_CONCURRENCY)
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} logins failed, e.g. {errors[0]}")

    async def all_listening():
        return all(
            s.state == State.ONLINE and s.server == pair.primary.url and wst.open_at(s) is not None for s in sessions
        )

    await wait_until(all_listening, 60, "every console online with its event WebSocket open", interval_s=0.1)
    details["login_setup_s"] = round(time.monotonic() - t0, 1)
    await asyncio.sleep(1.0)  # every server-side subscriber in place; the keep-alive pings settle

    window_s = CONSOLE_INTERVAL_S * CONSOLE_MISSED * CONSOLE_TIME_SCALE
    takeover_max_s = (window_s + 180 * CONSOLE_TIME_SCALE) * 3 + 10
    cpu: list[CpuWindow] = []
    poller = RolePoller(lambda: cpu.append(CpuWindow(os.getpid(), pair.secondary.pid)))
    await poller.start(pair, takeover_max_s + STRAGGLER_TIMEOUT_S)
    try:
        return await _after_the_kill(pair, sessions, tracker, wst, poller, cpu, details, unit, goal, takeover_max_s)
    finally:
        poller.stop()


async def _after_the_kill(
    pair: LabPair,
    sessions: list[ConsoleSession],
    tracker: ReconnectTracker,
    wst: WebSocketTrace,
    poller: RolePoller,
    cpu: list[CpuWindow],
    details: dict,
    unit: str,
    goal: str,
    takeover_max_s: float,
) -> dict:
    n = len(sessions)
    tokens_before = {id(s): s.token for s in sessions}
    print("  kill -9 the primary ...", file=sys.stderr, flush=True)
    tracker.armed = True
    t_kill = time.monotonic()
    pair.primary.kill()

    # Every console back on the secondary, or the stragglers' time is up.
    deadline = t_kill + takeover_max_s + STRAGGLER_TIMEOUT_S
    while len(tracker.online_at) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    t_done = time.monotonic()
    cpu_use = cpu[0].stop() if cpu else None

    async def websockets_reopened():  # for details: the event socket follows ONLINE
        return all((t := wst.open_at(s)) is not None and t > t_kill for s in sessions if id(s) in tracker.online_at)

    with contextlib.suppress(TimeoutError):
        await wait_until(websockets_reopened, 10, "the event WebSockets to reopen", interval_s=0.05)
    roles = await poller.finish()
    t_log = active_in_server_log(pair)
    if "active" not in roles and t_log is None:
        raise RuntimeError(f"the secondary never became active (roles seen: {sorted(roles)})")
    # The earliest evidence of "active": the server's own log line (ms resolution) or the
    # poller's reply, whichever is first; a later one would flatter the figure.
    candidates = [t for t in (roles.get("active"), t_log) if t is not None]
    t_active = min(candidates)

    after_active = [tracker.online_at[id(s)] - t_active for s in sessions if id(s) in tracker.online_at]
    offline_after_kill = [tracker.offline_at[id(s)] - t_kill for s in sessions if id(s) in tracker.offline_at]
    ws_after_active = [
        t - t_active
        for s in sessions
        if id(s) in tracker.online_at and (t := wst.open_at(s)) is not None and t > t_kill
    ]
    reconnected = len(after_active)
    reused = sum(1 for s in sessions if id(s) in tracker.online_at and s.token == tokens_before[id(s)])
    value = max(after_active) if reconnected else None
    details.update(
        {
            "went_offline": len(tracker.offline_at),
            "reconnected": reconnected,
            "not_reconnected": n - reconnected,
            "reconnected_notices": tracker.reconnected_notices,
            "token_reused": reused,
            "fresh_login": reconnected - reused,
            "last_online_after_active_s": rounded(value, 3),
            "online_after_active_s": spread(after_active),
            "online_before_active": sum(1 for x in after_active if x < 0),
            "websocket_reopened": len(ws_after_active),
            "websocket_open_after_active_s": spread(ws_after_active),
            "offline_after_kill_s": spread(offline_after_kill),
            "kill_to_transitioning_s": rounded(roles["transitioning"] - t_kill, 3)
            if "transitioning" in roles
            else None,
            "kill_to_active_s": round(t_active - t_kill, 3),
            "active_by": "server log" if t_active == t_log else "status poll",
            "active_poll_minus_log_ms": round((roles["active"] - t_log) * 1000, 1)
            if "active" in roles and t_log is not None
            else None,
            "waited_s": round(t_done - t_kill, 1),
            # From "active" (as the poller's report is read) to the last console online:
            # [this process, the secondary]; other_processes_cpu_s is anything else running.
            "cpu_while_reconnecting": cpu_use,
        }
    )
    problem = None
    if reconnected < n:
        problem = f"{n - reconnected} of {n} consoles did not reconnect within {STRAGGLER_TIMEOUT_S:g} s"
    elif len(tracker.offline_at) < n:
        problem = f"only {len(tracker.offline_at)} of {n} consoles went offline"
    if problem:
        details["error"] = problem
    passed = problem is None and value is not None and value <= RECONNECT_GOAL_S
    return figure(value, unit, goal, passed, details)


# --------------------------------------------------------------------------- driver
async def _gui_figure(which: str) -> dict:
    """A GUI figure from ``bench/gui_bench.py``, in its own process: Qt runs its own loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "gui_bench.py"),
        which,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"gui_bench.py {which} failed: {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def bench_gui_stall(quick: bool) -> dict:
    return await _gui_figure("stall")


async def bench_console_startup(quick: bool) -> dict:
    return await _gui_figure("startup")


FIGURES: dict[str, Callable[[bool], Awaitable[dict]]] = {
    "console_reconnect_all_s": bench_reconnect_all,
    "gui_loop_stall_ms": bench_gui_stall,
    "console_start_to_login_s": bench_console_startup,
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
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} consoles instead of {SESSIONS}")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), help="run only these figures")
    parser.add_argument("--out", type=Path, default=HERE / "console_results.json")
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
        d = f.details
        if "online_after_active_s" in d:
            print(
                f"  {f.name}: {d.get('reconnected')}/{d.get('sessions')} reconnected, "
                f"p50 {d['online_after_active_s']['p50']} s, p99 {d['online_after_active_s']['p99']} s, "
                f"token reused {d.get('token_reused')}, fresh login {d.get('fresh_login')}"
            )
            if (busy := (d.get("cpu_while_reconnecting") or {}).get("other_processes_cpu_s", 0)) > 0.1:
                print(
                    f"  note: other processes used {busy} CPU s while the consoles reconnected; "
                    "the figure is worse than on a quiet machine"
                )
    print(f"written to {ns.out}")
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
