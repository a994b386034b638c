"""The network between the sites on the trainer panel (``networkBox``): which topology
the lab runs in and the sites' addresses, packet loss between two sites at a rate,
the clients' site isolated from a server, and Heal network.

In the sites topology the kernel makes these faults (``ipics_lab.netfaults``); the
loopback lab has no network to drop packets on, so packet loss and isolation are
greyed out there with the reason (``Offers``), as they are on a lab this process cannot
reach.  Each fault is a method of the lab's ``Actions``, run as a task on the loop.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
)

from ipics_clients.tasks import Tasks
from ipics_desktop.trainer.controls import button
from ipics_desktop.trainer.sentences import refusal, say
from ipics_lab.sites import SERVER_SITES, SITE_OCTETS
from ipics_lab.trainer.offers import Offers

#: the packet-loss rate offered first (the issue's examples: 5 % and 30 %)
DEFAULT_LOSS_PERCENT = 5.0


def sites_words(summary: dict) -> str:
    """Where the lab's processes run, for the trainer: the sites' addresses, or loopback."""
    sites = summary.get("sites")
    if not sites:
        return "Loopback: every process on this host (127.0.0.x)"
    where = "  \u00b7  ".join(f"{name} {sites[name]['address']}" for name in SITE_OCTETS if name in sites)
    return f"Sites on {sites.get('network', '?')}: {where}  \u00b7  this host {sites.get('host', '?')}"


class NetworkBox(QGroupBox):
    """The sites (``networkSites``), packet loss (``networkLossFrom``, ``networkLossTo``,
    ``networkLossPercent``, ``networkPacketLoss``), isolation (``networkIsolateFrom``,
    ``networkIsolateClients``), ``networkHeal``, the outcome (``networkResult``) and why
    some are greyed out (``networkUnavailable``)."""

    def __init__(self, lab_actions, tasks: Tasks, offers: Offers, summary: dict, parent=None):
        super().__init__("Network between the sites", parent, objectName="networkBox")
        self.lab_actions, self.tasks = lab_actions, tasks
        self._running = False
        self.sites_label = QLabel(sites_words(summary), objectName="networkSites")
        self.sites_label.setWordWrap(True)
        self.sites_label.setTextFormat(Qt.TextFormat.PlainText)

        self.loss_from = _sites_combo("networkLossFrom", "Packet loss between this site", "primary")
        self.loss_to = _sites_combo("networkLossTo", "and this site", "secondary")
        self.loss_percent = QDoubleSpinBox(objectName="networkLossPercent")
        self.loss_percent.setRange(0.1, 100)
        self.loss_percent.setDecimals(1)
        self.loss_percent.setSingleStep(5)
        self.loss_percent.setValue(DEFAULT_LOSS_PERCENT)
        self.loss_percent.setSuffix(" %")
        self.loss_percent.setAccessibleName("Packet loss rate in percent, each way")
        self.packet_loss = button("Drop packets each way", "networkPacketLoss", "Drop packets between the two sites")
        self.packet_loss.clicked.connect(self.on_packet_loss_clicked)

        self.isolate_from = QComboBox(objectName="networkIsolateFrom")
        self.isolate_from.setAccessibleName("Isolate the clients' site from this server")
        for name in SERVER_SITES:
            self.isolate_from.addItem(name, name)
        self.isolate = button("Isolate clients", "networkIsolateClients", "Isolate the clients' site from the server")
        self.isolate.clicked.connect(self.on_isolate_clicked)
        self.heal = button("Heal network", "networkHeal", "Heal every network fault, nothing restarted")
        self.heal.clicked.connect(lambda _=False: self._run("heal_network", "Healing the network"))

        self.result = QLabel(objectName="networkResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.unavailable = QLabel(objectName="networkUnavailable")
        self.unavailable.setWordWrap(True)
        self.unavailable.setTextFormat(Qt.TextFormat.PlainText)

        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setSpacing(3)
        grid.addWidget(self.sites_label, 0, 0, 1, 3)
        grid.addWidget(QLabel("Packet loss:"), 1, 0)
        grid.addWidget(self.loss_from, 1, 1)
        grid.addWidget(self.loss_to, 1, 2)
        grid.addWidget(self.loss_percent, 2, 0)
        grid.addWidget(self.packet_loss, 2, 1, 1, 2)
        grid.addWidget(QLabel("Clients' site from:"), 3, 0)
        grid.addWidget(self.isolate_from, 3, 1)
        grid.addWidget(self.isolate, 3, 2)
        grid.addWidget(self.result, 4, 0, 1, 2)
        grid.addWidget(self.heal, 4, 2)
        grid.addWidget(self.unavailable, 5, 0, 1, 3)

        self.reasons: dict[str, str] = {}
        controls = {
            "packet_loss": (self.loss_from, self.loss_to, self.loss_percent, self.packet_loss),
            "isolate_clients": (self.isolate_from, self.isolate),
            "heal_network": (self.heal,),
        }
        self._controls = controls
        for fault, widgets in controls.items():
            reason = offers.why_not(fault)
            if reason:
                self.reasons[fault] = reason
                for widget in widgets:
                    widget.setToolTip(reason)
        said = list(dict.fromkeys(self.reasons.values()))  # one sentence per reason
        self.unavailable.setText("\n".join(said))
        self.unavailable.setVisible(bool(said))
        self._enable()

    # ------------------------------------------------------------------ faults
    def on_packet_loss_clicked(self) -> None:
        a, b = self.loss_from.currentData(), self.loss_to.currentData()
        if a == b:
            say(self.result, "Packet loss is between two different sites: pick another.", "refused")
            return
        percent = round(self.loss_percent.value(), 1)
        self._run("packet_loss", f"Dropping {percent:g} % between {a} and {b}", a, b, percent)

    def on_isolate_clicked(self) -> None:
        server = self.isolate_from.currentData()
        self._run("isolate_clients", f"Isolating the clients' site from the {server}", server)

    def _run(self, method: str, words: str, *args) -> None:
        if self._running:
            return
        self._running = True
        self._enable()
        say(self.result, f"{words}\u2026", "info")
        self.tasks.start(self._fault(method, args))

    async def _fault(self, method: str, args: tuple) -> None:
        try:
            sentence = await getattr(self.lab_actions, method)(*args)
            say(self.result, str(sentence or "done"), "ok")
        except Exception as exc:  # noqa: BLE001 (shown as a sentence, never a traceback)
            say(self.result, refusal(exc), "refused")
        finally:
            self._running = False
            self._enable()

    def _enable(self) -> None:
        for fault, widgets in self._controls.items():
            for widget in widgets:
                widget.setEnabled(fault not in self.reasons and not self._running)


def _sites_combo(name: str, accessible: str, chosen: str) -> QComboBox:
    combo = QComboBox(objectName=name)
    combo.setAccessibleName(accessible)
    for site in SITE_OCTETS:
        combo.addItem(site, site)
    combo.setCurrentIndex(combo.findData(chosen))
    return combo
