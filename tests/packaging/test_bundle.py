"""How the lab starts ``python -m MODULE`` in the desktop bundle, whose ``sys.executable``
is the bundle's ``ipics-lab``, not an interpreter (ipics_lab.launcher; the bundle's
program, packaging/bundle/entry.py, hands its arguments to ``run_python_m`` first).

In-process and fast; packaging/checks/bundle.sh builds the real bundle and runs it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from ipics_lab import launcher
from ipics_lab.launcher import module_command, module_of, run_python_m
from ipics_lab.media_process import MediaProcess
from ipics_lab.supervisor import ServerProcess
from ipics_server.about import version

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = "/opt/ipics-lab/ipics-lab"


@pytest.fixture
def frozen(monkeypatch):
    """This process as the bundle's program sees itself."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", BUNDLE)
    monkeypatch.setattr(sys, "argv", [BUNDLE])


def test_in_the_bundle_the_lab_starts_its_servers_and_media_router_with_the_bundles_program(frozen, tmp_path):
    server = ServerProcess("primary", tmp_path / "primary", "127.0.0.2", 9000, "", 0.01, 0.0)
    media = MediaProcess(tmp_path / "media")
    assert server.command(first_start=False)[:4] == [BUNDLE, "-m", "ipics_server", "server"]
    assert media.command()[:3] == [BUNDLE, "-m", "ipics_server.media"]
    assert module_of(media.command()) == ("ipics_server.media", media.command()[3:])  # the zygote forks it
    assert module_of([BUNDLE, "console"]) is None


def test_the_bundles_program_runs_the_command_line_module_command_writes(frozen, capsys):
    status = run_python_m(module_command("ipics_server", "--version")[1:])
    assert (status, capsys.readouterr().out) == (0, f"python -m ipics_server {version()}\n")


def test_the_bundles_program_leaves_its_own_commands_to_ipics_lab(frozen):
    assert run_python_m(["console", "--report-shown"]) is None
    assert run_python_m([]) is None


@pytest.mark.parametrize(
    ("argv", "status", "said"),
    [
        (["-m"], 2, "ipics-lab -m: name the module to run: ipics-lab -m MODULE [ARGS ...]"),
        (["-m", "--version"], 2, "ipics-lab -m: name the module to run: ipics-lab -m MODULE [ARGS ...]"),
        (["-m", "ipics_nowhere.server"], 1, "ipics-lab -m: no module named ipics_nowhere.server in this bundle"),
    ],
)
def test_the_bundles_program_answers_a_bad_module_in_one_sentence(frozen, capsys, argv, status, said):
    assert run_python_m(argv) == status
    assert capsys.readouterr().err == said + "\n"


def test_module_command_is_the_one_place_that_starts_a_module():
    """A command line built by hand (``[sys.executable, "-m", ...]``, or those as a
    call's arguments) would start the bundle's program with arguments it does not take.
    ``sys.executable`` for what it is (the interpreter a systemd unit names, the
    bundle's own path) is fine."""

    def is_sys_executable(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "executable"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        )

    offenders = []
    for package in ("server", "clients", "lab", "desktop"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == Path(launcher.__file__).resolve():
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                parts = node.elts if isinstance(node, (ast.List, ast.Tuple)) else getattr(node, "args", None)
                if not isinstance(node, (ast.List, ast.Tuple, ast.Call)) or not parts:
                    continue
                if any(is_sys_executable(p) for p in parts) and any(
                    isinstance(p, ast.Constant) and p.value == "-m" for p in parts
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "use ipics_lab.launcher.module_command instead of sys.executable"


def test_the_check_finds_a_command_line_built_by_hand(tmp_path, monkeypatch):
    """The rule above, shown to catch what it is for."""
    tree = ast.parse('subprocess.run([sys.executable, "-m", "ipics_server", "server"])')
    lists = [n for n in ast.walk(tree) if isinstance(n, ast.List)]
    assert any(isinstance(e, ast.Attribute) and e.attr == "executable" for e in lists[0].elts) and any(
        isinstance(e, ast.Constant) and e.value == "-m" for e in lists[0].elts
    )
