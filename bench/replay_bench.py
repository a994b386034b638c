"""The replay window on a two-hour recording: how fast it opens, whether scrubbing stalls.

    python bench/replay_bench.py                 # writes bench/replay_results.json
    python bench/replay_bench.py --out /tmp/r.json

A synthetic recording of a two-hour exercise at real time (time scale 1), as dense as a
real one: each server's heartbeat every 5 s (the monitor's "N heartbeat sent" events),
the trainer's monitor writing a server's view whenever it changes (the transaction log
creeping, a missed heartbeat, a role), a failover every 20 minutes (the fault, five
missed heartbeats, the role changes, the administrator's actions in the audit trail
and on the timeline), narration every two minutes, dispatchers' client events.

Figures (in a fresh process, on a qasync loop as ``ipics-lab replay`` runs):

- ``replay_open_s`` (goal <= 1 s): from asking ``open_recording`` for the file to the
  window shown with its timeline painted (read and indexed in a worker thread, the
  window built, the first paint done).
- ``replay_scrub_stall_ms`` (goal <= 50 ms): 200 slider moves across the whole run, one
  every 10 ms as a fast drag makes them, jumping back and forth; a 5 ms Qt timer
  measures the event loop's longest gap (every move's drawing and the repaints
  included); ``details`` has each move's own processing time too.
- ``replay_command_open_s`` (informative, goal <= 1 s): ``ipics-lab replay FILE`` from
  spawning the interpreter to the window shown (imports and Qt's start included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# gui_bench sets Qt's binding and, without a display, the offscreen platform
from gui_bench import HERE, StallMeter, until_shown
from run_bench import machine

OPEN_GOAL_S = 1.0
STALL_GOAL_MS = 50.0
DURATION_S = 2 * 3600.0
HEARTBEAT_S = 5.0
MOVES = 200
MOVE_EVERY_MS = 10
COMMAND_RUNS = 3


def synthetic_recording(path: Path, seed: int = 19) -> dict:
    """Write the two-hour recording; what it holds."""
    from ipics_lab.recording import Header, RecordingWriter
    from ipics_lab.trainer.timeline import Event

    rng = random.Random(seed)
    writer = RecordingWriter(path, Header("exercise", "two-hour-shift", time.time(), 1.0, details={"synthetic": True}))
    roles = {"primary": "active", "secondary": "standby"}
    views = {
        name: {
            "reachable": True,
            "role": role,
            "ha": "configured",
            "standby_server_status": "Ready",
            "missed_now": 0,
            "missed_count": 5,
            "txlog_percent": 0.0,
            "txlog_state": "normal",
            "split_brain": False,
            "services": {"tomcat": "running", "informix": "running", "ipics": "running"},
            "last_log": "heartbeat answered",
        }
        for name, role in roles.items()
    }

    def event(t: float, kind: str, text: str, server: str | None = None, ok: bool | None = None) -> None:
        writer.event(Event(at=round(t, 3), emulated=round(t, 3), kind=kind, text=text, server=server, ok=ok))

    def view(t: float, server: str, **change) -> None:
        views[server] = {**views[server], **change}
        writer.status(server, views[server], round(t, 3), round(t, 3))

    for name in views:
        view(0.0, name)
    t, down_until, failovers = 0.0, -1.0, 0
    while t < DURATION_S:
        t += 0.2  # the monitor's poll
        beat = int(t * 5) % int(HEARTBEAT_S * 5) == 0
        if beat:
            for name in views:
                if name == "primary" and t < down_until:
                    event(t, "missed", "secondary: heartbeat missed", "secondary")
                    view(t, "secondary", missed_now=views["secondary"]["missed_now"] + 1)
                else:
                    event(t, "heartbeat", f"{name}: 1 heartbeat sent", name)
        if int(t * 5) % (120 * 5) == 0:
            event(t, "narration", f"minute {int(t // 60)}: the trainer asks the room what the standby does now")
        if rng.random() < 0.004:
            user = rng.choice(("dan", "adam", "ursula", "amy", "fred"))
            event(t, "client", f"{user}: online on the {next(n for n, r in roles.items() if r == 'active')}")
        if int(t * 5) % (30 * 5) == 0:
            active = next(n for n, r in roles.items() if r == "active")
            view(t, active, txlog_percent=round(min(60.0, views[active]["txlog_percent"] + 0.7), 1))
        if int(t * 5) % (1200 * 5) == 600 * 5:  # a failover every 20 minutes, 10 minutes in
            failovers += 1
            active = next(n for n, r in roles.items() if r == "active")
            other = "secondary" if active == "primary" else "primary"
            event(t, "fault", f"{active} powered off (kill -9)", active)
            view(t, active, reachable=False)
            down_until = t + 25
            event(t + 25, "role", f"{other}: standby (configured) -> transitioning (configured)", other)
            view(t + 25, other, role="transitioning", missed_now=0)
            event(t + 40, "role", f"{other}: transitioning (configured) -> active (configured)", other)
            view(t + 40, other, role="active")
            roles[other], roles[active] = "active", "standby"
            event(t + 300, "fault", f"{active} powered on", active)
            view(t + 300, active, reachable=True, role="standby", standby_server_status="Ready")
            for at, what in ((t + 320, "go-standby"), (t + 330, "rsync")):
                entry = {"at": 1.7e9 + at, "action": what, "via": "console", "user": "ipicsadmin", "ok": True}
                writer.action(active, {**entry, "result": "done", "command": None}, at, at)
                event(at, "action", f"{active}, Administration Console: {what} by ipicsadmin: done", active, True)
    writer.result({"outcome": "synthetic"}, DURATION_S, DURATION_S)
    writer.close_now()
    lines = path.read_text().splitlines()
    return {"records": len(lines) - 1, "bytes": path.stat().st_size, "failovers": failovers}


async def measure(path: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from ipics_desktop.trainer.replay_window import SLIDER_PER_S, ReplayWindow, open_recording

    meter = StallMeter()
    began = time.perf_counter()
    window = await open_recording(path)
    assert isinstance(window, ReplayWindow), window
    while window.plot._image is None:  # the first paint (the timeline drawn) is done
        await asyncio.sleep(0.001)
        if time.perf_counter() - began > 30:
            raise TimeoutError("the replay window did not paint within 30 s")
    opened = time.perf_counter() - began

    rng = random.Random(7)
    low, high = window.slider.minimum(), window.slider.maximum()
    # a drag across the range, then jumps back and forth: every move lands somewhere new
    targets = [low + (high - low) * i // (MOVES // 2) for i in range(MOVES // 2)]
    targets += [rng.randint(low, high) for _ in range(MOVES - len(targets))]
    moves_ms: list[float] = []
    done = asyncio.Event()
    await asyncio.sleep(0.2)
    meter.start()

    from PySide6.QtCore import QTimer

    def move() -> None:
        if not targets:
            timer.stop()
            done.set()
            return
        t0 = time.perf_counter()
        window.slider.setValue(targets.pop(0))
        moves_ms.append((time.perf_counter() - t0) * 1000)

    timer = QTimer()
    timer.setInterval(MOVE_EVERY_MS)
    timer.timeout.connect(move)
    timer.start()
    await done.wait()
    await asyncio.sleep(0.1)  # the last repaint
    stall = meter.stop()
    events = len(window.replay.events)
    window.close()
    QApplication.processEvents()
    moves_ms.sort()
    return {
        "open_s": opened,
        "stall": stall,
        "moves": len(moves_ms),
        "move_max_ms": round(moves_ms[-1], 2),
        "move_median_ms": round(moves_ms[len(moves_ms) // 2], 2),
        "events": events,
        "slider_range_s": (high - low) / SLIDER_PER_S,
    }


def command_open(path: Path) -> list[float]:
    argv = ["replay", str(path), "--report-shown"]
    return [until_shown(argv, "ipics-lab replay did not show its window") for _ in range(COMMAND_RUNS)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "replay_results.json")
    ns = parser.parse_args()
    import qasync
    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "two-hours.ipicsrec"
        holds = synthetic_recording(path)
        app = QApplication(sys.argv[:1])
        app.setQuitOnLastWindowClosed(False)
        got = qasync.run(measure(path))
        commands = command_open(path)
    stall_ms = got["stall"]["max_gap_ms"]
    platform_name = os.environ.get("QT_QPA_PLATFORM") or "xcb"
    figures = {
        "replay_open_s": {
            "value": round(got["open_s"], 3),
            "unit": "s",
            "goal": f"<= {OPEN_GOAL_S:.0f} s",
            "passed": got["open_s"] <= OPEN_GOAL_S,
            "details": {"recording": holds, "events": got["events"], "platform": platform_name},
        },
        "replay_scrub_stall_ms": {
            "value": stall_ms,
            "unit": "ms",
            "goal": f"<= {STALL_GOAL_MS:.0f} ms",
            "passed": stall_ms is not None and stall_ms <= STALL_GOAL_MS,
            "details": {
                "moves": got["moves"],
                "move_every_ms": MOVE_EVERY_MS,
                "move_max_ms": got["move_max_ms"],
                "move_median_ms": got["move_median_ms"],
                "p99_gap_ms": got["stall"]["p99_gap_ms"],
                "ticks": got["stall"]["ticks"],
                "platform": platform_name,
            },
        },
        "replay_command_open_s": {
            "value": round(max(commands), 3),
            "unit": "s",
            "goal": f"<= {OPEN_GOAL_S:.0f} s (informative: interpreter start and imports included)",
            "passed": max(commands) <= OPEN_GOAL_S,
            "details": {"runs": [round(t, 3) for t in commands], "platform": platform_name},
        },
    }
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(), "figures": figures}
    ns.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, f in figures.items():
        print(f"{name:<24} {f['value']:>8} {f['unit']:<3} goal {f['goal']:<10} {'ok' if f['passed'] else 'FAILED'}")
    return 0 if figures["replay_open_s"]["passed"] and figures["replay_scrub_stall_ms"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
