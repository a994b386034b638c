"""The wheel, installed as a user installs it: built from the checkout (sdist, then the
wheel from the sdist, as ``python -m build`` does), into a fresh virtualenv in a
temporary folder outside the checkout, its commands run from there.

The base install is a server host's: no Qt.  Everything the programs read at run time
must come from the package (importlib.resources), or these fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: real seconds for a build or an install (pip may fetch from the package registry)
INSTALL_S = 300
#: real seconds for a command of the installed lab
COMMAND_S = 120

# builds, installs and runs programs; one worker builds and installs once for the module
pytestmark = [pytest.mark.pair, pytest.mark.xdist_group("wheel")]


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = COMMAND_S):
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def outside_env(home: Path) -> dict[str, str]:
    """A user's environment: nothing of this checkout or its virtualenv on the paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """The wheel (and the sdist it was built from), and a virtualenv outside the
    checkout with the wheel installed, no extras, plus pytest for the test project.
    Session-wide: the worker that runs the "wheel" group may run other modules' tests
    between these, and a module fixture would be built again after each (24 s each)."""
    base = tmp_path_factory.mktemp("wheel")
    home = base / "home"
    home.mkdir()
    env = outside_env(home)
    # from a copy of the checkout's files (tracked or new, not ignored): the build writes
    # its egg-info beside the sources, and a stale build/ folder must not leak in
    source = base / "source"
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name, follow_symlinks=False)
    run(sys.executable, "-m", "build", "--outdir", base / "dist", source, cwd=base, env=env, timeout=INSTALL_S)
    (wheel,) = (base / "dist").glob("ipics_ha_lab-*.whl")
    (sdist,) = (base / "dist").glob("ipics_ha_lab-*.tar.gz")
    run(sys.executable, "-m", "venv", base / "venv", cwd=base, env=env)
    bin_dir = base / "venv" / "bin"
    run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "-q",
        wheel,
        "pytest>=8",
        "pytest-asyncio>=1.4",
        cwd=base,
        env=env,
        timeout=INSTALL_S,
    )
    return {"base": base, "bin": bin_dir, "env": env, "wheel": wheel, "sdist": sdist, "home": home}


def test_the_wheel_carries_its_metadata_and_run_time_files(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
        entry_points = wheel.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    for license_file in ("base.lic", "ha.lic", "policy.lic"):
        assert f"ipics_lab/data/licenses/{license_file}" in names
    assert {"ipics_server/admin_console/templates/base.html", "ipics_server/py.typed"} <= names
    assert any(n.startswith("ipics_lab/scenario/builtin/") and n.endswith(".toml") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "server/", "assets/")) for n in names)
    for field in (
        "License-Expression: MIT",
        "Requires-Python: >=3.11",
        "Provides-Extra: desktop",
        "Provides-Extra: test",
        "Classifier: Operating System :: POSIX :: Linux",
    ):
        assert field in metadata, field
    assert "ipics-lab = ipics_desktop.cli:main" in entry_points
    assert "ipics_lab = ipics_lab.pytest_plugin" in entry_points


def test_a_server_host_without_qt_runs_the_lab_from_the_wheel(installed):
    """``pip install ipics-ha-lab`` (no extras): the version, ``up --headless --json``
    (the contract line, the pair configured, the sample licenses found in the package),
    and the built-in earthquake scenario, from a folder that is not the checkout."""
    bin_dir, env, home = installed["bin"], installed["env"], installed["home"]
    version = run(bin_dir / "ipics-lab", "--version", cwd=home, env=env).stdout
    assert version.strip() == f"ipics-lab {installed['wheel'].name.split('-')[1]}"
    no_qt = run(
        bin_dir / "python", "-c", "import importlib.util as u; print(u.find_spec('PySide6'))", cwd=home, env=env
    )
    assert no_qt.stdout.strip() == "None"  # a server host's install carries no Qt
    console = subprocess.run(
        [bin_dir / "ipics-lab", "console"], cwd=home, env=env, capture_output=True, text=True, timeout=COMMAND_S
    )
    assert console.returncode == 2 and "pip install 'ipics-ha-lab[desktop]'" in console.stderr, console.stderr
    assert "Traceback" not in console.stderr
    launchers = subprocess.run(
        [bin_dir / "ipics-lab", "launchers", "install"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_S,
    )
    assert launchers.returncode == 2 and "pip install 'ipics-ha-lab[desktop]'" in launchers.stderr, launchers.stderr
    assert not (home / ".local" / "share" / "applications").exists()  # nothing half-installed

    stderr = home / "up.stderr"
    with (
        stderr.open("w") as err,
        subprocess.Popen(
            [bin_dir / "ipics-lab", "up", "--headless", "--json", "--time-scale", "0.01", "--data-dir", home / "lab"],
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        ) as up,
    ):
        assert up.stdout is not None
        try:
            line = up.stdout.readline()  # the contract line once the standby is Ready; EOF if up failed
            assert line, f"ipics-lab up printed nothing: {stderr.read_text()}"
            info = json.loads(line)
            assert set(info) >= {"primary", "secondary", "admin", "time_scale"} and info["time_scale"] == 0.01
        finally:
            up.send_signal(signal.SIGTERM)
            assert up.wait(COMMAND_S) == 0, stderr.read_text()

    started = time.monotonic()
    scenario = run(
        bin_dir / "ipics-lab",
        "scenario",
        "run",
        "earthquake",
        "--time-scale",
        "0.01",
        "--data-dir",
        home / "scenario",
        cwd=home,
        env=env,
    )
    assert "earthquake" in scenario.stdout.lower(), scenario.stdout  # exit 0: every expectation met
    assert time.monotonic() - started < COMMAND_S


def test_a_test_engineers_own_project_uses_the_plugins_fixtures(installed):
    """A project of its own, a test module and no conftest: the plugin comes with the
    wheel (entry point pytest11) and its pair starts from the installed package."""
    project = installed["base"] / "their-project"
    project.mkdir()
    (project / "test_their_failover.py").write_text(
        textwrap.dedent("""
        import pytest

        pytestmark = pytest.mark.asyncio


        async def test_the_secondary_takes_over(ipics_demo, ipics_faults, ipics_takeover_deadline_s):
            pair = ipics_demo.pair
            await ipics_faults.power_off("primary")
            await pair.wait_status(pair.secondary, ipics_takeover_deadline_s, role="active")
    """)
    )
    result = subprocess.run(
        [installed["bin"] / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_their_failover.py"],
        cwd=project,
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=COMMAND_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
