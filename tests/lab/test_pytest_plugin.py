"""The lab's pytest plugin as a test engineer meets it: installed with the package, used
from test modules outside the project's tests, each run a fresh ``python -m pytest``
in a clean environment (no display, no conftest of ours, a throwaway home)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# each test runs pytest in its own process
pytestmark = pytest.mark.pair

ROOT = Path(__file__).resolve().parents[2]
#: real seconds one pytest run may take: interpreter and Qt start-up, a pair or two
RUN_S = 180


def run_pytest(cwd: Path, home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=clean,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_S,
        check=False,
    )


def running_under(folder: Path) -> list[str]:
    """Processes still running with ``folder`` in their command line or holding a file in
    it open (a lab's servers, forked by the plugin's zygote or not: their logs and
    databases are there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z" and (str(folder) in cmdline or holds_open_under(proc, folder)):
                found.append(f"{proc.name}: {cmdline}")
        except OSError:
            continue
    return found


def holds_open_under(proc: Path, folder: Path) -> bool:
    for fd in (proc / "fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def project(folder: Path, ini: str, **modules: str) -> Path:
    """A test engineer's project: a pytest.ini and test modules, nothing of ours."""
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n" + ini
    )
    for name, text in modules.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


def report(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


def test_the_plugin_module_imports_neither_qt_nor_the_servers(tmp_path):
    probe = (
        "import sys, ipics_lab.pytest_plugin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'qasync', 'ipics_server', 'aiohttp'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", report(result)


def test_the_example_module_passes_outside_the_projects_tests_and_logs_no_error(tmp_path):
    base = tmp_path / "base"
    # Live logs from WARNING up, setup, call and teardown alike: a fixture that logs an
    # error on every teardown would hide a test engineer's real ones.
    result = run_pytest(
        ROOT,
        tmp_path / "home",
        "examples/test_trainer_plugin.py",
        "-q",
        "--basetemp",
        str(base),
        "-o",
        "log_cli=true",
        "--log-cli-level=WARNING",
    )
    assert result.returncode == 0, report(result)
    assert "2 passed" in result.stdout, report(result)
    output = result.stdout + result.stderr
    for sign in ("ERROR", "Traceback", "RuntimeError"):
        assert sign not in output, report(result)
    assert running_under(base) == []


SCALE_MODULES = {
    "test_scale": """
        import os

        import pytest


        @pytest.mark.asyncio
        async def test_the_lab_runs_at_the_chosen_scale(ipics_lab, ipics_time_scale):
            expected = float(os.environ["EXPECTED_SCALE"])
            assert ipics_time_scale == expected and ipics_lab.time_scale == expected
    """,
    "test_override": """
        import pytest


        @pytest.fixture
        def ipics_time_scale():
            return 0.03


        def test_a_module_may_choose_its_own_scale(ipics_lab):
            assert ipics_lab.time_scale == 0.03
    """,
}


def test_the_time_scale_comes_from_the_option_else_the_ini_file_and_a_module_may_override_it(tmp_path):
    folder = project(tmp_path / "project", "ipics_time_scale = 0.05\n", **SCALE_MODULES)
    home = tmp_path / "home"
    # the option, and a module's own fixture over it; then the ini file's (one module: one lab)
    for args, expected, passed in ((["--ipics-time-scale", "0.02"], "0.02", 2), (["test_scale.py"], "0.05", 1)):
        result = run_pytest(folder, home, "-q", *args, env={"EXPECTED_SCALE": expected})
        assert result.returncode == 0 and f"{passed} passed" in result.stdout, report(result)

    result = run_pytest(folder, home, "-q", "--ipics-time-scale", "0")
    assert result.returncode == 4, report(result)  # a usage error, before any test
    assert "--ipics-time-scale" in result.stderr and "greater than 0" in result.stderr, report(result)
    (folder / "pytest.ini").write_text("[pytest]\nipics_missed_heartbeats = 2\n")
    result = run_pytest(folder, home, "-q")
    assert result.returncode == 4 and "ipics_missed_heartbeats = 2 is outside 5-30" in result.stderr, report(result)


def test_a_false_claim_about_the_pair_is_reported_as_a_failure_and_the_pairs_are_stopped(tmp_path):
    folder = project(
        tmp_path / "project",
        "ipics_heartbeat_interval = 6\n",
        test_claims="""
        import pytest

        pytestmark = pytest.mark.asyncio


        async def test_the_servers_run_at_the_chosen_scale_and_heartbeat(ipics_admin):
            status = (await ipics_admin.get("/api/v1/ha/status")).body
            assert status["time_scale"] == 0.02
            assert (status["heartbeat"]["interval_s"], status["heartbeat"]["missed_count"]) == (6, 5)


        async def test_the_primary_is_the_standby(ipics_pair):
            status = await ipics_pair.status(ipics_pair.primary)
            assert status["role"] == "standby"


        async def test_ursulas_phone_lists_her_channel_then_the_vtgs(ipics_phone):
            phone = await ipics_phone("ursula")  # Dial Login 1003 on the active's service
            assert phone.title_label.text() == "IPICS"
            assert [row.text() for row in phone.rows if row.text()] == [
                "1  Police", "2  Downtown Response", "3  Mutual Aid"]  # a dispatcher sees every VTG
    """,
    )
    base = tmp_path / "base"
    result = run_pytest(folder, tmp_path / "home", "-q", "--ipics-time-scale", "0.02", "--basetemp", str(base))
    assert result.returncode == 1, report(result)
    assert "1 failed, 2 passed" in result.stdout, report(result)
    assert "FAILED test_claims.py::test_the_primary_is_the_standby" in result.stdout, report(result)
    assert "assert 'active' == 'standby'" in result.stdout, report(result)
    assert running_under(base) == []
