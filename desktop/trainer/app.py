"""``ipics-lab`` with no arguments: the trainer's lab in one command.

It starts the media router and the HA pair on loopback (free ports, per-user data, a
lock so two labs never share a folder), seeds the demo users, then opens the trainer
panel, one IDC console and one IP phone in this process.  Closing the trainer panel
(or Ctrl-C, or SIGTERM) stops everything it started: the windows' sessions, the
monitor, the servers and the router.

``--attach LAB_DIR_OR_LAB_JSON`` / ``--attach-servers URL1,URL2`` open the panel on a
pair this process did not start instead (``attach.AttachApp``): it starts and stops
nothing but the panel and its monitor.  ``panel_app.PanelApp`` is the panel's life common to both.
"""

from __future__ import annotations

import argparse
import fcntl
from pathlib import Path
from typing import IO

from ipics_lab import sites
from ipics_lab.modes import LabModes, add_modes_option

from .panel_app import PanelApp

#: the IDC and the phone the lab opens at start: Dan, the chapter's dispatcher
FIRST_DEVICES = (("console", "dan"), ("phone", "dan"))


def add_trainer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per emulated second (1 = real time; 0.1 = ten times faster); "
        "the panel changes it while the lab runs",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the lab's folder (default: the per-user lab folder, as for `ipics-lab up`)",
    )
    parser.add_argument("--no-devices", action="store_true", help="open only the trainer panel")
    sites.add_topology_option(parser)
    add_modes_option(parser)
    attach = parser.add_mutually_exclusive_group()
    attach.add_argument(
        "--attach",
        metavar="LAB_DIR_OR_LAB_JSON",
        default=None,
        help="open the trainer panel on a lab another command started (its lab.json, or the folder "
        "holding it): starts and stops nothing; the admin password from IPICS_ADMIN_PASSWORD, else asked",
    )
    attach.add_argument(
        "--attach-servers",
        metavar="URL1,URL2",
        default=None,
        help="open the trainer panel on two running servers (the primary's and the secondary's "
        "address): starts and stops nothing; the admin password from IPICS_ADMIN_PASSWORD, else asked",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        help="with --attach-servers: the CA certificate the servers' HTTPS is trusted by (off loopback; "
        "--attach takes the lab's from its lab.json)",
    )


#: what ``ipics-lab`` says without a display: the lab runs without one too
NO_DISPLAY = (
    "ipics-lab: no display, so no trainer panel. On a machine without a desktop:\n"
    "  ipics-lab up --headless             the HA pair, the media router and the demo users\n"
    "  ipics-lab scenario run earthquake   a scenario, with its report (ipics-lab scenario list)\n"
    "  xvfb-run -a ipics-lab               the trainer panel on a virtual display\n"
    "  QT_QPA_PLATFORM=offscreen ipics-lab the whole lab with no window at all"
)


def run(ns: argparse.Namespace) -> int:
    """The desktop's one start-up (``ipics_desktop.shared.startup``): SIGINT and SIGTERM
    stop the lab as closing the panel does."""
    from ipics_desktop.shared.startup import run_window

    if ns.attach is not None or ns.attach_servers is not None:
        return run_window(
            "ipics-lab",
            "IPICS HA Lab",
            lambda: _prepare_attach(ns),
            lambda lab, running: _main_attached(lab, running),
            no_display=NO_DISPLAY,
        )
    return run_window(
        "ipics-lab",
        "IPICS HA Lab",
        lambda: _prepare(ns),
        lambda locked, running: _main(ns, *locked, running),
        no_display=NO_DISPLAY,
    )


def _prepare(ns: argparse.Namespace) -> tuple[Path, IO]:
    """The lab's folder, locked for this run (two labs never share one)."""
    from ipics_desktop.shared.startup import StartupError
    from ipics_lab.cli import default_lab_dir
    from ipics_server.clock import check_time_scale
    from ipics_server.logsetup import setup_logging

    try:
        check_time_scale(ns.time_scale)
    except ValueError as exc:
        raise StartupError(f"--time-scale: {exc}") from None
    refusal = sites.topology_refusal(ns)
    if refusal:
        raise StartupError(f"--topology sites: {refusal}")
    root = (ns.data_dir or default_lab_dir()).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = open(root / "lab.lock", "w")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StartupError(
            f"another lab is running with the data directory {root}; stop it or pass --data-dir"
        ) from None
    setup_logging("lab")
    return root, lock


