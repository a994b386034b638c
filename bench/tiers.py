"""How long the test suite and the lab take to start: the floor under every test.

    .venv/bin/python bench/tiers.py [--runs 20] [--skip-suite] [--no-zygote] [--out PATH]

Figures (bench/README.md says how each is measured):

1. pair_fixture_setup_s: the set-up of the plugin's ``ipics_pair`` fixture (both servers
   started, trusted, HA configured, the standby Ready), median and p90 over ``--runs``
   tests in one pytest session, as a test engineer's project would run them.
2. lab_up_json_s: ``ipics-lab up --headless --json`` with the demo data, from the
   command to its JSON line (the standby Ready), median and p90 over ``--runs // 4``.
3. fast_tier_s and whole_suite_s: the wall time of ``pytest -m "not pair"`` (one
   process) and of the whole suite as line 2 of the README's Quick start runs it (its
   workers too), one after the other (``--skip-suite`` leaves both out).

Writes ``bench/tiers_results.json`` with the machine, the date and the load average
before and after each figure (the machine may be shared: compare runs on a quiet one).
The exit status is 0 only when every goal is met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOALS = {"pair_fixture_setup_s": 1.0, "lab_up_json_s": None, "fast_tier_s": 60.0, "whole_suite_s": 420.0}
#: real seconds before a run is called hung
RUN_TIMEOUT_S = 3600


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20, help="ipics_pair set-ups to time (default 20)")
    p.add_argument("--skip-suite", action="store_true", help="leave out the two tiers' wall times")
    p.add_argument(
        "--no-zygote", action="store_true", help="start each server in a fresh interpreter (ini ipics_zygote = false)"
    )
    p.add_argument("--out", type=Path, default=HERE / "tiers_results.json")
    return p.parse_args(argv)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 3),
        "p90": round(percentile(values, 0.9), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "runs": [round(v, 3) for v in values],
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- 1. the fixture
FIXTURE_TESTS = """
    import pytest

    @pytest.mark.parametrize("run", range({runs}))
    async def test_pair_is_ready(ipics_pair, run):
        st = await ipics_pair.status(ipics_pair.secondary)
        assert st["role"] == "standby" and st["ha"] == "configured"
"""
#: a pytest plugin beside the module: each test's set-up time, from pytest's own report
COLLECTOR = """
    import json, os

    def pytest_runtest_logreport(report):
        if report.when == "setup" and report.passed:
            with open(os.environ["TIERS_SETUP_TIMES"], "a") as f:
                f.write(json.dumps(report.duration) + "\\n")
"""


def fixture_setup(runs: int, zygote: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ipics-tiers-") as tmp:
        project = Path(tmp)
        ini = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        ini += f"ipics_zygote = {'true' if zygote else 'false'}\n"
        (project / "pytest.ini").write_text(ini)
        (project / "test_fixture.py").write_text(textwrap.dedent(FIXTURE_TESTS.format(runs=runs)))
        (project / "tiers_collector.py").write_text(textwrap.dedent(COLLECTOR))
        times = project / "times.jsonl"
        env = {**os.environ, "TIERS_SETUP_TIMES": str(times), "PYTHONPATH": str(project)}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "tiers_collector",
                "-p",
                "no:cacheprovider",
                "test_fixture.py",
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"the fixture runs failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
        values = [json.loads(line) for line in times.read_text().splitlines()]
    out = summary(values)
    out["first"] = round(values[0], 3)  # with the zygote: it may still be importing the servers
    return out


# ---------------------------------------------------------------- 2. ipics-lab up
def lab_up(runs: int) -> dict[str, Any]:
    command = shutil.which("ipics-lab", path=str(Path(sys.executable).parent)) or "ipics-lab"
    values = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="ipics-tiers-up-") as tmp:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [command, "up", "--headless", "--json", "--time-scale", "0.01", "--data-dir", tmp],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                line = proc.stdout.readline()
                took = time.perf_counter() - started
                if not line.startswith("{"):
                    raise RuntimeError(f"ipics-lab up printed no JSON line: {line!r} {proc.stderr.read()[-2000:]}")
                json.loads(line)
                values.append(took)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return summary(values)


# ---------------------------------------------------------------- 3. the tiers
def quick_start_pytest_args() -> list[str]:
    """The pytest arguments of line 2 of the README's Quick start (what .ci/run runs),
    so the whole suite is timed as users and CI run it (workers included)."""
    lines = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("```")[1].strip().splitlines()
    return shlex.split(lines[1].split("-m pytest", 1)[1])


def tier(*args: str) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    took = time.perf_counter() - started
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)", tail)}
    failed = [line.split(" - ")[0] for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return {"value": round(took, 1), "exit": result.returncode, "summary": tail, "counts": counts, "failed": failed}


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    figures: dict[str, dict[str, Any]] = {}

    def measure(name: str, run) -> None:
        before = load()
        print(f"{name} ...", flush=True)
        figure = run()
        figure["load_before"], figure["load_after"] = before, load()
        figures[name] = figure
        print(f"  {json.dumps({k: v for k, v in figure.items() if k != 'runs'})}", flush=True)

    measure("pair_fixture_setup_s", lambda: fixture_setup(ns.runs, not ns.no_zygote))
    measure("lab_up_json_s", lambda: lab_up(max(3, ns.runs // 4)))
    if not ns.skip_suite:
        measure("fast_tier_s", lambda: tier("-m", "not pair"))
        measure("whole_suite_s", lambda: tier(*quick_start_pytest_args()))
    ok = True
    for name, figure in figures.items():
        goal = GOALS[name]
        value = figure.get("median", figure.get("value"))
        figure["goal"] = goal
        figure["passed"] = (goal is None or value <= goal) and figure.get("exit", 0) == 0
        ok = ok and figure["passed"]
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "zygote": not ns.no_zygote,
        "figures": figures,
    }
    ns.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {ns.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
