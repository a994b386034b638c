"""One server's card on the trainer panel: its live state, and the faults to inject.

Drawn from a ``ServerView`` (``ipics_lab.trainer.monitor``): the role in large
words (ACTIVE green, STANDBY green or amber by the Standby Server Status, TAKING OVER
amber with a progress bar, DOWN red), HA state and Standby Server Status, heartbeats,
the transaction-log gauge with its 75/90 % marks, the clock offset, the peer link,
services up or down, the pair's modes (with synchronous replication's state and what
this server knows of the witness, in those modes), the sentence the HA loop last
logged, and the server's messages.  Below: one button per fault.  The card only asks; the panel runs the fault.

Signals:
    fault_requested(server, fault, argument): a fault button was pressed; ``fault`` is
        one of ``FAULTS``, ``argument`` the cut direction, skew seconds or fill percent
        (None for the others).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ipics_desktop.shared.style import ERROR, IDLE, INFO, OFFLINE, ONLINE, restyle
from ipics_desktop.trainer.txlog_gauge import TxlogGauge
from ipics_server.modes_text import (
    SYNCHRONOUS_STATE_KIND,
    synchronous_words,
    witness_holder_words,
    witness_lease_words,
    witness_reach_words,
)

FAULTS = ("power_off", "power_on", "crash_tomcat", "cut_link", "heal_link", "skew_clock", "fill_txlog")
FAULT_NAMES = {
    "power_off": "Power off",
    "power_on": "Power on",
    "crash_tomcat": "Crash tomcat",
    "cut_link": "Cut link",
    "heal_link": "Heal link",
    "skew_clock": "Skew clock",
    "fill_txlog": "Fill txlog",
}
#: the chapter's rule: clocks more than 30 s apart lose HA communication
SKEW_LIMIT_S = 30.0
MESSAGE_LINES = 1  # the newest; all of them in the tooltip

CARD_STYLE = f"""
QFrame[card="true"] {{ border: 1px solid #c4c8cc; border-radius: 8px; background: white; }}
QLabel#serverName {{ font-size: 13pt; font-weight: bold; color: #1c2630; }}
QLabel#serverUrl {{ color: {IDLE}; }}
QLabel#serverRole {{
    font-size: 22pt; font-weight: bold; border-radius: 8px; padding: 0px 8px; border: 3px solid {IDLE};
    color: {IDLE}; background: #f1f3f4;
}}
QLabel#serverRole[state="active"] {{ color: white; background: {ONLINE}; border-color: #14532a; }}
QLabel#serverRole[state="ready"] {{ color: {ONLINE}; background: #e6f4ea; border-color: {ONLINE}; }}
QLabel#serverRole[state="warning"] {{ color: #3d2000; background: #ffc66d; border-color: {OFFLINE}; }}
QLabel#serverRole[state="down"] {{ color: white; background: {ERROR}; border-color: #7f0000; }}
QLabel#serverRole[state="info"] {{ color: {INFO}; background: #e8f0fe; border-color: {INFO}; }}
QLabel#serverSubline {{ font-size: 10pt; font-weight: bold; }}
QPushButton[fault="true"] {{ padding: 3px 4px; }}
QLabel[fact="bad"] {{ color: {ERROR}; font-weight: bold; }}
QLabel[fact="warn"] {{ color: {OFFLINE}; font-weight: bold; }}
QLabel[fact="good"] {{ color: {ONLINE}; }}
QLabel#serverDecision {{ font-style: italic; color: #2d3b27; font-size: 9pt; }}
QLabel#serverMessages {{ color: {OFFLINE}; font-weight: bold; }}
QLabel[service="running"] {{ color: white; background: {ONLINE}; border-radius: 4px; padding: 1px 6px; }}
QLabel[service="down"] {{ color: white; background: {ERROR}; border-radius: 4px; padding: 1px 6px; }}
QLabel[service="unknown"] {{ color: {IDLE}; background: #eceff1; border-radius: 4px; padding: 1px 6px; }}
QProgressBar#serverTransition {{
    font-size: 11pt; font-weight: bold; min-height: 22px; border: 2px solid {OFFLINE}; border-radius: 4px;
    background: #fff4e0; text-align: center;
}}
QProgressBar#serverTransition::chunk {{ background: {OFFLINE}; }}
QLabel[result="ok"] {{ color: {ONLINE}; }}
QLabel[result="refused"] {{ color: {ERROR}; font-weight: bold; }}
QLabel[result="busy"] {{ color: {INFO}; }}
"""


def role_words(view) -> tuple[str, str, str]:
    """The big word, its colour state, and the line under it, for one ``ServerView``."""
    if not view.reachable:
        return "DOWN", "down", "Not answering: powered off or unreachable"
    status = view.status or {}
    ha = view.ha or "unknown"
    sss = view.standby_server_status or "\u2014"
    sub = f"HA {ha}  \u00b7  Standby Server Status: {sss}"
    if status.get("ipics_stopped"):
        return "IPICS STOPPED", "warning", sub
    role = (view.role or "unknown").lower()
    if role == "active":
        if view.split_brain:
            return "ACTIVE", "down", sub  # red, under the panel's split brain banner
        return "ACTIVE", "active", sub
    if role == "standby":
        return "STANDBY", "ready" if view.standby_server_status == "Ready" else "warning", sub
    if role == "transitioning":
        target = (view.transition or {}).get("to")
        return ("TAKING OVER" if target == "active" else "TRANSITIONING"), "warning", sub
    if role == "standalone":
        return "STANDALONE", "info", sub
    return role.upper(), "info", sub


def offset_words(offset_s: float | None) -> tuple[str, str]:
    if offset_s is None:
        return "\u2014", ""
    words = f"{offset_s:+.0f} s vs the lab clock"
    if abs(offset_s) > SKEW_LIMIT_S:
        return words + "  (over 30 s: HA communication lost)", "bad"
    return words, ("warn" if abs(offset_s) >= 1 else "good")


def link_words(status: dict) -> tuple[str, str]:
    link = status.get("peer_link") or {}
    cut = [d for d in ("outbound", "inbound") if link.get(f"cut_{d}")]
    if len(cut) == 2:
        return "CUT both ways", "bad"
    if cut:
        return f"CUT {cut[0]}", "bad"
    if link.get("error"):
        return f"error: {link['error']}", "warn"
    return ("up" if status else "\u2014"), ("good" if status else "")


class ServerCard(QFrame):
    fault_requested = Signal(str, str, object)

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.name = name
        self.view = None
        self._busy = False
        #: fault -> why this lab cannot make it here (greyed out for good)
        self.unavailable: dict[str, str] = {}
        self._transition_total: float | None = None
        self.setObjectName(f"serverCard:{name}")
        self.setProperty("card", True)
        self.setAccessibleName(f"{name.capitalize()} server")
        self.setStyleSheet(CARD_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.name_label = QLabel(name.upper(), objectName="serverName")
        # The address is a link to the server's Administration Console: a trainer shows
        # the chapter's pages in a browser beside the panel.
        self.url_label = QLabel(objectName="serverUrl")
        self.url_label.setTextFormat(Qt.TextFormat.RichText)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.url_label.setOpenExternalLinks(True)
        self.url_label.setAccessibleName(f"{name} Administration Console link")
        self.url_label.setToolTip("Open this server's Administration Console in a browser")
        head = QHBoxLayout()
        head.addWidget(self.name_label)
        head.addStretch(1)
        head.addWidget(self.url_label)

        self.role_label = QLabel("\u2014", objectName="serverRole")
        self.role_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subline = QLabel(objectName="serverSubline")
        self.subline.setWordWrap(True)
        self.transition_bar = QProgressBar(objectName="serverTransition")
        self.transition_bar.setRange(0, 1000)
        self.transition_bar.setAccessibleName(f"{name} transition progress")
        self.transition_bar.hide()

        self.heartbeats = _fact("serverHeartbeats")
        self.gauge = TxlogGauge()
        self.clock = _fact("serverClock")
        self.link = _fact("serverLink")
        self.modes = _fact("serverModes")
        self.synchronous = _fact("serverSynchronous")
        self.witness = _fact("serverWitness")
        self.services_box = QHBoxLayout()
        self.services_box.setSpacing(4)
        self.service_labels: dict[str, QLabel] = {}
        services = QWidget()
        services.setLayout(self.services_box)
        self.services_box.setContentsMargins(0, 0, 0, 0)
        self.services_box.addStretch(1)
        facts = QGridLayout()
        facts.setHorizontalSpacing(10)
        facts.setVerticalSpacing(1)
        #: each fact's title, by its widget: the modes' rows are hidden where they do not apply
        self.fact_titles: dict[QWidget, QLabel] = {}
        for row, (title, widget) in enumerate(
            (
                ("Heartbeats", self.heartbeats),
                ("Transaction log", self.gauge),
                ("Clock", self.clock),
                ("Peer link", self.link),
                ("Services", services),
                ("Modes", self.modes),
                ("Synchronous", self.synchronous),
                ("Witness", self.witness),
            )
        ):
            label = self.fact_titles[widget] = QLabel(title + ":")
            label.setStyleSheet(f"color: {IDLE};")
            facts.addWidget(label, row, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            facts.addWidget(widget, row, 1)
        facts.setColumnStretch(1, 1)
        for widget in (self.synchronous, self.witness):  # until a status says the pair runs them
            widget.hide()
            self.fact_titles[widget].hide()

        self.decision = QLabel(objectName="serverDecision")
        self.decision.setWordWrap(True)
        self.decision.setTextFormat(Qt.TextFormat.PlainText)  # a server's words are never markup
        self.messages = QLabel(objectName="serverMessages")
        self.messages.setWordWrap(True)
        self.messages.setTextFormat(Qt.TextFormat.PlainText)
        self.messages.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(5)
        column.addLayout(head)
        column.addWidget(self.role_label)
        column.addWidget(self.subline)
        column.addWidget(self.transition_bar)
        column.addLayout(facts)
        column.addWidget(self.decision)
        column.addWidget(self.messages)
        column.addStretch(1)
        column.addWidget(self._faults_box())
        self.redraw()

    # ------------------------------------------------------------------ faults
    def _faults_box(self) -> QGroupBox:
        box = QGroupBox(f"Faults on the {self.name}", objectName=f"faultsBox:{self.name}")
        grid = QGridLayout(box)
        grid.setSpacing(3)
        grid.setContentsMargins(6, 4, 6, 4)
        n = self.name
        self.power_off = self._button("Power off", "faultPowerOff", f"Power off the {n} (kill -9)", "power_off")
        self.power_on = self._button("Power on", "faultPowerOn", f"Power on the {n}", "power_on")
        self.crash_tomcat = self._button("Crash tomcat", "faultCrashTomcat", f"Crash tomcat on the {n}", "crash_tomcat")
        self.cut_both = self._button("Cut link", "faultCutLink", f"Cut the {n}'s link both ways", "cut_link", "both")
        self.cut_outbound = self._button(
            "Cut outbound", "faultCutOutbound", f"Cut the {n}'s outbound link", "cut_link", "outbound"
        )
        self.cut_inbound = self._button(
            "Cut inbound", "faultCutInbound", f"Cut the {n}'s inbound link", "cut_link", "inbound"
        )
        self.heal_link = self._button("Heal link", "faultHealLink", f"Heal the {n}'s link", "heal_link")
        self.skew_seconds = QSpinBox(objectName=f"faultSkewSeconds:{n}")
        self.skew_seconds.setRange(-86_400, 86_400)
        self.skew_seconds.setValue(60)
        self.skew_seconds.setSuffix(" s")
        self.skew_seconds.setAccessibleName(f"Clock skew in seconds for the {n}")
        self.skew_clock = self._button("Skew clock", "faultSkewClock", f"Skew the {n}'s clock", "skew_clock")
        self.fill_percent = QDoubleSpinBox(objectName=f"faultFillPercent:{n}")
        self.fill_percent.setRange(1, 100)
        self.fill_percent.setDecimals(0)
        self.fill_percent.setValue(80)
        self.fill_percent.setSuffix(" %")
        self.fill_percent.setAccessibleName(f"Transaction log fill in percent for the {n}")
        self.fill_txlog = self._button("Fill txlog", "faultFillTxlog", f"Fill the {n}'s transaction log", "fill_txlog")
        self.fill_txlog.setToolTip(
            "Fills the active's transaction log as if the partner were down a long "
            "time; the partner must be unreachable (power it off first)"
        )
        rows = (
            (self.power_off, self.power_on, self.crash_tomcat, self.heal_link),
            (self.cut_both, self.cut_outbound, self.cut_inbound, None),
            (self.skew_seconds, self.skew_clock, self.fill_percent, self.fill_txlog),
        )
        for r, row in enumerate(rows):
            for c, widget in enumerate(row):
                if widget is not None:
                    grid.addWidget(widget, r, c)
        self.fault_result = QLabel(objectName=f"faultResult:{n}")
        self.fault_result.setWordWrap(True)
        self.fault_result.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(self.fault_result, len(rows), 0, 1, 4)
        self.faults_unavailable = QLabel(objectName=f"faultsUnavailable:{n}")
        self.faults_unavailable.setWordWrap(True)
        self.faults_unavailable.setTextFormat(Qt.TextFormat.PlainText)
        self.faults_unavailable.setStyleSheet(f"color: {IDLE};")
        self.faults_unavailable.hide()
        grid.addWidget(self.faults_unavailable, len(rows) + 1, 0, 1, 4)
        return box

    def buttons_of(self, fault: str) -> list[QPushButton]:
        """The buttons that make ``fault`` (cut_link: both ways, outbound, inbound)."""
        if fault == "cut_link":
            return [self.cut_both, self.cut_outbound, self.cut_inbound]
        return [getattr(self, fault)] if fault in FAULTS else []

    def set_offers(self, offers) -> None:
        """Grey out for good what this lab cannot make on this server (``Offers``), each
        button's tooltip and the line under the buttons saying why."""
        self.unavailable = {f: r for f in FAULTS if (r := offers.why_not(f, self.name))}
        for fault, reason in self.unavailable.items():
            for button in self.buttons_of(fault):
                button.setToolTip(reason)
        lines: dict[str, list[str]] = {}
        for fault, reason in self.unavailable.items():
            lines.setdefault(reason, []).append(FAULT_NAMES[fault])
        self.faults_unavailable.setText("\n".join(f"{', '.join(names)}: {why}" for why, names in lines.items()))
        self.faults_unavailable.setVisible(bool(lines))
        self._enable()

    def _button(self, text: str, name: str, accessible: str, fault: str, argument=None) -> QPushButton:
        button = QPushButton(text, objectName=f"{name}:{self.name}")
        button.setAccessibleName(accessible)
        button.setAutoDefault(False)
        button.setProperty("fault", True)
        button.clicked.connect(lambda _=False: self.request(fault, argument))
        return button

    def request(self, fault: str, argument=None) -> None:
        if fault == "skew_clock":
            argument = float(self.skew_seconds.value())
        elif fault == "fill_txlog":
            argument = float(self.fill_percent.value())
        self.fault_requested.emit(self.name, fault, argument)

    @property
    def fault_buttons(self) -> list[QPushButton]:
        return [
            self.power_off,
            self.power_on,
            self.crash_tomcat,
            self.cut_both,
            self.cut_outbound,
            self.cut_inbound,
            self.heal_link,
            self.skew_clock,
            self.fill_txlog,
        ]

    def set_busy(self, busy: bool, text: str = "") -> None:
        """While one of this server's faults runs its buttons wait; ``text`` says what runs."""
        self._busy = busy
        if busy:
            self.show_result(text, "busy")
        self._enable()

    def show_result(self, text: str, kind: str) -> None:
        """A fault's outcome: ``ok`` (its sentence), ``refused`` (why), ``busy`` (running)."""
        self.fault_result.setText(text)
        if self.fault_result.property("result") != kind:
            self.fault_result.setProperty("result", kind)
            restyle(self.fault_result)

    def _enable(self) -> None:
        up = self.view is not None and self.view.reachable
        down = self.view is not None and not self.view.reachable
        for button in self.fault_buttons:
            button.setEnabled(not self._busy and up)
        self.power_on.setEnabled(not self._busy and down)
        for fault in self.unavailable:
            for button in self.buttons_of(fault):
                button.setEnabled(False)

    # ------------------------------------------------------------------ render
    def set_view(self, view) -> None:
        self.view = view
        self.redraw()

    def redraw(self) -> None:
        view = self.view
        if view is None:
            self.subline.setText("waiting for the first status")
            self._enable()
            return
        self.url_label.setText(admin_console_link(view.url))
        word, state, sub = role_words(view)
        self.role_label.setText(word)
        _set_property(self.role_label, "state", state)
        self.subline.setText(sub)
        _set_property(self.subline, "fact", "bad" if state == "down" else "")
        status = view.status or {}
        self._render_transition(view)
        if view.reachable:
            missed_now = view.missed_now
            self.heartbeats.setText(
                f"{view.heartbeats_sent} sent  \u00b7  {view.heartbeats_missed} missed  \u00b7  {missed_now} missed now"
            )
            _set_property(self.heartbeats, "fact", "bad" if missed_now else "good")
        else:
            self.heartbeats.setText("\u2014")
            _set_property(self.heartbeats, "fact", "")
        self.gauge.set_percent(view.txlog_percent, view.txlog_state, known=view.reachable)
        words, kind = offset_words(view.clock_offset_s if view.reachable else None)
        skew = status.get("clock_skew_s")
        if skew is not None and abs(skew) >= 1:
            words += f"  \u00b7  {abs(skew):.0f} s apart from the partner"
            kind = "bad" if abs(skew) > SKEW_LIMIT_S else kind
        self.clock.setText(words)
        _set_property(self.clock, "fact", kind)
        words, kind = link_words(status)
        self.link.setText(words)
        _set_property(self.link, "fact", kind)
        self._render_services(view)
        self._render_modes(status)
        self.decision.setText(f"HA loop: \u201c{view.last_log}\u201d" if view.last_log else "")
        messages = list(view.messages)[-MESSAGE_LINES:]
        more = len(view.messages) - len(messages)
        self.messages.setText("\n".join(f"\u26a0 {m}" for m in messages) + (f"  (+{more} earlier)" if more else ""))
        self.messages.setToolTip("\n".join(view.messages))
        self.messages.setVisible(bool(messages))
        self._enable()
        self.setAccessibleDescription(self.text())

    def _render_transition(self, view) -> None:
        transition = view.transition if view.reachable else None
        if not transition:
            self._transition_total = None
            self.transition_bar.hide()
            return
        remaining = float(transition.get("remaining_s") or 0.0)
        # The status gives what is left; the first value seen is the whole length.
        if self._transition_total is None or remaining > self._transition_total:
            self._transition_total = max(remaining, 1.0)
        done = 1.0 - remaining / self._transition_total
        target = transition.get("to") or "?"
        self.transition_bar.setValue(int(done * 1000))
        self.transition_bar.setFormat(f"Becoming {target}: {remaining:.0f} s left")
        self.transition_bar.setToolTip(transition.get("reason") or "")
        self.transition_bar.show()

    def _render_modes(self, status: dict) -> None:
        """The modes (as the server last said: a server down keeps its modes), and in
        those modes the synchronous state and the witness as this server knows it."""
        modes = status.get("modes") or {}
        self.modes.setText(modes.get("label") or self.modes.text())
        sync, witness = status.get("synchronous"), status.get("witness")
        if sync:
            words = synchronous_words(sync)
            if sync.get("writes_refused"):
                words += f"  \u00b7  {sync['writes_refused']} writes refused"
            self.synchronous.setText(f"{words}  ({sync.get('policy')})")
            _set_property(self.synchronous, "fact", SYNCHRONOUS_STATE_KIND.get(sync.get("state"), ""))
        if witness:
            lease = witness_lease_words(witness)
            self.witness.setText(
                f"{witness_reach_words(witness)}  \u00b7  vote: {witness_holder_words(witness, self.name)}"
                + (f", {lease}" if witness.get("holds_vote") else "")
            )
            _set_property(self.witness, "fact", "bad" if witness.get("reachable") is False else "")
        if not status:  # not answering: its modes stay (they are its options), its state is unknown
            for widget in (self.synchronous, self.witness):
                widget.setText("\u2014")
                _set_property(widget, "fact", "")
            return
        for widget, shown in ((self.synchronous, bool(sync)), (self.witness, bool(witness))):
            widget.setVisible(shown)
            self.fact_titles[widget].setVisible(shown)

    def _render_services(self, view) -> None:
        services = view.services if view.reachable else {name: "unknown" for name in self.service_labels}
        for name, state in services.items():
            label = self.service_labels.get(name)
            if label is None:
                label = self.service_labels[name] = QLabel(objectName=f"serverService:{name}")
                self.services_box.insertWidget(len(self.service_labels) - 1, label)
            up = state == "running"
            label.setText(f"{name} {'up' if up else state}" if state != "unknown" else f"{name} ?")
            _set_property(label, "service", "running" if up else "unknown" if state == "unknown" else "down")

    def text(self) -> str:
        """What the card shows, as plain lines (screen readers and tests)."""
        services = " ".join(label.text() for label in self.service_labels.values())
        lines = (
            self.name_label.text(),
            self.role_label.text(),
            self.subline.text(),
            self.transition_bar.format() if self.transition_bar.isVisibleTo(self) else "",
            f"Heartbeats: {self.heartbeats.text()}",
            self.gauge.text(),
            f"Clock: {self.clock.text()}",
            f"Peer link: {self.link.text()}",
            f"Services: {services}",
            f"Modes: {self.modes.text()}",
            f"Synchronous: {self.synchronous.text()}" if self.synchronous.isVisibleTo(self) else "",
            f"Witness: {self.witness.text()}" if self.witness.isVisibleTo(self) else "",
            self.decision.text(),
            self.messages.toolTip(),
        )
        return "\n".join(line for line in lines if line)


def admin_console_link(url: str) -> str:
    """The server's address as a link to its Administration Console."""
    url = html.escape(url, quote=True)
    return f'<a href="{url}/admin/">{url}</a>'


def _fact(name: str) -> QLabel:
    label = QLabel("\u2014", objectName=name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _set_property(widget: QWidget, name: str, value: str) -> None:
    if widget.property(name) != value:
        widget.setProperty(name, value)
        restyle(widget)
