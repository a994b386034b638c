"""The telephone panel: a standard desk telephone over the Qt-free ``Telephone``.

Its number, a state line in words and colour (connected green, ringing amber, dropped
or busy red), the display (``Telephone.display``: the channel or VTG joined and who
talks), what the call is (the user logged in, the server that took it), the last lines
of the voice menu, a 12-key keypad that sends tones while a call is up, Call (the IPICS
system number), Answer (an incoming dial-out call, when auto-answer is off), Hang up,
and the auto-answer switch.

The chapter's rule for these ("HA Affect On Connected Devices"): on a failover dial-in
calls drop and the user calls back after a short delay; dial-out participants are not
called back.  The panel says which happened; it never redials by itself.

Calls, tones, answer and hang-up run as tasks on the loop, in the order pressed; the
window never waits.  Hang up also ends a call that is still being placed.
Keyboard: digits, ``*`` and ``#`` (tones), Alt+C Call, Alt+A Answer, Alt+H Hang up,
Alt+U auto-answer.

Signals:
    changed: the panel was drawn again (after the telephone changed; one drawing for
        the changes of one turn of the loop).
    closed: the window was closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.tasks import InOrder, Tasks
from ipics_clients.telephone import State, Telephone
from ipics_desktop.shared.keypad import Keypad
from ipics_desktop.shared.style import ERROR, IDLE, INFO, OFFLINE, ONLINE, restyle
from ipics_server.dial.engine import SYSTEM_NUMBER

#: how many of the voice menu's last prompts the panel shows
HEARD_LINES = 4
#: the state line: the words (never colour alone) and the colour's name in the style sheet
STATE_WORDS = {
    State.ON_HOOK: ("On hook", "idle"),
    State.CALLING: (f"Calling IPICS {SYSTEM_NUMBER}...", "info"),
    State.RINGING: ("Ringing: incoming call", "ringing"),
    State.CONNECTED: ("Connected", "connected"),
    State.BUSY: ("All circuits busy", "failed"),
    State.DROPPED: ("Call dropped", "failed"),
}


def state_words(phone: Telephone) -> tuple[str, str]:
    """The state line's text and its colour name."""
    return STATE_WORDS[phone.state]


def call_details(phone: Telephone) -> str:
    """What the call is, or what to do next, in one line."""
    incoming = phone.server is not None and not phone.server.startswith(("http://", "https://"))
    if phone.state == State.RINGING:
        where = f" to join {phone.group}" if phone.group else ""
        return f"IPICS is calling{where}." + ("" if phone.auto_answer else " Press Answer.")
    if phone.state == State.CONNECTED and incoming:
        return f"Dial-out call from IPICS {phone.server}" + (f" on {phone.group}" if phone.group else "")
    if phone.state == State.CONNECTED:
        who = f"Logged in as {phone.user}" if phone.user else "Not logged in yet"
        return f"{who}, via {phone.server}"
    if phone.state == State.DROPPED and incoming:
        # Chapter: IPICS does not call dial-out users back after a failover.
        return "IPICS ended the call. A dispatcher must invite this number again."
    if phone.state == State.DROPPED:
        return "The server ended the call. Call back after a short delay."
    if phone.state == State.BUSY:
        return "No IPICS server took the call. Try again after a short delay."
    if phone.state == State.CALLING:
        return "Trying the servers of the trunk in turn."
    return f"Call dials IPICS {SYSTEM_NUMBER}."


