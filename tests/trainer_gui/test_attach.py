"""The trainer panel attached to a pair it did not start: ``ipics-lab up`` runs in its own
process, the panel attaches by its lab file, shows the pair, greys out what needs the
servers' processes with the reason, makes a fault through the server's lab API and
Failover Now, and closing it leaves every server running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time

import pytest

from ipics_lab.sites import why_not_here
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

from ..commands import finish, start_ipics_lab, start_lab
from ..lab.test_up import _alive
from ..sites.test_kernel_faults import connect_outcome
from .conftest import DEADLINE_S
from .test_accessibility import SCREEN_HEIGHT

# ipics-lab up in its own process
pytestmark = pytest.mark.pair


@contextlib.asynccontextmanager
async def lab_up(tmp_path, *args: str):
    """``ipics-lab up --headless --json`` in its own process: its contract line; SIGTERM at the end."""
    up = await start_lab(tmp_path / "lab", *args)
    try:
        yield json.loads(await asyncio.wait_for(up.stdout.readline(), 90))
        assert up.returncode is None  # still running: nothing here stopped it
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGTERM)
        await asyncio.wait_for(up.wait(), 60)


@contextlib.asynccontextmanager
async def attached_panel(lab):
    """The trainer panel on an attached lab, showing the primary active and the secondary
    standby; closed at the end, its tasks ended, its monitor stopped."""
    from ipics_desktop.trainer.panel import TrainerPanel
    from ipics_lab.trainer.actions import Actions

    monitor = lab.make_monitor(period_s=0.05)
    monitor.start()
    panel = TrainerPanel(lab, Actions(lab.pair, lab.timeline), monitor, None)
    try:
        panel.show()
        await wait_until(
            lambda: [panel.cards[n].role_label.text() for n in ("primary", "secondary")] == ["ACTIVE", "STANDBY"],
            DEADLINE_S,
            "the attached pair on the panel",
        )
        yield panel
    finally:
        panel.close()
        await wait_until(lambda: len(panel.tasks) == 0, 5, "the panel's tasks to end")
        await monitor.stop()
        panel.deleteLater()
        lab.stop()


async def test_a_panel_attached_by_lab_file_faults_and_fails_over_and_closing_it_stops_nothing(
    tmp_path, qapp, monkeypatch
):
    from ipics_lab.trainer.attached import AttachedLab, WrongPassword

    async with lab_up(tmp_path) as info:
        await _the_command_attaches_by_address_and_stops_nothing(info, tmp_path)
        lab = AttachedLab.from_lab_file(tmp_path / "lab")  # the folder: its lab.json
        with pytest.raises(WrongPassword, match="refused the administrator's password"):
            await lab.attach("not-" + info["admin"]["password"])
        await lab.attach(info["admin"]["password"])
        async with attached_panel(lab) as panel:
            await _shows_the_pair_faults_and_fails_over(panel, info, tmp_path)
        await _the_app_asks_the_password_and_closing_it_stops_nothing(info, tmp_path, monkeypatch)
        # Closing the attached panel stopped nothing it did not start.
        assert all(_alive(info[name]["pid"]) for name in ("primary", "secondary")) and _alive(info["media"]["pid"])
        for name in ("primary", "secondary"):
            async with ApiClient(info[name]["url"]) as c:
                assert (await c.get("/api/v1/ha/status")).ok
        assert (tmp_path / "lab" / "lab.json").exists()


async def _shows_the_pair_faults_and_fails_over(panel, info: dict, tmp_path) -> None:
    primary, secondary = panel.cards["primary"], panel.cards["secondary"]
    assert info["primary"]["url"] in primary.url_label.text()
    assert info["secondary"]["url"] in secondary.url_label.text()
    assert panel.lab_attached.isVisible() and str(tmp_path / "lab" / "lab.json") in panel.lab_attached.text()
    assert "closing this panel stops nothing" in panel.lab_attached.text()
    assert f"power off and on: ipics-lab power on|off primary|secondary --lab-dir {tmp_path / 'lab'}" in (
        panel.lab_attached.text()
    )
    assert panel.lab_topology.text() == "Topology: loopback"
    assert "+0 s vs the lab clock" in primary.clock.text()  # the owner's reference clock, from its lab file

    # What needs the process is greyed out, and the panel says why.
    for name, card in panel.cards.items():
        assert not card.power_off.isEnabled() and not card.power_on.isEnabled()
        reason = f"this lab did not start the {name}: it cannot power it off or on"
        assert card.power_off.toolTip().startswith(reason)
        assert card.faults_unavailable.isVisible() and reason in card.faults_unavailable.text()
    assert not panel.time_scale.isEnabled() and "sets their time scale" in panel.time_scale.toolTip()
    assert not panel.device_open.isEnabled() and not panel.scenario_run.isEnabled()
    assert not panel.network_box.packet_loss.isEnabled()  # loopback: no kernel faults
    assert panel.minimumSizeHint().height() <= SCREEN_HEIGHT  # the reasons too fit a 1280x800 screen

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

    # The owner changes the speed (its panel, a scenario): the attached panel's control and
    # lab clock follow the servers, and the clock offsets shown stay true.
    at = time.time() + 0.3
    for server in panel.lab.pair.servers:
        reply = await panel.lab.pair.admin_attempt(
            server, "PUT", "/api/v1/lab/time-scale", {"time_scale": 0.02, "at": at}
        )
        assert reply is not None and reply.ok, reply
    await wait_until(lambda: panel.time_scale_shown.text() == "servers: 50x faster", DEADLINE_S, "the new speed shown")
    assert panel.time_scale.currentData() == 0.02 and panel.lab.clock.time_scale == 0.02
    # The lab clock is set on the active's time at the poll after the switch; each card
    # shows its server's offset from its own next poll on.
    for card in (primary, secondary):
        await wait_until(
            lambda card=card: "+0 s vs the lab clock" in card.clock.text(),
            DEADLINE_S,
            f"no offset on {card.objectName()}",
        )


async def _the_command_attaches_by_address_and_stops_nothing(info: dict, tmp_path) -> None:
    """``ipics-lab --attach-servers`` as a trainer types it, the addresses in the wrong
    order, the password from the environment: a wrong one is said (never echoed), the
    right one opens the panel on the pair named by the servers; SIGTERM stops nothing."""
    password = info["admin"]["password"]
    urls = f"{info['secondary']['url']},{info['primary']['url']}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    wrong = await finish(
        await start_ipics_lab("--attach-servers", urls, env={**env, "IPICS_ADMIN_PASSWORD": "wrong-" + password})
    )
    assert wrong.returncode == 1, wrong.stderr
    assert "could not attach: the primary server refused the administrator's password" in wrong.stderr
    assert "IPICS_ADMIN_PASSWORD" in wrong.stderr and password not in wrong.stderr + wrong.stdout

    panel = await start_ipics_lab("--attach-servers", urls, env={**env, "IPICS_ADMIN_PASSWORD": password})
    try:
        lines = [(await asyncio.wait_for(panel.stdout.readline(), 60)).decode() for _ in range(4)]
        assert lines[0].startswith("IPICS HA Lab trainer panel attached to the servers"), lines
        assert lines[1].split() == ["primary", info["primary"]["url"]]  # named by the servers, not the order
        assert lines[2].split() == ["secondary", info["secondary"]["url"]]
    finally:
        if panel.returncode is None:
            panel.send_signal(signal.SIGTERM)
        done = await finish(panel, 30)
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    for name in ("primary", "secondary"):
        assert _alive(info[name]["pid"])
        async with ApiClient(info[name]["url"]) as c:
            assert (await c.get("/api/v1/ha/status")).body["ha"] == "configured"


@pytest.mark.xdist_group("sites")
@pytest.mark.skipif(why_not_here() is not None, reason=why_not_here() or "")
async def test_a_panel_attached_to_a_sites_lab_makes_the_kernels_faults(tmp_path, qapp):
    """As root, the lab file names the namespaces: the panel shows the sites, isolates the
    clients' site from the primary (a connect from there hangs; the servers still hear
    each other), drops packets at a rate, and heals the network."""
    from ipics_lab.netfaults import KernelFaults
    from ipics_lab.sites import Site
    from ipics_lab.trainer.attached import AttachedLab
    from ipics_lab.trainer.attached_pair import AttachedSites

    async with lab_up(tmp_path, "--topology", "sites") as info:
        sites = info["sites"]
        lab = AttachedLab.from_lab_file(tmp_path / "lab" / "lab.json")
        await lab.attach(info["admin"]["password"])
        async with attached_panel(lab) as panel:
            primary, secondary = panel.cards["primary"], panel.cards["secondary"]
            network = panel.network_box
            assert panel.lab_topology.text() == f"Topology: sites ({sites['network']})"
            for name in ("primary", "secondary", "media", "clients"):
                assert f"{name} {sites[name]['address']}" in network.sites_label.text()
            assert network.packet_loss.isEnabled() and network.isolate.isEnabled()
            assert not network.unavailable.isVisible()
            assert not primary.power_off.isEnabled()  # still not this lab's process

            clients = Site("clients", sites["clients"]["netns"], sites["clients"]["address"])
            address, port = sites["primary"]["address"], int(info["primary"]["url"].rsplit(":", 1)[1])
            assert await asyncio.to_thread(connect_outcome, clients, address, port) == "connected"
            network.isolate_from.setCurrentIndex(network.isolate_from.findData("primary"))
            network.isolate.click()
            await wait_until(lambda: network.result.property("kind") == "ok", DEADLINE_S, "the clients isolated")
            isolated = "the clients' site isolated from the primary (the kernel drops the packets)"
            assert network.result.text() == isolated
            # silent, not refused
            assert await asyncio.to_thread(connect_outcome, clients, address, port) == "timeout"
            assert secondary.role_label.text() == "STANDBY"  # the servers still hear each other

            network.loss_percent.setValue(30)
            network.packet_loss.click()
            await wait_until(lambda: "packet loss" in network.result.text(), DEADLINE_S, "the packet loss")
            loss = "30 % packet loss between primary and secondary (the kernel drops the packets)"
            assert network.result.text() == loss
            # A fault this panel did not make (the owner's, another panel's): healed too.
            other = KernelFaults(AttachedSites(sites))
            await other.isolate_clients("secondary")
            secondary_address = sites["secondary"]["address"]
            assert await asyncio.to_thread(connect_outcome, clients, secondary_address, port) == "timeout"
            network.heal.click()
            await wait_until(lambda: network.result.text() == "network healed", DEADLINE_S, "the network healed")
            assert await asyncio.to_thread(connect_outcome, clients, address, port) == "connected"
            assert await asyncio.to_thread(connect_outcome, clients, secondary_address, port) == "connected"
            assert lab.pair.network.describe() == []


async def _the_app_asks_the_password_and_closing_it_stops_nothing(info: dict, tmp_path, monkeypatch) -> None:
    """``ipics-lab --attach`` in this process without IPICS_ADMIN_PASSWORD: the password is
    asked (dots), a wrong one asked again with the reason, the right one opens the panel;
    closing the panel ends the app, with the servers still running."""
    from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

    from ipics_desktop.trainer.attach import AttachApp
    from ipics_lab.trainer.attached import AttachedLab

    monkeypatch.delenv("IPICS_ADMIN_PASSWORD", raising=False)
    app = AttachApp(AttachedLab.from_lab_file(tmp_path / "lab" / "lab.json"))
    run = asyncio.ensure_future(app.run())
    try:
        for password, said in (("wrong", ""), (info["admin"]["password"], "refused the administrator's password")):
            await wait_until(
                lambda: app.password_dialog is not None and app.password_dialog.isVisible(), DEADLINE_S, "the question"
            )
            dialog = app.password_dialog
            assert dialog.field.echoMode() == QLineEdit.EchoMode.Password
            assert said in dialog.message.text() and dialog.message.isVisible() == bool(said)
            dialog.field.setText(password)
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
        await wait_until(lambda: app.panel is not None and app.panel.isVisible(), DEADLINE_S, "the attached panel")
        await wait_until(
            lambda: app.panel.cards["secondary"].role_label.text() == "ACTIVE", DEADLINE_S, "the pair on the panel"
        )
        app.panel.close()
        assert await asyncio.wait_for(run, 30) == 0
    finally:
        if not run.done():
            app.request_stop()
            await asyncio.wait_for(run, 30)
    assert app.monitor._task is None
