"""The trainer panel attached to a pair it did not start: ``ipics-lab up`` runs in its own
process, the panel attaches by its lab file, shows the pair, greys out what needs the
servers' processes with the reason, makes a fault through the server's lab API and
Failover Now, and closing it leaves every server running."""

from __future__ import annotations

import asyncio
import json
import signal

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

from ..commands import start_lab
from ..lab.test_up import _alive
from .conftest import DEADLINE_S

# ipics-lab up in its own process
pytestmark = pytest.mark.pair


async def test_a_panel_attached_by_lab_file_faults_and_fails_over_and_closing_it_stops_nothing(tmp_path, qapp):
    from ipics_desktop.trainer.panel import TrainerPanel
    from ipics_lab.trainer.actions import Actions
    from ipics_lab.trainer.attached import AttachedLab, WrongPassword
    from ipics_lab.trainer.monitor import Monitor

    up = await start_lab(tmp_path / "lab")
    monitor = panel = None
    try:
        info = json.loads(await asyncio.wait_for(up.stdout.readline(), 90))
        lab = AttachedLab.from_lab_file(tmp_path / "lab")  # the folder: its lab.json
        with pytest.raises(WrongPassword, match="refused the administrator's password"):
            await lab.attach("not-" + info["admin"]["password"])
        await lab.attach(info["admin"]["password"])
        monitor = Monitor(lab.pair, lab.timeline, lab.clock, period_s=0.05)
        monitor.start()
        panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
        panel.show()
        primary, secondary = panel.cards["primary"], panel.cards["secondary"]
        await wait_until(
            lambda: primary.role_label.text() == "ACTIVE" and secondary.role_label.text() == "STANDBY",
            DEADLINE_S,
            "the attached pair on the panel",
        )
        assert info["primary"]["url"] in primary.url_label.text()
        assert info["secondary"]["url"] in secondary.url_label.text()
        assert panel.lab_attached.isVisible() and str(tmp_path / "lab" / "lab.json") in panel.lab_attached.text()
        assert "closing this panel stops nothing" in panel.lab_attached.text()
        assert panel.lab_topology.text() == "Topology: loopback"
        assert "+0 s vs the lab clock" in primary.clock.text()  # the owner's reference clock, from its lab file

        # What needs the process is greyed out, and the panel says why.
        for name, card in panel.cards.items():
            assert not card.power_off.isEnabled() and not card.power_on.isEnabled()
            reason = f"this lab did not start the {name}: it cannot power it off"
            assert card.power_off.toolTip().startswith(reason)
            assert card.faults_unavailable.isVisible() and reason in card.faults_unavailable.text()
        assert not panel.time_scale.isEnabled() and "sets their time scale" in panel.time_scale.toolTip()
        assert not panel.device_open.isEnabled() and not panel.scenario_run.isEnabled()
        assert not panel.network_box.packet_loss.isEnabled()  # loopback: no kernel faults

        # A fault through the server's lab API: the link cut one way, then healed.
        secondary.cut_outbound.click()
        await wait_until(lambda: "Peer link: CUT outbound" in secondary.text(), DEADLINE_S, "the cut shown")
        async with ApiClient(info["secondary"]["url"]) as c:
            assert (await c.get("/api/v1/ha/status")).body["peer_link"]["cut_outbound"] is True
        await wait_until(secondary.heal_link.isEnabled, DEADLINE_S, "Heal link")
        secondary.heal_link.click()
        await wait_until(lambda: "Peer link: up" in secondary.text(), DEADLINE_S, "the link healed")
        assert secondary.fault_result.text() == "secondary: link healed"

        # The administrator's action, as on a lab the panel started.
        await wait_until(
            lambda: "Standby Server Status: Ready" in primary.subline.text(), DEADLINE_S, "the standby Ready again"
        )
        panel.action_buttons["failover_now"].click()
        await wait_until(lambda: panel.action_running is None, DEADLINE_S * 3, "Failover Now to end")
        assert panel.action_message.text() == "Failover Now: secondary is active; primary is standby"
        async with ApiClient(info["secondary"]["url"]) as c:
            assert (await c.get("/api/v1/ha/status")).body["role"] == "active"

        # Closing the attached panel stops nothing it did not start.
        panel.close()
        await wait_until(lambda: len(panel.tasks) == 0, 5, "the panel's tasks to end")
        await monitor.stop()
        monitor = None
        lab.stop()
        assert all(_alive(info[name]["pid"]) for name in ("primary", "secondary")) and _alive(info["media"]["pid"])
        for name in ("primary", "secondary"):
            async with ApiClient(info[name]["url"]) as c:
                assert (await c.get("/api/v1/ha/status")).ok
        assert (tmp_path / "lab" / "lab.json").exists() and up.returncode is None
    finally:
        if monitor is not None:
            await monitor.stop()
        if panel is not None:
            panel.close()
            panel.deleteLater()
        if up.returncode is None:
            up.send_signal(signal.SIGTERM)
        await asyncio.wait_for(up.wait(), 30)
