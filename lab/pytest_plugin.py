"""The lab's pytest plugin (entry point ``ipics_lab``): an HA pair, its addresses, an
administrator's session and faults, for test engineers.  The fixtures that open an IDC
or an IP phone in a qtbot (``ipics_idc``, ``ipics_phone``) are the desktop's part of it
(``ipics_desktop.testing``, entry point ``ipics_lab_qt``).

Installed with the package, so any test module in this environment can ask for the
fixtures (all named ``ipics_*``; each one's docstring says what it gives):

    async def test_the_secondary_takes_over(ipics_pair, ipics_faults, ipics_takeover_deadline_s):
        await ipics_faults.power_off("primary")  # kill -9
        await ipics_pair.wait_status(ipics_pair.secondary, ipics_takeover_deadline_s, role="active")

Options: ``--ipics-time-scale S`` (or the ini option ``ipics_time_scale``; default 0.01:
the 25 s failover window passes in a quarter of a real second), ini options
``ipics_heartbeat_interval`` (5) and ``ipics_missed_heartbeats`` (5),
``--ipics-topology loopback|sites`` (or ``ipics_topology``, or override the
``ipics_topology`` fixture: "sites", as root, runs each server in a network namespace
of its own and makes the faults with the kernel), ``--ipics-modes MODES`` (or
``ipics_modes``, or override the ``ipics_modes`` fixture: the pair's modes beyond IPICS,
``ipics_lab.modes``, say "witness+synchronous-strict"), ``ipics_zygote``
(true: the servers and media routers the lab starts in this session are forked from one
process that imported them once, ``ipics_lab.zygote``; false: a fresh interpreter each).

Every test that uses these fixtures is marked ``pair`` (``ipics_lab.pytest_tiers``):
``pytest -m "not pair"`` is the fast tier.

Importing this module imports neither Qt nor the servers: the fixtures do, when used.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from ipics_lab.sites import TOPOLOGIES  # the standard library only

#: pytest_asyncio's fixture decorator, or pytest's where it is not installed
async_fixture: Callable[..., Any]
try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # the plugin loads in every pytest run here; only its async fixtures need it
    async_fixture = pytest.fixture

if TYPE_CHECKING:
    from ipics_lab.launcher import Launcher, ZygoteLauncher
    from ipics_lab.supervisor import LabPair, ServerProcess

#: the tiers (the ``pair`` marker) are part of this plugin
pytest_plugins = ("ipics_lab.pytest_tiers",)

DEFAULT_TIME_SCALE = 0.01
DEFAULT_HEARTBEAT_INTERVAL_S = 5
DEFAULT_MISSED_HEARTBEATS = 5
#: the demo users' password and Dial Login PIN (fixed, so a failing test can be replayed by hand)
DEMO_PASSWORD = "Demo-Pass-2026"
DEMO_PIN = "246810"
#: real seconds of slack on every derived deadline, for a loaded machine
SLACK_S = 10


# --------------------------------------------------------------------- options
@dataclass(frozen=True)
class LabSettings:
    time_scale: float
    heartbeat_interval_s: int
    missed_heartbeats: int
    topology: str = "loopback"
    modes: str = "ipics"


_SETTINGS = pytest.StashKey[LabSettings]()
#: the session's zygote, and the launcher it replaced as the default
_ZYGOTE = pytest.StashKey[tuple["ZygoteLauncher", "Launcher"]]()


def check_time_scale(value: float) -> float:
    from ipics_server.clock import (
        check_time_scale as servers_rule,  # not at import: no server code
    )

    return servers_rule(value)


def parse_time_scale(text: str) -> float:
    """A time scale from the command line or the ini file: real seconds per emulated second."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    try:
        return check_time_scale(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini option {name} = {text!r} is not a whole number") from None
    if not low <= value <= high:  # the chapter's ranges; the server would refuse the settings later
        raise pytest.UsageError(f"ini option {name} = {value} is outside {low}-{high}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipics_lab", "IPICS HA Lab (the ipics_* fixtures)")
    group.addoption(
        "--ipics-time-scale",
        type=parse_time_scale,
        default=None,
        metavar="S",
        help="real seconds per emulated second for the lab's pair "
        f"(default: ini ipics_time_scale, else {DEFAULT_TIME_SCALE})",
    )
    group.addoption(
        "--ipics-topology",
        choices=TOPOLOGIES,
        default=None,
        help="where the lab's pair runs: loopback (default) or sites (as root: each server in a "
        "network namespace of its own, faults made by the kernel; ini ipics_topology)",
    )
    parser.addini("ipics_topology", "the lab pair's topology: loopback or sites", default="loopback")
    group.addoption(
        "--ipics-modes",
        default=None,
        metavar="MODES",
        help="the lab pair's modes beyond IPICS: ipics (default), synchronous-strict, synchronous-fallback, "
        "witness, or several joined by + (ini ipics_modes)",
    )
    parser.addini(
        "ipics_modes", "the lab pair's modes: ipics, witness, synchronous-strict ... joined by +", default="ipics"
    )
    parser.addini(
        "ipics_time_scale",
        "the lab pair's time scale (real seconds per emulated second)",
        default=str(DEFAULT_TIME_SCALE),
    )
    parser.addini(
        "ipics_heartbeat_interval",
        "ipics_pair's heartbeat interval, emulated seconds (5-600)",
        default=str(DEFAULT_HEARTBEAT_INTERVAL_S),
    )
    parser.addini(
        "ipics_missed_heartbeats", "ipics_pair's missed heartbeat count (5-30)", default=str(DEFAULT_MISSED_HEARTBEATS)
    )
    parser.addini(
        "ipics_zygote",
        "fork the lab's servers from a process that imported them once (false: a fresh interpreter per server)",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    scale = config.getoption("ipics_time_scale")
    if scale is None:
        try:
            scale = parse_time_scale(config.getini("ipics_time_scale"))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"ini option ipics_time_scale: {exc}") from None
    config.stash[_SETTINGS] = LabSettings(
        time_scale=scale,
        heartbeat_interval_s=_whole("ipics_heartbeat_interval", config.getini("ipics_heartbeat_interval"), 5, 600),
        missed_heartbeats=_whole("ipics_missed_heartbeats", config.getini("ipics_missed_heartbeats"), 5, 30),
        topology=_topology(config),
        modes=_modes(config),
    )
    if config.getini("ipics_zygote"):
        from ipics_lab import launcher

        zygote = launcher.ZygoteLauncher()
        config.stash[_ZYGOTE] = (zygote, launcher.use(zygote))


def pytest_collection_finish(session: pytest.Session) -> None:
    # The zygote imports the servers while the first tests set up, if any test will
    # start one; a fast-tier run starts no process at all.
    started = session.config.stash.get(_ZYGOTE, None)
    if (
        started
        and not session.config.option.collectonly
        and any(item.get_closest_marker("pair") for item in session.items)
    ):
        started[0].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(_ZYGOTE, None)
    if started:
        from ipics_lab import launcher

        zygote, previous = started
        launcher.use(previous)
        zygote.close()
        del config.stash[_ZYGOTE]


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings):
    """With pytest-timeout's signal method: on a timeout, the stacks of the event loop's
    tasks too.  The main thread of a hung async test only shows the loop waiting; its
    tasks show what they wait for."""
    result = yield
    import signal

    timed_out = signal.getsignal(signal.SIGALRM)
    if callable(timed_out):

        def with_tasks(signum, frame):
            __tracebackhide__ = True
            item.config.get_terminal_writer().write(_running_tasks())
            timed_out(signum, frame)

        signal.signal(signal.SIGALRM, with_tasks)
    return result


