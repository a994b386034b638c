"""Each of the trainer panel's controls reaches the real servers, and the panel shows
what they did: the cards, the split brain banner, the progress bar, the timeline."""

from __future__ import annotations

import struct

import aiohttp
import pytest

from ipics_lab.supervisor import wait_until

from .conftest import DEADLINE_S


def card_text(panel, name: str) -> str:
    return panel.cards[name].text()


def role_word(panel, name: str) -> str:
    return panel.cards[name].role_label.text()


async def status(lab, name: str) -> dict:
    return await lab.pair.status(lab.server(name))


async def action_done(panel) -> str:
    await wait_until(lambda: panel.action_running is None, DEADLINE_S * 3, "the action to end")
    return panel.action_message.text()


async def test_power_off_then_on_fails_over_and_comes_back_as_standby(panel, trainer_lab):
    primary, secondary = panel.cards["primary"], panel.cards["secondary"]
    assert (role_word(panel, "primary"), role_word(panel, "secondary")) == ("ACTIVE", "STANDBY")
    assert not primary.power_on.isEnabled()  # it is on

    primary.power_off.click()
    await wait_until(lambda: role_word(panel, "primary") == "DOWN", DEADLINE_S, "the primary shown down")
    assert trainer_lab.pair.primary.proc.poll() is not None  # really gone: kill -9
    assert "powered off or unreachable" in card_text(panel, "primary")
    await wait_until(lambda: role_word(panel, "secondary") == "ACTIVE", DEADLINE_S, "the secondary to take over")
    assert (await status(trainer_lab, "secondary"))["role"] == "active"
    assert primary.fault_result.text() == "primary powered off (kill -9)"

    await wait_until(primary.power_on.isEnabled, DEADLINE_S, "Power on to be offered")
    primary.power_on.click()
    await wait_until(
        lambda: role_word(panel, "primary") == "STANDBY" and "Standby Server Status: Ready" in secondary.subline.text(),
        DEADLINE_S,
        "the primary back as standby, Ready",
    )
    assert (await status(trainer_lab, "primary"))["role"] == "standby"
    assert role_word(panel, "secondary") == "ACTIVE"  # no failback

    # The timeline plot has the faults and the role changes.
    await wait_until(lambda: panel.plot.counts()["role"] >= 3, DEADLINE_S, "the role events on the plot")
    faults = [e.text for e in panel.plot.events if e.kind == "fault"]
    assert faults == ["primary powered off (kill -9)", "primary powered on"]
    assert any(e.text == "primary does not answer" for e in panel.plot.events if e.kind == "role")
    assert panel.plot.counts()["heartbeat"] > 0 and panel.plot.counts()["missed"] > 0


async def test_crash_tomcat_shows_tomcat_down_and_a_failover(panel, trainer_lab):
    panel.cards["primary"].crash_tomcat.click()
    await wait_until(lambda: "tomcat failed" in card_text(panel, "primary"), DEADLINE_S, "tomcat shown down")
    assert panel.cards["primary"].service_labels["tomcat"].property("service") == "down"
    await wait_until(lambda: role_word(panel, "secondary") == "ACTIVE", DEADLINE_S, "the secondary to take over")
    assert (await status(trainer_lab, "secondary"))["role"] == "active"