class TelephonePanel(QWidget):
    changed = Signal()
    closed = Signal()

    def __init__(self, *, telephone: Telephone, parent=None):
        super().__init__(parent)
        self.telephone = telephone
        self.tasks = Tasks()
        self.order = InOrder()  # tones reach the server in the order pressed
        self._calling: asyncio.Task | None = None
        self.setObjectName("telephonePanel")
        self.setAccessibleName(f"Telephone {telephone.number}")
        self.setWindowTitle(f"Telephone {telephone.number}")
        self.setStyleSheet(PANEL_STYLE)

        self.number_label = QLabel(f"\u260e {telephone.number}", objectName="telephoneNumber")
        self.number_label.setAccessibleName("Telephone number")
        system = QLabel(f"IPICS {SYSTEM_NUMBER}", objectName="telephoneSystemNumber")
        system.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(self.number_label)
        top.addStretch(1)
        top.addWidget(system)

        self.state_label = QLabel(objectName="telephoneState")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display_label = _lcd_label("telephoneDisplay")
        self.display_label.setProperty("lead", True)
        self.display_label.setFixedHeight(30)
        self.details_label = _lcd_label("telephoneDetails")
        self.details_label.setFixedHeight(36)  # two lines: the display never jumps
        self.details_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.heard_label = _lcd_label("telephoneHeard")
        self.heard_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.heard_label.setFixedHeight(HEARD_LINES * 34)
        lcd = QFrame(objectName="telephoneLcd")
        lcd_layout = QVBoxLayout(lcd)
        lcd_layout.setContentsMargins(10, 8, 10, 8)
        lcd_layout.setSpacing(4)
        lcd_layout.addWidget(self.display_label)
        lcd_layout.addWidget(self.details_label)
        rule = QFrame(objectName="telephoneLcdRule")
        rule.setFixedHeight(1)
        lcd_layout.addWidget(rule)
        lcd_layout.addWidget(self.heard_label)

        self.keypad = Keypad(
            prefix="telephoneKey",
            key_size=QSize(72, 44),
            spacing=QSize(10, 8),
            tooltip="Tone {key} (key {key} on the keyboard)",
            shortcuts=True,
        )
        self.keypad.key_clicked.connect(self.press_key)
        self.keys = self.keypad.keys

        self.call_button = _call_key("&Call", "telephoneCall", f"Call IPICS {SYSTEM_NUMBER}", "call")
        self.call_button.clicked.connect(self.call)
        self.answer_button = _call_key("&Answer", "telephoneAnswer", "Answer the incoming call", "call")
        self.answer_button.clicked.connect(self.answer)
        self.hang_up_button = _call_key("&Hang up", "telephoneHangUp", "Hang up", "hangUp")
        self.hang_up_button.clicked.connect(self.hang_up)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        for button in (self.call_button, self.answer_button, self.hang_up_button):
            buttons.addWidget(button)

        self.auto_answer = QCheckBox("A&uto-answer incoming calls", objectName="telephoneAutoAnswer")
        self.auto_answer.setAccessibleName("Auto-answer incoming calls")
        self.auto_answer.setToolTip(
            "A dial-out call from IPICS is picked up at once, as by a person waiting at the telephone"
        )
        self.auto_answer.setChecked(telephone.auto_answer)
        self.auto_answer.toggled.connect(self._on_auto_answer_toggled)

        body = QFrame(objectName="telephoneBody")
        column = QVBoxLayout(body)
        column.setContentsMargins(16, 14, 16, 14)
        column.setSpacing(10)
        column.addLayout(top)
        column.addWidget(self.state_label)
        column.addWidget(lcd)
        column.addLayout(buttons)
        column.addLayout(self.keypad.centred())
        column.addWidget(self.auto_answer)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addWidget(body)
        self.setFixedWidth(360)

        # The telephone's changes come in bursts (a voice prompt, then the state; the
        # ring, then its VTG): one render per turn of the loop shows them together.
        self._render_soon = QTimer(self, singleShot=True, interval=0)
        self._render_soon.timeout.connect(self.redraw)
        telephone.on_change = self._on_telephone_change
        self.redraw()

    # ------------------------------------------------------------- keys
    def call(self) -> None:
        """Call: dial the IPICS system number; the trunk tries each server in turn."""
        self._calling = self._run(self.telephone.dial)

    def press_key(self, key: str) -> None:
        """A keypad key: a tone on the call (the voice menu's user ID, PIN and choices)."""
        if self.telephone.state == State.CONNECTED:
            self._run(lambda: self.telephone.press(key))

    def answer(self) -> None:
        self.tasks.start(self.telephone.answer())

    def hang_up(self) -> None:
        calling = self._calling
        if calling is not None and not calling.done() and self.telephone.state == State.CALLING:
            calling.cancel()  # a call still being placed: give it up
        self._run(self.telephone.hang_up)

    def _on_auto_answer_toggled(self, on: bool) -> None:
        self.telephone.auto_answer = on
        if on and self.telephone.state == State.RINGING:
            self.answer()  # switched on while it rings: picked up, as it says
        self.redraw()

    # ------------------------------------------------------------- async
    def _run(self, action: Callable[[], Awaitable[object]]) -> asyncio.Task:
        return self.tasks.start(self.order.run(action))

    # ------------------------------------------------------------- render
    def _on_telephone_change(self, _telephone: Telephone) -> None:
        self._render_soon.start()

    def redraw(self) -> None:
        phone = self.telephone
        words, colour = state_words(phone)
        self.state_label.setText(words)
        if self.state_label.property("state") != colour:
            self.state_label.setProperty("state", colour)
            restyle(self.state_label)
        self.display_label.setText(phone.display)
        self.details_label.setText(call_details(phone))
        heard = phone.heard[-HEARD_LINES:]
        self.heard_label.setText("\n".join(f"\u00bb {line}" for line in heard) if heard else "")
        self.heard_label.setToolTip("\n".join(phone.heard[-20:]))
        connected = phone.state == State.CONNECTED
        for key in self.keys.values():
            key.setEnabled(connected)
        self.call_button.setEnabled(phone.state not in (State.CALLING, State.CONNECTED, State.RINGING))
        self.answer_button.setEnabled(phone.state == State.RINGING and not phone.auto_answer)
        # While it rings the call can only be answered (or left to ring out).
        self.hang_up_button.setEnabled(phone.state in (State.CALLING, State.CONNECTED))
        self.setAccessibleDescription(self.text())
        self.changed.emit()

    def text(self) -> str:
        """What the panel shows, as plain lines (for screen readers and tests)."""
        return "\n".join(
            filter(
                None,
                (
                    self.number_label.text(),
                    self.state_label.text(),
                    self.display_label.text(),
                    self.details_label.text(),
                    self.heard_label.text(),
                ),
            )
        )

    def closeEvent(self, event) -> None:
        self.tasks.cancel_all()
        self._render_soon.stop()
        if self.telephone.on_change == self._on_telephone_change:
            self.telephone.on_change = None
        super().closeEvent(event)
        self.closed.emit()


