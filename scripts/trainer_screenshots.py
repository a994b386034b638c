"""Render the trainer panel into PNGs in docs/screenshots/ (run under Xvfb for real fonts):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/trainer_screenshots.py [--out DIR]

It starts a real trainer lab (media router, HA pair, demo data) in a temporary folder
at a small time scale and opens the trainer panel: ``trainer-normal.png`` once both
servers have exchanged heartbeats a while; ``trainer-failover.png`` after Power off on
the primary, while the secondary takes over (its progress bar part way);
``trainer-split-brain.png`` after the link is cut and healed (the banner);
``trainer-timeline.png``, the run's timeline exported as PNG; and, after the first,
``trainer-attached.png``, a second panel attached to that lab by its lab file
(``ipics-lab --attach``): power off and on greyed out with the reason.  With
``--topology sites`` (as root) it makes ``trainer-sites.png`` only: the sites' addresses
and 30 % packet loss between the servers, made by the kernel.  With ``--modes
witness+synchronous-strict`` it makes ``trainer-modes.png`` only: the pair in those
modes after Power off on the primary, the secondary active with the witness's vote and
refusing writes without a standby.  With ``--compare`` it makes ``trainer-compare.png``
only: Compare modes clicked on the panel, the side-by-side window once both modes' runs
ended.  With ``--gameday`` it makes ``trainer-gameday.png`` only: the Game day tab, a
30-minute day under way after its first fault.  Everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ipics_desktop.shared.style import STYLE_SHEET
from ipics_desktop.trainer.panel import TrainerPanel
from ipics_lab.modes import LabModes
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.actions import Actions
from ipics_lab.trainer.attached import AttachedLab
from ipics_lab.trainer.lab import TrainerLab
from ipics_lab.trainer.monitor import Monitor

#: "60x faster" on the panel: a takeover (150-180 emulated seconds) lasts a few real seconds
TIME_SCALE = 1 / 60


async def grab(panel: TrainerPanel, path: Path) -> None:
    await asyncio.sleep(0.3)  # let the loop paint (never processEvents() inside a task: qasync re-enters it)
    panel.grab().save(str(path))
    print(f"wrote {path}")


async def main(out: Path, topology: str, modes: LabModes, compare: bool = False, gameday: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trainer-shots-") as tmp:
        lab = TrainerLab(
            Path(tmp) / "lab", time_scale=TIME_SCALE, interval_s=5, missed_count=5, topology=topology, modes=modes
        )
        monitor: Monitor | None = None
        try:
            await lab.start()
            monitor = Monitor(lab.pair, lab.timeline, lab.clock, period_s=0.1)
            monitor.start()
            if compare:
                await shoot_compare(lab, monitor, out)
            elif gameday:
                await shoot_gameday(lab, monitor, out)
            elif topology == "sites":
                await shoot_sites(lab, monitor, out)
            elif modes.name != "ipics":
                await shoot_modes(lab, monitor, out)
            else:
                await shoot(lab, monitor, out)
        finally:
            if monitor is not None:
                await monitor.stop()
            lab.stop()


async def shoot(lab: TrainerLab, monitor: Monitor, out: Path) -> None:
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
    try:
        panel.show()
        await wait_until(
            lambda: panel.cards["secondary"].view is not None and panel.cards["secondary"].view.heartbeats_sent >= 16,
            30,
            "a minute of heartbeats",
        )
        await grab(panel, out / "trainer-normal.png")
        await shoot_attached(lab, out)

        panel.cards["primary"].power_off.click()
        secondary = panel.cards["secondary"]
        await wait_until(
            lambda: secondary.transition_bar.isVisible() and secondary.transition_bar.value() > 250,
            60,
            "the secondary part way through its takeover",
        )
        await grab(panel, out / "trainer-failover.png")
        await wait_until(lambda: secondary.role_label.text() == "ACTIVE", 60, "the secondary active")

        panel.cards["primary"].power_on.click()
        await wait_until(
            lambda: (
                panel.cards["primary"].role_label.text() == "STANDBY"
                and secondary.view.standby_server_status == "Ready"
            ),
            60,
            "the primary back as standby",
        )
        panel.cards["secondary"].cut_both.click()
        await wait_until(lambda: panel.cards["primary"].role_label.text() == "ACTIVE", 60, "both active")
        await wait_until(lambda: panel.cards["secondary"].heal_link.isEnabled(), 30, "the cut done")
        panel.cards["secondary"].heal_link.click()
        await wait_until(lambda: panel.split_banner.isVisible(), 60, "the split brain banner")
        await grab(panel, out / "trainer-split-brain.png")
        path = panel.export_png(out / "trainer-timeline.png")
        print(f"wrote {path}")
    finally:
        await close(panel)


async def shoot_sites(lab: TrainerLab, monitor: Monitor, out: Path) -> None:
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
    try:
        panel.show()
        await wait_until(lambda: panel.cards["secondary"].view is not None, 30, "both servers")
        network = panel.network_box
        network.loss_percent.setValue(30)
        network.packet_loss.click()
        await wait_until(lambda: network.result.property("kind") == "ok", 30, "the packet loss made")
        await wait_until(lambda: panel.cards["secondary"].view.heartbeats_sent >= 16, 30, "a minute of heartbeats")
        await grab(panel, out / "trainer-sites.png")
    finally:
        await close(panel)


async def shoot_modes(lab: TrainerLab, monitor: Monitor, out: Path) -> None:
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
    try:
        panel.show()
        await wait_until(lambda: panel.cards["secondary"].view is not None, 30, "both servers")
        await wait_until(lambda: panel.cards["secondary"].view.heartbeats_sent >= 8, 30, "heartbeats a while")
        panel.cards["primary"].power_off.click()
        secondary = panel.cards["secondary"]
        await wait_until(lambda: secondary.role_label.text() == "ACTIVE", 60, "the secondary active")
        await wait_until(
            lambda: secondary.synchronous.text().startswith("refusing"), 30, "the secondary refusing writes"
        )
        await grab(panel, out / "trainer-modes.png")
    finally:
        await close(panel)


async def shoot_attached(lab: TrainerLab, out: Path) -> None:
    """A second panel on the same lab, attached by its lab file: it holds no process."""
    attached = AttachedLab.from_lab_file(lab.root)
    assert lab.pair is not None
    await attached.attach(lab.pair.admin_password)
    monitor = attached.make_monitor(period_s=0.1)
    monitor.start()
    panel = TrainerPanel(attached, Actions(attached.pair, attached.timeline), monitor, None)
    try:
        panel.show()
        await wait_until(
            lambda: all(c.view is not None and c.view.reachable for c in panel.cards.values()), 30, "both servers"
        )
        await grab(panel, out / "trainer-attached.png")
    finally:
        await close(panel)
        await monitor.stop()


async def shoot_compare(lab: TrainerLab, monitor: Monitor, out: Path) -> None:
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor)
    panel.show()
    try:
        panel.scenario_pane.scenario_compare.click()
        view = panel.scenario_pane.compare_view
        assert view is not None
        # two labs start, then about 16 emulated minutes at the panel's speed
        await wait_until(lambda: panel.scenario_run.isEnabled(), 240, "the comparison to end")
        view.resize(1500, 950)
        await asyncio.sleep(0.3)  # let the loop paint
        view.grab().save(str(out / "trainer-compare.png"))
        print(f"wrote {out / 'trainer-compare.png'}: {view.status.text()}")
    finally:
        await close(panel)


async def shoot_gameday(lab: TrainerLab, monitor: Monitor, out: Path) -> None:
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
    try:
        panel.show()
        pane = panel.gameday_pane
        panel.training_tabs.setCurrentWidget(pane)
        pane.seed.setValue(36)
        pane.duration.setCurrentText("30min")
        pane.start.click()
        await wait_until(
            lambda: any(e.kind == "fault" and e.text.startswith("game day fault") for e in lab.timeline.events),
            60,
            "the day's first fault",
        )
        await grab(panel, out / "trainer-gameday.png")
        pane.end.click()
        await wait_until(lambda: pane.start.isEnabled(), 60, "the day's end")
    finally:
        await close(panel)


async def close(panel: TrainerPanel) -> None:
    panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    panel.close()
    await wait_until(lambda: len(panel.tasks) == 0, 10, "the panel's tasks to end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshots")
    parser.add_argument("--topology", choices=("loopback", "sites"), default="loopback")
    parser.add_argument("--modes", type=LabModes.parse, default=LabModes())
    parser.add_argument("--compare", action="store_true", help="trainer-compare.png only: Compare modes")
    parser.add_argument("--gameday", action="store_true", help="trainer-gameday.png only: a game day under way")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.out, args.topology, args.modes, args.compare, args.gameday))
