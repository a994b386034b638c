"""One channel or VTG on the console: its name, who is talking, and its push-to-talk button.

Hold the button (mouse, or Space while it has the keyboard focus) to talk; release to
stop.  The floor allows one talker: pressing while someone else talks shows who holds
it and takes nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from ipics_clients.talk import TalkFloor
from ipics_desktop.shared.style import IDLE, TALKING, restyle


class TalkGroupRow(QFrame):
    def __init__(self, kind: str, group: dict, floor: TalkFloor, me: str, parent=None):
        super().__init__(parent)
        self.kind, self.group_id, self.name = kind, group["id"], group["name"]
        self.floor, self.me = floor, me
        self.setObjectName("talkGroupRow")
        word = "Channel" if kind == "channel" else "VTG"

        self.title = QLabel(f"<b>{_escape(self.name)}</b>")
        self.title.setAccessibleName(f"{word} {self.name}")
        detail = QLabel(word if kind == "channel" else f"VTG of {len(group.get('channels', []))} channel(s)")
        detail.setStyleSheet(f"color: {IDLE};")
        self.talker = QLabel(objectName=f"talker:{kind}:{self.name}")  # its text is what a reader says
        self.talker.setMinimumWidth(180)

        self.ptt = QPushButton("PTT", objectName=f"ptt:{kind}:{self.name}")
        self.ptt.setProperty("ptt", True)
        self.ptt.setAccessibleName(f"Push to talk on {self.name}")
        self.ptt.setToolTip(f"Hold to talk on {self.name} (Space while focused)")
        self.ptt.setAutoDefault(False)
        self.ptt.pressed.connect(self.press)
        self.ptt.released.connect(self.release)

        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.title)
        names.addWidget(detail)
        row = QHBoxLayout(self)
        row.addLayout(names, 2)
        row.addWidget(self.talker, 3)
        row.addWidget(self.ptt)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.show_talker(floor.talker(self.group_id))

    def press(self) -> None:
        if not self.floor.press(self.group_id, self.me):
            self._set(self.ptt, busy=True)
            self.show_talker(self.floor.talker(self.group_id))

    def release(self) -> None:
        self.floor.release(self.group_id, self.me)
        self._set(self.ptt, busy=False)

    def show_talker(self, talker: str | None) -> None:
        if talker is None:
            text, colour = "Idle", IDLE
        elif talker == self.me:
            text, colour = "You are talking", TALKING
        else:
            text, colour = f"{talker} is talking", TALKING
        self.talker.setText(text)
        self.talker.setStyleSheet(f"color: {colour}; font-weight: {'bold' if talker else 'normal'};")
        self._set(self, talking=talker is not None)
        self._set(self.ptt, talking=talker == self.me)
        self.ptt.setText("TALKING" if talker == self.me else "PTT")
        self.ptt.setAccessibleDescription(f"{self.talker.text()}. Hold to talk: mouse button or the Space key")
        if talker is None:
            self._set(self.ptt, busy=False)

    @staticmethod
    def _set(widget, **props) -> None:
        for name, value in props.items():
            widget.setProperty(name, value)
        restyle(widget)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
