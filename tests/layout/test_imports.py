"""Which package may import which (docs/architecture.md): the desktop and the lab use the
server's packages, never the reverse, and modules import each other without cycles.
Every import counts, inside a function or under TYPE_CHECKING too: read from the source."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the packages by import name and folder, each allowed to import those before it
LAYERS = {"ipics_server": "server", "ipics_clients": "clients", "ipics_lab": "lab", "ipics_desktop": "desktop"}
#: the one cycle left, of typing only: the server's typed application key names the
#: IpicsServer its views reach (appkeys -> app under TYPE_CHECKING); a protocol would
#: restate the server's parts that every view uses
KNOWN_CYCLES = [
    {
        "ipics_server.app",
        "ipics_server.appkeys",
        "ipics_server.admin_console.views",
        "ipics_server.api.data_views",
        "ipics_server.api.ha_views",
        "ipics_server.api.lab_views",
        "ipics_server.api.media_views",
        "ipics_server.api.monitoring_views",
        "ipics_server.api.routes",
        "ipics_server.dial.engine",
        "ipics_server.phone.service",
    }
]


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for package, folder in LAYERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """module -> the project's modules it imports (a name imported from a package
    counts as its submodule when there is one)."""
    mods = modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in mods.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base for alias in node.names]
            else:
                continue
            deps.update(m for t in targets if t.split(".")[0] in LAYERS and (m := known(t)))
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_each_package_imports_only_the_packages_below_it():
    order = list(LAYERS)
    upward = sorted(
        f"{module} imports {dep}"
        for module, deps in import_graph().items()
        for dep in deps
        if order.index(dep.split(".")[0]) > order.index(module.split(".")[0])
    )
    assert not upward, "\n".join(upward)


def test_no_import_cycles_but_the_known_one():
    assert sorted(map(sorted, cycles(import_graph()))) == sorted(map(sorted, KNOWN_CYCLES))


def test_the_check_sees_imports_inside_functions_and_under_type_checking():
    graph = import_graph()
    # desktop/testing.py imports Qt's and the desktop's modules inside its fixtures only
    assert "ipics_desktop.shared.style" in graph["ipics_desktop.testing"]
    # server/api/peer_views.py names the HA engine under TYPE_CHECKING
    assert any(dep.startswith("ipics_server.ha") for dep in graph["ipics_server.api.peer_views"])
