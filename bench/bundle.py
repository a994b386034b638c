"""The desktop bundle's figures (packaging/bundle.sh):

    .venv/bin/python bench/bundle.py                    # builds a bundle in a temporary folder (~45 s)
    .venv/bin/python bench/bundle.py --bundle DIR       # measures the bundle in DIR/ipics-lab
    .venv/bin/python bench/bundle.py --runs 10 --out /tmp/r.json

- ``bundle_size_mb``: the bundle's folder on disk, and what takes the space.
- ``bundle_start_to_login_s`` (goal 1.5 s): wall time from starting the bundled
  ``ipics-lab console`` under Xvfb (the xcb platform, one Xvfb for all runs) to its line
  saying the login dialog is shown (``--report-shown``), the median of the runs; the
  same for ``ipics-lab console`` of the virtualenv, for comparison.

Writes ``bench/bundle_results.json`` ({"date", "machine", "figures"}, as
bench/run_bench.py); the exit status is 0 only if every figure passes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "bundle_results.json"
START_GOAL_S = 1.5
SHOWN_TIMEOUT_S = 30
UNDER_XVFB = "IPICS_BENCH_UNDER_XVFB"


def machine() -> dict:
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def mb(nbytes: int) -> float:
    return round(nbytes / 1e6, 1)


def du(path: Path) -> int:
    """Bytes on disk of the files under ``path`` (symbolic links not followed)."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_blocks * 512
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*") if not p.is_dir() or p.is_symlink())


def size(bundle: Path) -> dict:
    """The folder's size, and its parts: each top folder of ``_internal`` (Qt's in
    three), the shared libraries at its top taken together, the rest together."""
    internal = bundle / "_internal"
    parts: dict[str, int] = {}
    for entry in internal.iterdir():
        if entry.name == "PySide6":
            qt = entry / "Qt"
            for sub in ("lib", "plugins"):
                parts[f"PySide6/Qt/{sub}"] = du(qt / sub)
            parts["PySide6 (the bindings)"] = du(entry) - du(qt / "lib") - du(qt / "plugins")
        elif entry.name.startswith("libpython"):
            parts["libpython3 (the interpreter)"] = du(entry)
        elif ".so" in entry.name and not entry.is_dir():
            key = "shared libraries of the build machine (X11/xcb, glib, OpenSSL, ...)"
            if entry.name.startswith("libQt6"):
                key = "libQt6* (links into PySide6/Qt/lib)"
            parts[key] = parts.get(key, 0) + du(entry)
        elif entry.is_dir() and entry.name in ("python3.11", "base_library.zip"):
            parts[f"{entry.name} (the standard library's extensions)"] = du(entry)
        elif entry.is_dir() and not entry.name.endswith(".dist-info"):
            parts[entry.name] = du(entry)
        else:
            parts["the rest (metadata, base_library.zip)"] = parts.get("the rest (metadata, base_library.zip)", 0) + du(
                entry
            )
    parts["ipics-lab (the program, with the Python modules in its archive)"] = du(bundle / "ipics-lab")
    total = du(bundle)
    top = dict(sorted(((k, mb(v)) for k, v in parts.items()), key=lambda kv: -kv[1])[:12])
    icu = sum(du(p) for p in (internal / "PySide6" / "Qt" / "lib").glob("libicu*"))
    return {
        "value": mb(total),
        "unit": "MB on disk",
        "goal": "recorded and explained",
        "passed": True,
        "details": {
            "top_mb": top,
            "icu_mb": mb(icu),
            "files": sum(1 for p in bundle.rglob("*") if not p.is_dir()),
            "needs_glibc": glibc_needed(bundle),
            "method": "st_blocks of every file of the folder (du); links counted once, as links",
        },
    }


def glibc_needed(bundle: Path) -> str:
    """The newest glibc symbol version any binary of the bundle asks for: the oldest
    glibc a desktop may have (objdump -T, binutils)."""
    newest = (2, 0)
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.read_bytes()[:4] != b"\x7fELF":
            continue
        out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True, check=False).stdout
        for word in out.split():
            if word.startswith("GLIBC_2.") or word.startswith("(GLIBC_2."):
                parts = word.strip("()").removeprefix("GLIBC_").split(".")
                if all(p.isdigit() for p in parts):
                    newest = max(newest, tuple(int(p) for p in parts[:2]))
    return ".".join(map(str, newest))


