"""The GUI console's figures, each in its own process (Qt wants its own loop):

    python bench/gui_bench.py stall      # longest event-loop stall of an IDC during a failover
    python bench/gui_bench.py startup    # `ipics-lab console` start to login dialog shown

Each prints one JSON object: {"value", "unit", "goal", "passed", "details"}.
``bench/console_bench.py`` runs them as its figures ``gui_loop_stall_ms`` and
``console_start_to_login_s``.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STALL_GOAL_MS = 50.0
STARTUP_GOAL_S = 1.0
TICK_MS = 5
TIME_SCALE = 0.02
STARTUPS = 5


class StallMeter:
    """A Qt timer that should fire every TICK_MS: the longest gap between two firings
    is the longest time the loop (Qt and asyncio alike) was busy with something else."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.gaps: list[float] = []

    def start(self) -> None:
        self.last = time.perf_counter()
        self.gaps = []
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        gaps_ms = sorted(g * 1000 for g in self.gaps)
        return {
            "ticks": len(gaps_ms),
            "max_gap_ms": round(gaps_ms[-1], 2) if gaps_ms else None,
            "p99_gap_ms": round(gaps_ms[int(len(gaps_ms) * 0.99) - 1], 2) if gaps_ms else None,
        }

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now


async def stall() -> dict:
    import tempfile

    from run_bench import ready_pair

    from ipics_clients.credentials import Credentials
    from ipics_clients.known_servers import KnownServers
    from ipics_clients.session import State
    from ipics_desktop.idc.idc import Idc
    from ipics_lab.seed import seed_demo_data
    from ipics_lab.supervisor import wait_until
    from ipics_server.clock import Clock

    phases = {}
    async with ready_pair(time_scale=TIME_SCALE, interval_s=15, missed_count=5) as pair:
        async with await pair.admin(pair.primary) as admin:
            await seed_demo_data(admin, "bench-password-1")
        await pair.wait_ready()
        with tempfile.TemporaryDirectory() as profile:
            known = KnownServers(Path(profile) / "servers.json")
            for url in (pair.primary.url, pair.secondary.url):
                known.add(url)
            idc = Idc(known, Credentials(Path(profile)), clock=Clock(TIME_SCALE))
            idc.start()
            meter = StallMeter()
            try:
                idc.dialog.username.setText("dan")
                idc.dialog.password.setText("bench-password-1")
                meter.start()
                idc.dialog.login_button.click()
                await wait_until(lambda: idc.window.isVisible() and idc.session.state == State.ONLINE, 30, "login")
                await asyncio.sleep(0.5)  # the photo thumbnail and the first paint
                phases["login"] = meter.stop()

                meter.start()
                killed = time.perf_counter()
                pair.primary.kill()
                await wait_until(lambda: idc.session.state == State.OFFLINE, 10, "offline")
                await wait_until(lambda: idc.session.state == State.ONLINE, 60, "the reconnect")
                reconnected = time.perf_counter() - killed
                await asyncio.sleep(0.5)  # the new configuration rendered
                phases["failover"] = meter.stop()
                phases["failover"]["kill_to_reconnected_s"] = round(reconnected, 3)
            finally:
                await idc.session.close()
    worst = max(p["max_gap_ms"] for p in phases.values())
    return {
        "value": worst,
        "unit": "ms",
        "goal": f"<= {STALL_GOAL_MS:.0f} ms",
        "passed": worst <= STALL_GOAL_MS,
        "details": {
            "phases": phases,
            "tick_ms": TICK_MS,
            "time_scale": TIME_SCALE,
            "platform": os.environ.get("QT_QPA_PLATFORM") or "xcb",
            "method": "a 5 ms Qt PreciseTimer in the console's process; the value is the longest "
            "gap between two firings during the login and during kill -9 of the active "
            "until the console is online on the new active",
        },
    }


def until_shown(args: list[str], late: str) -> float:
    """Seconds from spawning ``ipics-lab ARGS --report-shown`` to its line saying the
    window is shown (``late``: what a TimeoutError says after 30 s); the process is killed."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipics_desktop", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        if not ready:
            raise TimeoutError(f"{late} within 30 s")
        line = proc.stdout.readline()
        took = time.perf_counter() - began
        json.loads(line)
        return took
    finally:
        proc.kill()
        proc.wait()


def startup() -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        argv = ["console", "--profile-dir", profile, "--report-shown"]
        times = [until_shown(argv, "the console did not show its login dialog") for _ in range(STARTUPS)]
    worst = max(times)
    return {
        "value": round(worst, 3),
        "unit": "s",
        "goal": f"<= {STARTUP_GOAL_S:.0f} s",
        "passed": worst <= STARTUP_GOAL_S,
        "details": {
            "runs": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3),
            "platform": os.environ.get("QT_QPA_PLATFORM") or "xcb",
            "method": "wall time from spawning `python -m ipics_server console` (interpreter start "
            "and imports included) to its line saying the login dialog is shown; the "
            "value is the worst of the runs",
        },
    }


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which == "startup":
        result = startup()
    elif which == "stall":
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])
        app.setQuitOnLastWindowClosed(False)
        result = qasync.run(stall())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