def _running_tasks() -> str:
    import asyncio
    import io

    loop = asyncio._get_running_loop()  # the main thread's, while a test runs it
    if loop is None:
        return ""
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        out.write(f"\n---- task {task.get_name()} ----\n")
        task.print_stack(file=out)
    return out.getvalue()


def _modes(config: pytest.Config) -> str:
    from ipics_lab.modes import LabModes, ModesError

    spec = config.getoption("ipics_modes") or config.getini("ipics_modes")
    try:
        return LabModes.parse(spec).name
    except ModesError as exc:
        raise pytest.UsageError(f"ipics_modes: {exc}") from None


def _topology(config: pytest.Config) -> str:
    topology = config.getoption("ipics_topology") or config.getini("ipics_topology")
    if topology not in TOPOLOGIES:
        raise pytest.UsageError(f"ini option ipics_topology: loopback or sites, not {topology!r}")
    return topology


def _settings(config: pytest.Config) -> LabSettings:
    return config.stash[_SETTINGS]


# -------------------------------------------------------------------- the pair
@dataclass(frozen=True)
class ServerAddress:
    name: str  # "primary" or "secondary"
    url: str  # the client API, http://host:port
    host: str  # its own loopback address
    port: int
    ssh_port: int | None  # the server shell (ipics-lab shell); None if it runs without SSH