def _prepare_attach(ns: argparse.Namespace):
    """The pair to attach to, read and checked before any window opens."""
    from ipics_desktop.shared.startup import StartupError
    from ipics_lab.trainer.attached import AttachedLab, AttachRefused
    from ipics_server.adapters.httpclient import trust_ca_file
    from ipics_server.logsetup import setup_logging

    started_here = [
        f"--{o}" for o in ("topology", "data-dir") if getattr(ns, o.replace("-", "_")) not in (None, "loopback")
    ]
    if ns.time_scale != 1.0:
        started_here.append("--time-scale")
    if ns.modes.name != "ipics":
        started_here.append("--modes")
    if started_here:
        raise StartupError(
            f"{', '.join(started_here)}: the attached lab has its own (the lab that started it sets them)"
        )
    if ns.ca_file is not None:
        try:
            trust_ca_file(ns.ca_file)
        except ValueError as exc:
            raise StartupError(f"--ca-file: {exc}") from None
    try:
        if ns.attach is not None:
            lab = AttachedLab.from_lab_file(Path(ns.attach))
        else:
            lab = AttachedLab.from_addresses([a for a in ns.attach_servers.split(",") if a.strip()])
    except AttachRefused as exc:
        raise StartupError(f"--attach: {exc}") from None
    setup_logging("lab")
    return lab


async def _main_attached(lab, running) -> int:
    from .attach import AttachApp

    app = AttachApp(lab)
    running.on_stop(app.request_stop)
    return await app.run()


async def _main(ns: argparse.Namespace, root: Path, lock: IO, running) -> int:
    try:
        trainer = TrainerApp(root, ns.time_scale, open_devices=not ns.no_devices, topology=ns.topology, modes=ns.modes)
        running.on_stop(trainer.request_stop)
        return await trainer.run()
    finally:
        lock.close()


class TrainerApp(PanelApp):
    """The lab, the panel and the devices, started and stopped together."""

    def __init__(
        self,
        root: Path,
        time_scale: float,
        *,
        open_devices: bool = True,
        topology: str = "loopback",
        modes: LabModes | None = None,
    ):
        from ipics_lab.trainer.lab import TrainerLab

        super().__init__()
        self.lab: TrainerLab = TrainerLab(root, time_scale=time_scale, topology=topology, modes=modes)
        self.open_devices = open_devices

    async def start(self) -> None:
        from ipics_desktop.trainer.devices import DeviceLauncher
        from ipics_desktop.trainer.panel import TrainerPanel
        from ipics_lab.trainer.actions import Actions
        from ipics_lab.trainer.monitor import Monitor

        self._splash_text("Starting the media router and both servers...")
        await self.lab.start()
        pair = self.lab.pair
        assert pair is not None  # the lab's start made it
        print(self.banner(), flush=True)
        self.lab.timeline.subscribe(self._log_event)
        # the lab records its run from its start (<root>/recordings/: Export report, replay);
        # the panel shares its monitor: one poller, no event twice
        self.monitor = self.lab.monitor or Monitor(pair, self.lab.timeline, self.lab.clock)
        self.monitor.start()
        self.launcher = DeviceLauncher(self.lab, self.lab.root / "profiles")
        self.panel = TrainerPanel(self.lab, Actions(pair, self.lab.timeline), self.monitor, self.launcher)
        self.panel.closed.connect(self.request_stop)
        self._close_splash()
        self.panel.show()
        if self.open_devices:
            for kind, user in FIRST_DEVICES:
                self.launcher.open(kind, user)

    async def shutdown(self) -> None:
        try:
            await self.lab.stop_recording()  # the file whole before the processes go
        finally:
            await super().shutdown()

    def banner(self) -> str:
        from ipics_lab.cli import default_lab_dir as default_lab_root
        from ipics_lab.where import modes_lines

        s = self.lab.summary
        return (
            f"IPICS HA Lab trainer is up ({self.lab.root}).\n"
            f"  primary   {s['primary']['url']} (active)\n"
            f"  secondary {s['secondary']['url']} (standby, Ready)\n"
            f"  admin     ipicsadmin / {s['admin']['password']} (also for ipics-lab shell primary|secondary"
            f"{'' if self.lab.root == default_lab_root() else ' --lab-dir ' + str(self.lab.root)})\n"
            f"  web       {s['primary']['url']}/admin, {s['secondary']['url']}/admin (Administration Console)\n"
            f"  demo users dan, adam, ursula, amy, fred / {s['users']['password']}; "
            f"phone user IDs 1001-1005, PIN {self.lab.pin}\n"
            f"{modes_lines(s)}"
            f"Close the trainer panel to stop the lab."
        )
