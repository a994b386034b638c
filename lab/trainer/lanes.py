"""The timeline plot's lanes, labels and time axis, without Qt.

The trainer panel's plot (``ipics_desktop.trainer.timeline_plot``) paints them with Qt;
the after-action report (``ipics_lab.report.plot``) draws the same picture as SVG, so
a trainer sees the same lanes, colours and axis in both.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# the desktop's colours (ipics_desktop.shared.style): the lab cannot import them
ONLINE, OFFLINE, INFO, ERROR, IDLE = "#1e7b34", "#b35c00", "#1f5fa8", "#b3261e", "#5f6368"


@dataclass(frozen=True)
class Lane:
    kind: str
    title: str
    colour: str


LANES = (
    Lane("heartbeat", "Heartbeats", ONLINE),
    Lane("missed", "Missed heartbeats", OFFLINE),
    Lane("role", "Role / HA changes", INFO),
    Lane("witness", "Witness votes", "#00796b"),
    Lane("synchronous", "Synchronous", "#5d4037"),
    Lane("client", "Clients", "#6a3d9a"),
    Lane("fault", "Faults", ERROR),
    Lane("action", "Admin actions", INFO),
    Lane("message", "Messages", OFFLINE),
    Lane("narration", "Narration", IDLE),
    Lane("expectation", "Expectations", ONLINE),
)
SERVER_COLOURS = {"primary": "#1f5fa8", "secondary": "#8e24aa"}
AXES = {"emulated": "emulated seconds", "real": "real seconds"}
LABELLED = ("role", "synchronous", "fault", "action")  # lanes whose markers carry a short label
#: lanes of the modes beyond IPICS: shown once they hold an event (an IPICS pair has none)
OPTIONAL = ("witness", "synchronous")


def server_colour(server: str | None, fallback: str) -> str:
    return SERVER_COLOURS.get(server or "", fallback)


def nice_step(span: float, ticks: int = 8) -> float:
    raw = max(span / ticks, 1e-6)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return mult * power
    return 10 * power


def axis_step(span: float) -> float:
    """Between grid lines: whole minutes (1, 2, 5, 10 ...) on a long run."""
    return nice_step(span) if span < 300 else 60 * nice_step(span / 60)


def format_seconds(t: float, span: float) -> str:
    """An axis label: seconds for a short run, minutes (m:ss) for a long one."""
    if span >= 300:
        sign = "-" if t < 0 else ""
        minutes, seconds = divmod(round(abs(t)), 60)
        return f"{sign}{minutes}:{seconds:02d}"
    return f"{t:g} s"


def short_label(text: str, limit: int = 30) -> str:
    """The marker's label: a role change as its server and new state (``secondary
    \u2192 active``), anything else without its parentheses, shortened."""
    words = re.sub(r"\s*\([^)]*\)", "", text)
    if " -> " in words:
        server = words.split(": ", 1)[0] if ": " in words else ""
        words = (f"{server} " if server else "") + "\u2192 " + words.rsplit(" -> ", 1)[1]
    return words if len(words) <= limit else words[: limit - 1] + "\u2026"


def client_colour(text: str, fallback: str) -> str:
    """A client event's colour: amber offline, green back online."""
    low = text.lower()
    if "offline" in low or "disconnect" in low or "dropped" in low:
        return OFFLINE
    if "reconnect" in low or "online" in low:
        return ONLINE
    return fallback