async def test_cut_link_each_way_shows_in_the_status_and_heals(panel, trainer_lab):
    card = panel.cards["secondary"]
    for button, words, field in (
        (card.cut_outbound, "CUT outbound", "cut_outbound"),
        (card.cut_inbound, "CUT inbound", "cut_inbound"),
        (card.cut_both, "CUT both ways", "cut_inbound"),
    ):
        await wait_until(button.isEnabled, DEADLINE_S, "the card ready for the next fault")
        button.click()
        await wait_until(
            lambda w=words: f"Peer link: {w}" in card_text(panel, "secondary"), DEADLINE_S, f"the card to say {words}"
        )
        assert (await status(trainer_lab, "secondary"))["peer_link"][field] is True
        await wait_until(card.heal_link.isEnabled, DEADLINE_S, "Heal link")
        card.heal_link.click()
        await wait_until(lambda: "Peer link: up" in card_text(panel, "secondary"), DEADLINE_S, "the link healed")
        link = (await status(trainer_lab, "secondary"))["peer_link"]
        assert not link["cut_inbound"] and not link["cut_outbound"]
    assert card.fault_result.text() == "secondary: link healed"

    # The kernel's faults are greyed out on loopback, saying why and what to run instead.
    network = panel.network_box
    assert panel.lab_topology.text() == "Topology: loopback" and not panel.lab_attached.isVisible()
    assert network.sites_label.text() == "Loopback: every process on this host (127.0.0.x)"
    assert not network.packet_loss.isEnabled() and not network.isolate.isEnabled()
    reason = "the loopback lab cannot drop packets at a rate: start the lab with --topology sites (as root)"
    assert network.packet_loss.toolTip().startswith(reason) and reason in network.unavailable.text()
    assert "no clients' site to isolate" in network.isolate.toolTip() and network.unavailable.isVisible()
    assert card.power_off.isEnabled() and not card.faults_unavailable.isVisible()  # this lab holds the processes
    card.cut_both.click()
    await wait_until(lambda: "Peer link: CUT both ways" in card_text(panel, "secondary"), DEADLINE_S, "a cut")
    await wait_until(network.heal.isEnabled, DEADLINE_S, "Heal network")
    network.heal.click()  # heals what the servers cut, on loopback too
    await wait_until(lambda: network.result.text() == "network healed", DEADLINE_S, "the network healed")
    link = (await status(trainer_lab, "secondary"))["peer_link"]
    assert not link["cut_inbound"] and not link["cut_outbound"]


async def test_skew_clock_shows_the_offset_and_the_servers_lose_ha_communication(panel, trainer_lab):
    card = panel.cards["secondary"]
    assert card.skew_seconds.value() == 60  # the default
    card.skew_seconds.setValue(90)
    card.skew_clock.click()
    await wait_until(lambda: "+90 s vs the lab clock" in card.clock.text(), DEADLINE_S, "the offset shown")
    assert "HA communication lost" in card.clock.text() and card.clock.property("fact") == "bad"
    await wait_until(
        lambda: "90 s apart from the partner" in panel.cards["primary"].clock.text(),
        DEADLINE_S,
        "the primary's status to see the skew",
    )
    assert abs((await status(trainer_lab, "primary"))["clock_skew_s"] - 90) < 5
    await wait_until(
        lambda: "HA communication lost" in panel.cards["primary"].messages.toolTip(), DEADLINE_S, "the server's message"
    )


async def test_fill_txlog_with_the_standby_off_passes_75_percent_and_shows_the_message(panel, trainer_lab):
    primary, secondary = panel.cards["primary"], panel.cards["secondary"]
    primary.fill_txlog.click()  # the standby takes every record: refused, with the reason
    await wait_until(lambda: primary.fault_result.property("result") == "refused", DEADLINE_S, "the refusal")
    assert "power the standby off" in primary.fault_result.text()
    assert "Traceback" not in primary.fault_result.text()

    secondary.power_off.click()
    await wait_until(lambda: role_word(panel, "secondary") == "DOWN", DEADLINE_S, "the standby down")
    primary.fill_percent.setValue(80)
    primary.fill_txlog.click()
    await wait_until(lambda: primary.gauge.percent >= 75, DEADLINE_S * 3, "the gauge past 75 %")
    assert primary.gauge.colour == "#b35c00"  # amber from 75 %
    await wait_until(lambda: "75% threshold" in primary.messages.toolTip(), DEADLINE_S, "the 75 % message")
    assert "75% threshold" in primary.messages.text()
    await wait_until(lambda: "filled to" in primary.fault_result.text(), DEADLINE_S, "the fill to end")


async def test_failover_now_shows_progress_and_swaps_the_roles(panel, trainer_lab):
    values = []
    panel.action_progress.valueChanged.connect(values.append)
    panel.action_buttons["failover_now"].click()
    assert panel.action_running == "failover_now"
    assert not any(b.isEnabled() for b in panel.action_buttons.values())  # one action at a time
    message = await action_done(panel)
    assert message == "Failover Now: secondary is active; primary is standby"
    assert any(0 < v < 1000 for v in values), values  # part way, from the takeover's time left
    assert panel.action_progress.value() == 1000
    assert all(b.isEnabled() for b in panel.action_buttons.values())
    await wait_until(
        lambda: (role_word(panel, "primary"), role_word(panel, "secondary")) == ("STANDBY", "ACTIVE"),
        DEADLINE_S,
        "the roles swapped on the cards",
    )
    assert (await status(trainer_lab, "secondary"))["role"] == "active"
    assert any("Failover Now on primary" in e.text for e in panel.plot.events if e.kind == "action")


