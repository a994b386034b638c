"""The two tiers of a test suite that uses the lab (part of the ``ipics_lab`` plugin).

Every test that starts processes (the lab's servers and media router, a browser, a
command in its own process) carries the ``pair`` marker, so ``pytest -m "not pair"``
runs the fast tier: everything else, in this process only.

- The plugin marks a test that uses its process fixtures (``ipics_lab``, and all that
  build on it: ``ipics_pair``, ``ipics_demo``, ``ipics_admin``, ``ipics_idc`` ...).
- A project marks a test that uses one of its own such fixtures by decorating the
  fixture function with ``starts_processes`` (under ``@pytest.fixture``), and a test
  that starts a process itself with ``@pytest.mark.pair``.
- With the ini option ``ipics_strict_pair_marker = true`` a test without the marker
  cannot start a process: the attempt raises ``UnmarkedProcessError`` (seen through
  Python's audit hooks: ``subprocess``, ``os.fork``, ``os.posix_spawn``, ``os.system``,
  ``os.exec*`` and the lab's own launcher) and the test fails, so a test cannot land in
  the fast tier by mistake.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

MARKER = "pair"
MARKER_HELP = (
    f"{MARKER}: starts real processes (the lab's servers or media router, a browser, a command "
    "in its own process); the fast tier is -m 'not pair'"
)
#: the plugin's fixture every one of its process fixtures builds on
PLUGIN_PROCESS_FIXTURES = frozenset({"ipics_lab"})
STRICT_INI = "ipics_strict_pair_marker"
#: audit events that start a process (``ipics_lab.launcher.AUDIT_EVENT`` included)
PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.exec",
        "pty.spawn",
        "ipics_lab.spawn",
    }
)
#: helpers that libraries run to probe the system (``ctypes.util.find_library`` runs
#: ldconfig, gcc or objdump; ``platform`` runs uname): not processes a test starts
PROBES = frozenset({"ldconfig", "gcc", "cc", "ld", "objdump", "uname"})
_ATTRIBUTE = "_ipics_starts_processes"

F = TypeVar("F", bound=Callable[..., Any])


class UnmarkedProcessError(RuntimeError):
    """A test without the ``pair`` marker tried to start a process."""


def starts_processes(fixture_function: F) -> F:
    """Say that a fixture starts processes: every test that uses it (directly or
    through another fixture) is marked ``pair``.  Goes under ``@pytest.fixture``::

        @pytest.fixture
        @starts_processes
        async def router(tmp_path): ...
    """
    if hasattr(fixture_function, "_get_wrapped_function"):  # pytest's fixture object
        raise TypeError("put @starts_processes under @pytest.fixture, on the function itself")
    setattr(fixture_function, _ATTRIBUTE, True)
    return fixture_function


def uses_process_fixture(item: pytest.Item) -> bool:
    if PLUGIN_PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    info = getattr(item, "_fixtureinfo", None)  # the fixtures this test uses, transitively
    if info is None:
        return False
    return any(getattr(d.func, _ATTRIBUTE, False) for defs in info.name2fixturedefs.values() for d in defs)


# ----------------------------------------------------------------------- hooks
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        STRICT_INI, f"fail a test that starts a process but is not marked {MARKER}", type="bool", default=False
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    if config.getini(STRICT_INI):
        _Guard.install()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(MARKER) is None and uses_process_fixture(item):
            item.add_marker(MARKER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    outer = _Guard.running  # a pytest run inside a test (pytester) gives it back after
    _Guard.running = item if item.config.getini(STRICT_INI) else None
    try:
        return (yield)
    finally:
        _Guard.running = outer


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    starts = item.stash.get(_STARTS, [])
    if starts and report.failed:
        item.stash[_FAILED] = True
    elif starts and report.when == "teardown" and not item.stash.get(_FAILED, False):
        # The refusal was caught and hidden by the code under test: the test still fails.
        report.outcome = "failed"
        report.longrepr = _refusal(item, starts[0])
    return report


_STARTS = pytest.StashKey[list[str]]()
_FAILED = pytest.StashKey[bool]()


def _refusal(item: pytest.Item, what: str) -> str:
    return (
        f"{item.nodeid} starts a process ({what}) but is not marked {MARKER!r}: the fast tier "
        f"(-m 'not {MARKER}') starts none.  Use a fixture that carries the marker, decorate your own "
        f"with ipics_lab.pytest_tiers.starts_processes, or mark the test @pytest.mark.{MARKER}."
    )


class _Guard:
    """The audit hook (installed once per process: audit hooks cannot be removed)."""

    installed = False
    running: pytest.Item | None = None

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if event not in PROCESS_EVENTS:
            return
        item = cls.running
        if item is None or item.get_closest_marker(MARKER) is not None or _probe(event, args):
            return
        what = f"{event} {_describe(args)}"
        item.stash.setdefault(_STARTS, []).append(what)
        raise UnmarkedProcessError(_refusal(item, what))


def _probe(event: str, args: tuple) -> bool:
    if event != "subprocess.Popen" or len(args) < 2:
        return False
    executable, argv = args[0], args[1]
    if executable is None and isinstance(argv, (list, tuple)) and argv:
        executable = argv[0]
    elif executable is None:
        executable = argv
    return isinstance(executable, (str, bytes, os.PathLike)) and os.path.basename(os.fsdecode(executable)) in PROBES


def _describe(args: tuple) -> str:
    for arg in args:  # the executable or the argument list, whichever comes first
        if isinstance(arg, (str, bytes)):
            return repr(arg)
        if isinstance(arg, (list, tuple)) and arg:
            return repr(list(arg)[:4])
    return ""