@dataclass(frozen=True)
class PairAddresses:
    primary: ServerAddress
    secondary: ServerAddress
    heartbeat_port: int  # the same port on both hosts, as on two real servers

    @property
    def urls(self) -> list[str]:
        return [self.primary.url, self.secondary.url]

    def server(self, name: str) -> ServerAddress:
        if name not in ("primary", "secondary"):
            raise ValueError(f"no server {name!r}: primary or secondary")
        return getattr(self, name)


def pair_addresses(pair: LabPair) -> PairAddresses:
    def one(s: ServerProcess) -> ServerAddress:
        if s.port is None:
            raise RuntimeError(f"the {s.name} server is not started: it has no address yet")
        return ServerAddress(s.name, s.url, s.host, s.port, s.ssh_port)

    return PairAddresses(one(pair.primary), one(pair.secondary), pair.primary.heartbeat_port)


async def active_server(pair: LabPair, timeout_s: float = SLACK_S) -> ServerProcess:
    """The server that reports itself active (the first of two in a split brain)."""
    from ipics_lab.supervisor import wait_until
    from ipics_server.adapters.httpclient import Unreachable

    async def find():
        for server in pair.servers:
            try:
                if (await pair.status(server)).get("role") == "active":
                    return server
            except Unreachable:
                continue
        return None

    return await wait_until(find, timeout_s, "a server of the pair to be active")


def takeover_deadline_s(
    time_scale: float,
    heartbeat_interval_s: int = DEFAULT_HEARTBEAT_INTERVAL_S,
    missed_heartbeats: int = DEFAULT_MISSED_HEARTBEATS,
) -> float:
    """Real seconds a whole failover may take: the missed-heartbeat window plus the
    longest takeover (a crashed tomcat's, 300 emulated s), scaled, plus slack."""
    from ipics_server.core.roles import TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S

    longest = max(TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S)
    return (heartbeat_interval_s * missed_heartbeats + longest) * time_scale + SLACK_S


@pytest.fixture
def ipics_time_scale(request: pytest.FixtureRequest) -> float:
    """Real seconds per emulated second for the lab: ``--ipics-time-scale``, else the
    ini option ``ipics_time_scale``, else 0.01.  A test module may override this fixture
    (``@pytest.fixture def ipics_time_scale(): return 0.02``)."""
    return _settings(request.config).time_scale


@pytest.fixture
def ipics_takeover_deadline_s(ipics_time_scale: float, request: pytest.FixtureRequest) -> float:
    """Real seconds to wait for a failover at this lab's settings: the missed-heartbeat
    window plus the longest takeover (300 emulated s), scaled, plus 10 s of slack."""
    s = _settings(request.config)
    return takeover_deadline_s(ipics_time_scale, s.heartbeat_interval_s, s.missed_heartbeats)


@pytest.fixture
def ipics_topology(request: pytest.FixtureRequest) -> str:
    """Where ``ipics_lab`` runs the pair: ``--ipics-topology``, else the ini option
    ``ipics_topology``, else "loopback".  "sites" (as root) puts each server in a network
    namespace of its own (``ipics_lab.sites``): ``ipics_faults.cut_link`` is then made
    by the kernel, and ``packet_loss`` and ``isolate_clients`` work.  A module may
    override this fixture (``@pytest.fixture def ipics_topology(): return "sites"``);
    without root such a test is skipped with the reason."""
    return _settings(request.config).topology


@pytest.fixture
def ipics_modes(request: pytest.FixtureRequest) -> str:
    """The pair's modes beyond IPICS (``ipics_lab.modes``): ``--ipics-modes``, else the ini
    option ``ipics_modes``, else "ipics".  A module may override this fixture (``return
    "witness+synchronous-strict"``); with a witness, ``ipics_lab.witness`` is its process."""
    return _settings(request.config).modes