# --------------------------------------------------------------------- parts
def _lcd_label(name: str) -> QLabel:
    label = QLabel(objectName=name)
    label.setTextFormat(Qt.TextFormat.PlainText)  # a server's words are never markup
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def _call_key(text: str, name: str, accessible: str, kind: str) -> QPushButton:
    button = QPushButton(text, objectName=name)
    button.setProperty("kind", kind)
    button.setAccessibleName(accessible)
    button.setAutoDefault(False)
    button.setMinimumHeight(36)
    return button


PANEL_STYLE = f"""
QWidget#telephonePanel {{ background: #e9ecef; }}
QFrame#telephoneBody {{
    border-radius: 18px; border: 1px solid #9aa3ad;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #fbfbfc, stop:1 #dde1e6);
}}
QLabel#telephoneNumber {{ font-size: 14pt; font-weight: bold; color: #1c2630; }}
QLabel#telephoneSystemNumber {{ font-size: 9pt; color: {IDLE}; }}
QLabel#telephoneState {{
    font-size: 12pt; font-weight: bold; padding: 6px; border-radius: 6px; border: 2px solid {IDLE};
    color: {IDLE}; background: #f1f3f4;
}}
QLabel#telephoneState[state="info"] {{ color: {INFO}; border-color: {INFO}; background: #e8f0fe; }}
QLabel#telephoneState[state="connected"] {{ color: white; border-color: #14532a; background: {ONLINE}; }}
QLabel#telephoneState[state="ringing"] {{ color: #3d2000; border-color: {OFFLINE}; background: #ffc66d; }}
QLabel#telephoneState[state="failed"] {{ color: white; border-color: #7f0000; background: {ERROR}; }}
QFrame#telephoneLcd {{ background: #d7e4d0; border: 2px solid #6f7d69; border-radius: 6px; }}
QFrame#telephoneLcdRule {{ background: #9fb097; }}
QLabel#telephoneDisplay {{ font-size: 14pt; font-weight: bold; color: #16230f; }}
QLabel#telephoneDetails {{ font-size: 9pt; color: #2d3b27; }}
QLabel#telephoneHeard {{ font-size: 9pt; font-style: italic; color: #2d3b27; }}
QPushButton[kind] {{ font-weight: bold; border-radius: 8px; padding: 4px 10px; border: 1px solid #5f6368; }}
QPushButton[kind="call"] {{ background: #d6efdc; color: #14532a; border-color: {ONLINE}; }}
QPushButton[kind="hangUp"] {{ background: #fadbd8; color: #7f0000; border-color: {ERROR}; }}
QPushButton[kind]:disabled {{ background: #eceff1; color: #9aa0a6; border-color: #c4c8cc; }}
QPushButton[kind]:focus, QPushButton[keypad="true"]:focus {{ border: 2px solid {INFO}; }}
QPushButton[keypad="true"] {{
    border-radius: 10px; border: 1px solid #5f6368;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #ffffff, stop:1 #d5d9de);
}}
QPushButton[keypad="true"]:pressed {{ background: #b9bec4; }}
QPushButton[keypad="true"]:disabled {{ background: #eceff1; border-color: #c4c8cc; }}
QLabel#keypadDigit {{ color: #1c2630; font-size: 14pt; font-weight: bold; background: transparent; }}
QLabel#keypadLetters {{ color: #5f6368; font-size: 7pt; font-weight: bold; background: transparent; }}
QLabel#keypadDigit:disabled, QLabel#keypadLetters:disabled {{ color: #a8adb2; }}
"""