def started_to_shown(command: list[str], env: dict[str, str], profile: Path) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "console", "--profile-dir", str(profile), "--report-shown"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], SHOWN_TIMEOUT_S)
        line = proc.stdout.readline() if ready else b""
        took = time.perf_counter() - began
        if "login_dialog_shown_s" not in json.loads(line or b"{}"):
            raise RuntimeError(f"{command[0]} console showed no login dialog within {SHOWN_TIMEOUT_S} s")
        return took
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_times(command: list[str], runs: int, home: Path) -> list[float]:
    # a desktop session's environment: the display, nothing of this checkout or virtualenv
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "DISPLAY": os.environ["DISPLAY"],
    }
    if "XAUTHORITY" in os.environ:
        env["XAUTHORITY"] = os.environ["XAUTHORITY"]
    with tempfile.TemporaryDirectory() as profile:
        return [started_to_shown(command, env, Path(profile)) for _ in range(runs)]


def start(bundle: Path, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as home:
        times = start_times([str(bundle / "ipics-lab")], runs, Path(home))
        venv = start_times([str(ROOT / ".venv" / "bin" / "ipics-lab")], runs, Path(home))
    median = statistics.median(times)
    return {
        "value": round(median, 3),
        "unit": "s (median)",
        "goal": f"<= {START_GOAL_S} s",
        "passed": median <= START_GOAL_S,
        "details": {
            "runs_s": [round(t, 3) for t in times],
            "first_s": round(times[0], 3),
            "max_s": round(max(times), 3),
            "virtualenv_median_s": round(statistics.median(venv), 3),
            "virtualenv_runs_s": [round(t, 3) for t in venv],
            "platform": "xcb (Xvfb)",
            "method": "wall time from spawning `ipics-lab console --report-shown` (the bundle's "
            "program; then .venv/bin/ipics-lab) to its JSON line saying the login dialog is "
            "shown; one Xvfb for all runs, a fresh profile folder, SIGTERM after each",
        },
    }


def build(into: Path) -> Path:
    subprocess.run([str(ROOT / "packaging" / "bundle.sh"), str(into)], check=True)
    return into / "ipics-lab"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, help="a folder holding ipics-lab/ (default: build one in a temporary folder)")
    p.add_argument("--runs", type=int, default=10, help="starts to time (default 10)")
    p.add_argument("--out", type=Path, default=OUT)
    ns = p.parse_args()
    if not os.environ.get(UNDER_XVFB):
        if shutil.which("xvfb-run") is None:
            print("bench/bundle.py: needs xvfb-run (Debian's xvfb): apt-get install xvfb xauth", file=sys.stderr)
            return 2
        env = {**os.environ, UNDER_XVFB: "1"}
        return subprocess.run(["xvfb-run", "-a", sys.executable, __file__, *sys.argv[1:]], env=env).returncode
    with tempfile.TemporaryDirectory() as tmp:
        if ns.bundle is None:
            bundle = build(Path(tmp))
        else:
            bundle = ns.bundle / "ipics-lab"
            if not (bundle / "ipics-lab").is_file():
                print(
                    f"bench/bundle.py: no bundle in {ns.bundle} (build one: packaging/bundle.sh DIR)", file=sys.stderr
                )
                return 2
        figures = {"bundle_size_mb": size(bundle), "bundle_start_to_login_s": start(bundle, ns.runs)}
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": figures,
    }
    ns.out.write_text(json.dumps(result, indent=1) + "\n")
    for name, fig in figures.items():
        print(
            f"{name:28} {fig['value']:>8} {fig['unit']:14} goal {fig['goal']:24} {'ok' if fig['passed'] else 'FAILED'}"
        )
    print(json.dumps(figures["bundle_size_mb"]["details"]["top_mb"], indent=1))
    return 0 if all(f["passed"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
