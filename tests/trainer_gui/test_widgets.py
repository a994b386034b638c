"""The trainer panel's parts drawn from hand-made views and events: the gauge's colours
at the chapter's 75 % and 90 % marks, the server card's words, the timeline plot and its
PNG."""

from __future__ import annotations

import struct

import pytest
from PySide6.QtCore import QSize

from ipics_desktop.shared.style import ERROR, OFFLINE, ONLINE
from ipics_desktop.trainer.server_card import ServerCard, role_words
from ipics_desktop.trainer.timeline_plot import LANES, TimelinePlot, format_seconds
from ipics_desktop.trainer.txlog_gauge import TxlogGauge
from ipics_lab.trainer.monitor import ServerView
from ipics_lab.trainer.timeline import KINDS, Event


def view(name="primary", **kw) -> ServerView:
    base = {
        "name": name,
        "url": f"http://127.0.0.{1 + (name == 'secondary')}:10000",
        "reachable": True,
        "role": "active",
        "ha": "configured",
        "standby_server_status": "Ready",
        "heartbeats_sent": 12,
        "heartbeats_missed": 0,
        "missed_now": 0,
        "txlog_percent": 3.0,
        "txlog_state": "normal",
        "clock_offset_s": 0.0,
        "split_brain": False,
        "services": {"tomcat": "running", "database": "running", "ipics_nm": "running"},
        "last_log": "no action: I am the active, partner healthy",
        "messages": [],
        "transition": None,
        "status": {"peer_link": {"cut_inbound": False, "cut_outbound": False, "error": None}, "time_scale": 0.01},
    }
    return ServerView(**{**base, **kw})


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(
    ("percent", "colour"), [(0, ONLINE), (74.9, ONLINE), (75, OFFLINE), (89, OFFLINE), (90, ERROR), (100, ERROR)]
)
def test_the_gauge_turns_amber_at_75_and_red_at_90(qtbot, percent, colour):
    gauge = TxlogGauge()
    qtbot.addWidget(gauge)
    gauge.set_percent(percent, "warning" if percent >= 75 else "normal")
    assert gauge.colour == colour
    assert f"{percent:.0f} %" in gauge.text() and f"{percent:.0f} %" in gauge.accessibleDescription()
    gauge.resize(300, 40)
    assert not gauge.grab().isNull()  # it paints at every level


def test_the_gauge_of_a_server_that_does_not_answer_says_unknown(qtbot):
    gauge = TxlogGauge()
    qtbot.addWidget(gauge)
    gauge.set_percent(80, "warning", known=False)
    assert "unknown" in gauge.text()


@pytest.mark.parametrize(
    ("changes", "word", "colour"),
    [
        ({}, "ACTIVE", "active"),
        ({"split_brain": True}, "ACTIVE", "down"),
        ({"role": "standby"}, "STANDBY", "ready"),
        ({"role": "standby", "standby_server_status": "Not Ready"}, "STANDBY", "warning"),
        ({"role": "transitioning", "transition": {"to": "active", "remaining_s": 90}}, "TAKING OVER", "warning"),
        ({"role": "transitioning", "transition": {"to": "standalone", "remaining_s": 9}}, "TRANSITIONING", "warning"),
        ({"role": "standalone", "ha": "unconfigured"}, "STANDALONE", "info"),
        ({"status": {"ipics_stopped": True}}, "IPICS STOPPED", "warning"),
        ({"reachable": False}, "DOWN", "down"),
    ],
)
def test_the_role_word_and_its_colour(changes, word, colour):
    assert role_words(view(**changes))[:2] == (word, colour)


def test_the_card_says_the_role_in_large_words(qtbot):
    card = ServerCard("primary")
    qtbot.addWidget(card)
    card.set_view(view())
    assert card.role_label.text() == "ACTIVE" and card.role_label.property("state") == "active"
    assert "Standby Server Status: Ready" in card.subline.text()
    assert "12 sent" in card.heartbeats.text() and "0 missed now" in card.heartbeats.text()
    assert "no action: I am the active" in card.decision.text()
    assert [label.text() for label in card.service_labels.values()] == ["tomcat up", "database up", "ipics_nm up"]
    assert card.power_on.isEnabled() is False and card.power_off.isEnabled()

    card.set_view(view(role="standby", standby_server_status="Not Ready"))
    assert (card.role_label.text(), card.role_label.property("state")) == ("STANDBY", "warning")

    card.set_view(view(reachable=False, status={}))
    assert card.role_label.text() == "DOWN" and "powered off or unreachable" in card.subline.text()
    assert card.power_on.isEnabled() and not card.power_off.isEnabled() and not card.crash_tomcat.isEnabled()


def test_a_takeover_shows_a_progress_bar_that_fills_as_the_time_left_runs_down(qtbot):
    card = ServerCard("secondary")
    qtbot.addWidget(card)
    card.show()
    card.set_view(
        view(
            "secondary",
            role="transitioning",
            transition={"to": "active", "remaining_s": 160.0, "reason": "5 heartbeats missed"},
        )
    )
    assert card.role_label.text() == "TAKING OVER" and card.transition_bar.isVisible()
    assert card.transition_bar.value() == 0 and "160 s left" in card.transition_bar.format()
    card.set_view(
        view(
            "secondary",
            role="transitioning",
            transition={"to": "active", "remaining_s": 40.0, "reason": "5 heartbeats missed"},
        )
    )
    assert card.transition_bar.value() == 750
    card.set_view(view("secondary"))
    assert not card.transition_bar.isVisible() and card.role_label.text() == "ACTIVE"