@pytest.fixture
def ipics_lab(tmp_path, ipics_time_scale: float, ipics_topology: str, ipics_modes: str):
    """An unstarted ``LabPair`` (ipics_lab.supervisor) in the test's ``tmp_path``
    at ``ipics_time_scale``, in ``ipics_topology``: call ``await ipics_lab.up(...)`` or
    its steps yourself.  Stopped after the test; a server that does not stop is killed;
    the sites' namespaces are removed."""
    from ipics_lab.supervisor import LabPair

    try:
        check_time_scale(ipics_time_scale)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"ipics_time_scale: {exc}", pytrace=False)
    sites = _sites(ipics_topology)
    try:
        from ipics_lab.modes import LabModes, ModesError

        try:
            modes = LabModes.parse(ipics_modes)
        except ModesError as exc:
            pytest.fail(f"ipics_modes: {exc}", pytrace=False)
        pair = LabPair(tmp_path, time_scale=ipics_time_scale, sites=sites, modes=modes)
        try:
            yield pair
        finally:
            pair.stop()  # SIGTERM, then kill -9 after 10 s
            for server in pair.servers:
                server.kill()  # a no-op unless it is still running
    finally:
        if sites is not None:
            sites.remove()


def _sites(topology: str):
    if topology not in TOPOLOGIES:
        pytest.fail(f"ipics_topology: loopback or sites, not {topology!r}", pytrace=False)
    if topology == "loopback":
        return None
    from ipics_lab.sites import Sites, why_not_here

    reason = why_not_here()
    if reason:
        pytest.skip(reason)
    return Sites.create_sync()


@async_fixture
async def ipics_pair(ipics_lab: LabPair, request: pytest.FixtureRequest) -> LabPair:
    """``ipics_lab`` started as ``ipics-lab up`` does without demo data: licenses, NTP,
    trust, HA configured (heartbeat interval and missed count from the ini options
    ``ipics_heartbeat_interval``, 5 s, and ``ipics_missed_heartbeats``, 5), the primary
    active and the standby Ready."""
    s = _settings(request.config)
    await ipics_lab.up(interval_s=s.heartbeat_interval_s, missed_count=s.missed_heartbeats)
    return ipics_lab


@async_fixture
async def ipics_demo(ipics_pair: LabPair) -> SimpleNamespace:
    """``ipics_pair`` with the demo data (ipics_lab.seed): Dan, Adam, Ursula, Amy
    and Fred (password ``.password``; Dial Login user IDs 1001-1005 in ``.dial_ids``,
    PIN ``.pin``), channels Fire, Police, EMS, Public Works, two VTGs, an incident with a
    photo.  ``.pair`` is the pair, ``.seeded`` the ids ``seed_demo_data`` returned.
    Replicated to the standby before the test starts."""
    from ipics_lab.seed import DEMO_DIAL_IDS, seed_demo_data

    async with await ipics_pair.admin(ipics_pair.primary) as admin:
        seeded = await seed_demo_data(admin, DEMO_PASSWORD, DEMO_PIN)
    await ipics_pair.wait_ready()
    return SimpleNamespace(
        pair=ipics_pair, seeded=seeded, password=DEMO_PASSWORD, pin=DEMO_PIN, dial_ids=dict(DEMO_DIAL_IDS)
    )


@pytest.fixture
def ipics_addresses(ipics_pair: LabPair) -> PairAddresses:
    """Where the started pair listens: ``.primary`` and ``.secondary`` (``url``, ``host``,
    ``port``, ``ssh_port``), ``.heartbeat_port``, ``.urls``.  They stay valid across a
    power off and on (a server comes back on the same ports)."""
    return pair_addresses(ipics_pair)


@async_fixture
async def ipics_admin(ipics_pair: LabPair):
    """An ``ApiClient`` logged in as ipicsadmin on the active server (the primary, unless
    the test changed the pair first); closed after the test.  Its ``.token`` also works
    on the partner once replicated (sessions replicate)."""
    client = await ipics_pair.admin(await active_server(ipics_pair))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def ipics_faults(ipics_pair: LabPair):
    """``ipics_lab.trainer.actions.Actions`` on the pair: faults (``power_off``,
    ``power_on``, ``crash_tomcat``, ``cut_link``, ``heal_link``, ``skew_clock``,
    ``fill_txlog``; in the sites topology also ``packet_loss``, ``isolate_clients`` and
    ``heal_network``) and the administrator's actions (``failover_now``, ``go_standby``,
    ``repair``, ``rsync``, ``unconfigure``, ``configure``), each awaited, each returning
    a sentence or raising ``ActionRefused`` with the reason."""
    from ipics_lab.trainer.actions import Actions

    return Actions(ipics_pair)
