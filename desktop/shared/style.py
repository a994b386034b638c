"""Colours and the style sheet: one place, so every window speaks the same visual language.

Green is "online / talking is yours", amber "offline, still usable", red "someone
else holds the floor", blue "for your information".  Colour is never the only cue:
every state is also written in words.
"""

from __future__ import annotations

ONLINE = "#1e7b34"
OFFLINE = "#b35c00"
INFO = "#1f5fa8"
ERROR = "#b3261e"
TALKING = "#c62828"
IDLE = "#5f6368"

BANNER = {
    "online": (ONLINE, "#e6f4ea"),
    "reconnected": (ONLINE, "#e6f4ea"),
    "offline": (OFFLINE, "#fff4e0"),
    "paused": (OFFLINE, "#fff4e0"),
    "redirected": (INFO, "#e8f0fe"),
    "logged-out": (INFO, "#e8f0fe"),
    "error": (ERROR, "#fce8e6"),
}

STYLE_SHEET = """
QPushButton[ptt="true"] {
    min-width: 7em; min-height: 2.4em; font-weight: bold;
    border: 2px solid #1e7b34; border-radius: 6px; background: #e6f4ea; color: #1e7b34;
}
QPushButton[ptt="true"]:focus { border: 3px solid #1f5fa8; }
QPushButton[ptt="true"]:pressed, QPushButton[ptt="true"][talking="true"] {
    background: #c62828; border-color: #8e0000; color: white;
}
QPushButton[ptt="true"][busy="true"] { background: #fce8e6; border-color: #b3261e; color: #b3261e; }
QFrame#talkGroupRow { border: 1px solid #d0d4d9; border-radius: 6px; background: white; }
QFrame#talkGroupRow[talking="true"] { border: 2px solid #c62828; background: #fff5f5; }
QLabel[role="heading"] { font-size: 15pt; font-weight: bold; }
"""


def banner_css(kind: str) -> str:
    fg, bg = BANNER.get(kind, (INFO, "#e8f0fe"))
    return (
        f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {fg}; border-radius: 4px; "
        f"padding: 6px 10px; font-weight: bold; }}"
    )


def restyle(widget) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