async def test_method_1_from_the_panel_go_standby_repair_and_rsync(panel, trainer_lab):
    go_standby = panel.action_buttons["go_standby"]
    go_standby.click()  # no split brain: the server refuses, the panel says why
    message = await action_done(panel)
    assert message.startswith("Go Standby: refused: ") and "Traceback" not in message
    assert panel.action_message.property("kind") == "refused"

    # A split brain: the link cut both ways until the standby takes over, then healed.
    primary = panel.cards["primary"]
    primary.cut_both.click()
    await wait_until(lambda: role_word(panel, "secondary") == "ACTIVE", DEADLINE_S, "both active")
    await wait_until(primary.heal_link.isEnabled, DEADLINE_S, "Heal link")
    primary.heal_link.click()
    await wait_until(panel.split_banner.isVisible, DEADLINE_S, "the split brain banner")
    assert "SPLIT BRAIN" in panel.split_banner.text() and "Method 1" in panel.split_banner.accessibleDescription()
    assert go_standby.property("urgent") is True

    go_standby.click()
    assert (await action_done(panel)).startswith("Go Standby: secondary is standby")
    await wait_until(lambda: not panel.split_banner.isVisible(), DEADLINE_S, "the banner gone")
    assert role_word(panel, "secondary") == "STANDBY"

    panel.action_buttons["repair"].click()
    assert await action_done(panel) == "REPAIR database: REPAIR finished: nothing pending, the standby is Ready"
    panel.action_buttons["rsync"].click()
    assert (await action_done(panel)).startswith("rsync files: ipicsrsync finished")
    actions = [e.text for e in panel.plot.events if e.kind == "action"]
    assert "REPAIR started on secondary" in actions and "ipicsrsync started on the primary" in actions


async def test_unconfigure_then_configure(panel, trainer_lab):
    panel.action_buttons["unconfigure"].click()
    assert (await action_done(panel)).endswith("HA unconfigured, the server stands alone")
    await wait_until(lambda: role_word(panel, "primary") == "STANDALONE", DEADLINE_S, "the primary standalone")
    assert (await status(trainer_lab, "primary"))["ha"] != "configured"
    panel.action_buttons["configure"].click()
    assert (await action_done(panel)).endswith("HA configured: the primary is active, the standby Ready")
    await wait_until(
        lambda: (
            role_word(panel, "primary") == "ACTIVE"
            and "Standby Server Status: Ready" in panel.cards["primary"].subline.text()
        ),
        DEADLINE_S,
        "the pair whole again",
    )


async def test_the_time_scale_control_changes_the_servers_time_scale(panel, trainer_lab):
    combo = panel.time_scale
    assert combo.currentText() == "100x faster"
    combo.setCurrentIndex(combo.findText("10x faster"))
    await wait_until(lambda: panel.time_scale_shown.text() == "servers: 10x faster", DEADLINE_S, "the servers at 10x")
    assert (await status(trainer_lab, "primary"))["time_scale"] == 0.1
    assert (await status(trainer_lab, "secondary"))["time_scale"] == 0.1
    assert trainer_lab.clock.time_scale == 0.1
    combo.setCurrentIndex(combo.findText("100x faster"))
    await wait_until(
        lambda: panel.time_scale_shown.text() == "servers: 100x faster", DEADLINE_S, "the servers back at 100x"
    )
    assert combo.isEnabled()


async def test_export_png_writes_the_timeline(panel, tmp_path):
    panel.cards["secondary"].cut_outbound.click()
    await wait_until(lambda: panel.plot.counts()["fault"] == 1, DEADLINE_S, "the fault on the plot")
    written = panel.export_png(tmp_path / "run.png")
    data = written.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1200 and height >= 420 and len(data) > 5000
    assert panel.timeline_message.text() == f"Exported to {written}"
    assert panel.export_png(tmp_path / "missing" / "run.png") is None
    assert panel.timeline_message.text().startswith("Not exported: cannot write")