def test_the_card_shows_faults_plainly(qtbot):
    card = ServerCard("primary")
    qtbot.addWidget(card)
    card.set_view(
        view(
            services={"tomcat": "failed", "database": "running"},
            missed_now=2,
            heartbeats_missed=2,
            clock_offset_s=60.0,
            split_brain=True,
            messages=["database transaction log at 80%"],
            status={"peer_link": {"cut_outbound": True, "cut_inbound": False}, "clock_skew_s": 60.0},
        )
    )
    text = card.text()
    assert "tomcat failed" in text and "2 missed now" in text
    assert "+60 s vs the lab clock  (over 30 s: HA communication lost)" in text
    assert "60 s apart from the partner" in text
    assert "Peer link: CUT outbound" in text
    assert card.role_label.property("state") == "down"  # red: the panel's banner says why
    assert "database transaction log at 80%" in card.messages.text()


def test_each_fault_button_asks_for_its_fault_with_its_argument(qtbot):
    card = ServerCard("secondary")
    qtbot.addWidget(card)
    card.set_view(view("secondary", role="standby"))
    asked = []
    card.fault_requested.connect(lambda *a: asked.append(a))
    card.skew_seconds.setValue(-45)
    card.fill_percent.setValue(92)
    for button in card.fault_buttons:
        button.click()
    assert asked == [
        ("secondary", "power_off", None),
        ("secondary", "crash_tomcat", None),
        ("secondary", "cut_link", "both"),
        ("secondary", "cut_link", "outbound"),
        ("secondary", "cut_link", "inbound"),
        ("secondary", "heal_link", None),
        ("secondary", "skew_clock", -45.0),
        ("secondary", "fill_txlog", 92.0),
    ]
    card.set_busy(True, "Powering off")
    assert not any(b.isEnabled() for b in card.fault_buttons)
    card.set_busy(False)
    assert card.power_off.isEnabled()


def events() -> list[Event]:
    made = [
        Event(at=i * 0.5, emulated=i * 5.0, kind="heartbeat", text=f"primary: {i} heartbeats sent", server="primary")
        for i in range(1, 30)
    ]
    made += [
        Event(at=6.0, emulated=60.0, kind="fault", text="primary powered off (kill -9)", server="primary"),
        Event(at=7.0, emulated=70.0, kind="missed", text="secondary: heartbeat missed", server="secondary"),
        Event(at=16.0, emulated=160.0, kind="role", text="secondary: standby -> active", server="secondary"),
        Event(at=17.0, emulated=170.0, kind="client", text="dan (console): reconnected to secondary"),
        Event(at=18.0, emulated=180.0, kind="action", text="Failover Now on secondary"),
        Event(at=19.0, emulated=190.0, kind="message", text="primary: log at 75%", server="primary"),
        Event(at=20.0, emulated=200.0, kind="narration", text="The earthquake"),
        Event(at=21.0, emulated=210.0, kind="expectation", text="secondary active", ok=True),
    ]
    return made


def test_the_plot_has_a_lane_per_kind_and_a_tooltip_per_marker(qtbot):
    assert [lane.kind for lane in LANES] == list(KINDS)
    plot = TimelinePlot()
    qtbot.addWidget(plot)
    plot.resize(900, 320)
    plot.set_events(events())
    assert plot.counts()["heartbeat"] == 29 and plot.counts()["fault"] == 1
    point, fault = next((p, e) for p, e in plot.marker_positions() if e.kind == "fault")
    assert plot.event_at(point) is fault
    assert "primary powered off (kill -9)" in plot.tooltip_for(fault) and "60 s emulated" in plot.tooltip_for(fault)
    plot.set_axis("real")
    moved, _ = next((p, e) for p, e in plot.marker_positions() if e.kind == "fault")
    assert abs(moved.x() - point.x()) < 1  # real time runs 10x faster here: the same place
    with pytest.raises(ValueError, match="unknown time axis"):
        plot.set_axis("sideways")
    assert plot.accessibleDescription().startswith("37 events: 29 heartbeat, 1 missed")


def test_the_plot_exports_a_real_png(qtbot, tmp_path):
    plot = TimelinePlot()
    qtbot.addWidget(plot)
    plot.resize(900, 300)
    plot.set_events(events())
    path = plot.export_png(tmp_path / "run.png")  # at least 1200x420, whatever the window's size
    assert png_size(path.read_bytes()) == (1200, 420)
    path = plot.export_png(tmp_path / "big.png", QSize(1600, 500))
    assert png_size(path.read_bytes()) == (1600, 500)
    with pytest.raises(OSError, match="cannot write"):
        plot.export_png(tmp_path / "no-such-folder" / "run.png")


def test_long_runs_are_labelled_in_minutes():
    assert format_seconds(30, 120) == "30 s"
    assert format_seconds(125, 900) == "2:05" and format_seconds(59.6, 900) == "1:00"