async def test_export_png_and_the_report_through_their_file_dialogs(panel, trainer_lab, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    def choose(name: str, path) -> None:
        dialog = panel.findChild(QFileDialog, name)
        assert dialog is not None and dialog.isVisible()
        dialog.fileSelected.emit(str(path))  # what choosing a file and Save do
        dialog.reject()

    panel.export_button.click()
    choose("timelineExportDialog", tmp_path / "chosen.png")
    assert (tmp_path / "chosen.png").read_bytes()[:4] == b"\x89PNG"

    # Export report: a lab that records no run (its recording stopped) says so
    await trainer_lab.stop_recording()
    await panel.report_export.export(tmp_path / "none.html")
    assert panel.timeline_message.text().startswith("Not exported: this lab records no run")
    # a run recorded as the trainer's lab records it (the panel's monitor is the lab's), a
    # fault in it, the report exported mid-run
    await trainer_lab.start_recording(tmp_path / "run.ipicsrec")
    assert trainer_lab.monitor is panel.monitor
    try:
        # one recording per run: a second is refused, the first goes on
        with pytest.raises(RuntimeError, match="one recording per run"):
            await trainer_lab.start_recording(tmp_path / "second.ipicsrec")
        assert not (tmp_path / "second.ipicsrec").exists()
        panel.cards["secondary"].cut_outbound.click()
        await wait_until(lambda: panel.plot.counts()["fault"] == 1, DEADLINE_S, "the fault on the plot")
        panel.report_export.button.click()
        choose("reportExportDialog", tmp_path / "debrief.html")
        # written off the event loop: the panel says so and goes on while Chromium prints
        await wait_until(
            lambda: panel.timeline_message.text() == "Writing the report\u2026", DEADLINE_S, "the export under way"
        )
        assert not panel.report_export.button.isEnabled()
        await wait_until(
            lambda: panel.timeline_message.text().startswith("Report written"), DEADLINE_S * 3, "the report written"
        )
    finally:
        await trainer_lab.stop_recording()
    assert panel.timeline_message.text() == f"Report written to {tmp_path / 'debrief.html'} and debrief.pdf"
    assert panel.report_export.button.isEnabled()
    page = (tmp_path / "debrief.html").read_text()
    assert "secondary: link cut outbound" in page and 'id="report-timeline"' in page
    assert (tmp_path / "debrief.pdf").read_bytes()[:5] == b"%PDF-"


async def test_open_devices_as_named_users(make_panel, launcher, trainer_lab):
    panel = await make_panel(launcher)
    panel.device_kind.setCurrentIndex(panel.device_kind.findData("console"))
    panel.device_user.setCurrentText("adam")
    panel.device_open.click()
    assert panel.device_message.text() == "Opened a console for adam (1 devices open)."
    assert launcher.opened[0].kind == "console" and launcher.opened[0].user == "adam"
    await wait_until(
        lambda: any(e.kind == "client" and e.text.startswith("adam") for e in panel.plot.events),
        DEADLINE_S,
        "adam's console on the timeline",
    )

    panel.device_user.setCurrentText("zed")
    panel.device_open.click()
    assert panel.device_message.text().startswith("console for zed not opened: ")
    assert len(launcher.opened) == 1
    await launcher.close_all()  # here, on the running loop: pytest-qt runs the loop's timers between steps


async def test_each_cards_address_links_to_its_administration_console(panel, trainer_lab):
    for name in ("primary", "secondary"):
        label, url = panel.cards[name].url_label, trainer_lab.server(name).url
        await wait_until(
            lambda label=label, url=url: label.text() == f'<a href="{url}/admin/">{url}</a>',
            DEADLINE_S,
            f"the {name} card's link",
        )
        assert label.openExternalLinks()
    # The link is the real console: the active's login page.
    async with aiohttp.ClientSession() as s, s.get(f"{trainer_lab.server('primary').url}/admin/") as r:
        assert r.status == 200 and "Log In" in await r.text()
