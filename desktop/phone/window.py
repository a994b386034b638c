"""The IP phone window: a Cisco Unified IP Phone over the Qt-free ``PhoneBrowser``.

The screen (a header with the line and the time, the title, the prompt, the object, a
status line with the hook state), four softkeys under it (with "more" when a screen
has more), the navigation cluster with Select in the middle, the keypad, Services,
the speaker and the handset.  What the keys do is the browser's (the phone's own
softkeys and their buttons, typing into an input, the hook switch: ``phone_keys``),
and what the screen says is ``phone_screen``'s; its screen widget draws it.
Keys that talk to a service run as tasks on the loop, one after the other in the order
pressed, so a push-to-talk release never overtakes its press; the window never waits.
Services cancels whatever is still loading: it always brings the phone home.

Pushes: with the phone's push receiver attached (``attach_push_receiver``; its
``execute`` is this window's ``execute``), a page a service pushes replaces whatever
is still loading, as Services does, and the Web access switch (the phone's setting
that lets servers push to it) turns pushes on and off: the chapter's two failover
paths, the new active redirecting the phone, or the user opening Services and logging
in again.

The screen is a widget of its own (``screen.PhoneScreen``); the computer's keyboard
reaches the keys through ``keyboard.PhoneKeyboard``: digits, ``*`` and ``#``, Up and
Down, Enter (Select), Escape (Back), F1-F4 (softkeys 1-4, held for push-to-talk),
Backspace, and typed text into an input field.

Signals:
    changed: the screen was drawn again (after every change of the browser).
    hook_changed(bool): True off hook, False on hook.
    closed: the window was closed.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ipics_clients.phone_browser import Action, PhoneBrowser
from ipics_clients.phone_keys import softkey_words
from ipics_clients.phone_push import PushReceiver
from ipics_clients.phone_xml import SoftKey, Text
from ipics_clients.tasks import InOrder, Tasks
from ipics_desktop.phone.keyboard import PhoneKeyboard
from ipics_desktop.phone.screen import PhoneScreen
from ipics_desktop.shared.keypad import Keypad
from ipics_desktop.shared.style import restyle


# --------------------------------------------------------------------- the window
class PhoneWindow(QWidget):
    changed = Signal()
    hook_changed = Signal(bool)
    closed = Signal()

    def __init__(self, *, browser: PhoneBrowser, extension: str = "", parent=None):
        super().__init__(parent)
        self.browser, self.extension = browser, extension
        self.tasks = Tasks()  # ordinary keys: Services cancels them
        self.ptt_tasks = Tasks()  # push-to-talk presses and releases: never cancelled by a key
        self.order = InOrder(on_change=self._render_prompt)  # keys reach the service in the order pressed
        self._off_hook = browser.hook.off_hook  # as last drawn: hook_changed when it changes
        self.receiver: PushReceiver | None = None
        self.web_access_button: QPushButton | None = None
        self.setObjectName("phoneWindow")
        self.setAccessibleName("IP phone")
        self.setWindowTitle(f"Cisco Unified IP Phone {browser.model} - {extension or 'no line'}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(PHONE_STYLE)

        self.handset = HandsetButton(objectName="phoneHandset")
        self.handset.setAccessibleName("Handset")
        self.handset.toggled.connect(self._on_handset_toggled)

        brand = QLabel(f"IP PHONE  {browser.model}", objectName="phoneBrand")
        brand.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._top_row = QHBoxLayout()  # the Web access switch goes left of the brand
        self._top_row.addStretch(1)
        self._top_row.addWidget(brand)
        self.lcd = PhoneScreen(browser, extension)
        self.screen_frame = self.lcd.lcd
        # The screen's labels by the names the tests and the testing helpers know.
        self.line_label, self.clock_label = self.lcd.line_label, self.lcd.clock_label
        self.title_label, self.prompt_label = self.lcd.title_label, self.lcd.prompt_label
        self.position_label, self.status_label = self.lcd.position_label, self.lcd.status_label
        self.rows, self.text_label = self.lcd.rows, self.lcd.text_label
        softkey_row = QHBoxLayout()
        softkey_row.setSpacing(8)
        self.softkeys: list[QPushButton] = []
        for slot in range(4):
            button = QPushButton(objectName=f"phoneSoftKey{slot + 1}")
            button.setProperty("softkey", True)
            button.setAutoDefault(False)
            button.setToolTip(f"Softkey {slot + 1} (F{slot + 1})")
            button.pressed.connect(lambda s=slot: self.on_softkey_pressed(s))
            button.released.connect(lambda s=slot: self.on_softkey_released(s))
            button.clicked.connect(lambda _=False, s=slot: self.on_softkey_clicked(s))
            softkey_row.addWidget(button)
            self.softkeys.append(button)

        self.services_button = _key("Services", "phoneServices", "Services: the list of phone services", "function")
        self.services_button.clicked.connect(self.press_services)
        self.speaker_button = _key("Speaker", "phoneSpeaker", "Speaker", "function")
        self.speaker_button.setCheckable(True)
        self.speaker_button.clicked.connect(self._on_speaker_clicked)
        controls = QHBoxLayout()
        left = QVBoxLayout()
        left.addStretch(1)
        left.addWidget(self.services_button)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addStretch(1)
        right.addWidget(self.speaker_button)
        right.addStretch(1)
        controls.addLayout(left)
        controls.addStretch(1)
        controls.addWidget(self._build_nav_cluster())
        controls.addStretch(1)
        controls.addLayout(right)

        self.keypad = Keypad(prefix="phoneKey", key_size=QSize(72, 46), spacing=QSize(14, 6))
        self.keypad.key_clicked.connect(self.press_key)
        self.keys = self.keypad.keys

        column = QVBoxLayout()
        column.setSpacing(8)
        column.addLayout(self._top_row)
        column.addWidget(self.lcd, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addLayout(softkey_row)
        column.addLayout(controls)
        column.addLayout(self.keypad.centred())
        body = QFrame(objectName="phoneBody")
        body_layout = QHBoxLayout(body)
        body_layout.setContentsMargins(12, 12, 18, 12)
        body_layout.setSpacing(16)
        body_layout.addWidget(self.handset)
        body_layout.addLayout(column)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addWidget(body)

        # Keys reach the phone whichever of its buttons has the focus.
        self.keyboard = PhoneKeyboard(self, self)
        self.installEventFilter(self.keyboard)
        for child in self.findChildren(QWidget):
            child.installEventFilter(self.keyboard)
        self._clock_timer = QTimer(self)
        self._clock_timer.timeout.connect(self.lcd.draw_clock)
        self._clock_timer.start(1000)
        browser.on_change = self._on_browser_change
        self.redraw()

    # ------------------------------------------------------------- construction
    def _build_nav_cluster(self) -> QFrame:
        cluster = QFrame(objectName="phoneNavCluster")
        cluster.setFixedSize(136, 136)
        self.nav_up = _key("\u25b2", "phoneNavUp", "Navigate up", "nav")
        self.nav_down = _key("\u25bc", "phoneNavDown", "Navigate down", "nav")
        self.nav_up.setAutoRepeat(True)
        self.nav_down.setAutoRepeat(True)
        self.nav_up.clicked.connect(lambda: self.navigate(-1))
        self.nav_down.clicked.connect(lambda: self.navigate(+1))
        self.select_button = QPushButton("Select", objectName="phoneSelect")
        self.select_button.setAccessibleName("Select")
        self.select_button.setFixedSize(54, 54)
        self.select_button.setAutoDefault(False)
        self.select_button.clicked.connect(self.select)
        grid = QGridLayout(cluster)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setSpacing(0)
        grid.addWidget(self.nav_up, 0, 1, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.select_button, 1, 1, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.nav_down, 2, 1, Qt.AlignmentFlag.AlignCenter)
        return cluster

    # ------------------------------------------------------------- pushes
    async def take_pushes(self, receiver: PushReceiver) -> None:
        """Start the phone's push receiver (``execute`` its target) and attach it: listening
        before the first request, which tells a service where to push.  OSError when it
        cannot listen: the phone runs without pushes."""
        await receiver.start()
        self.browser.headers.update(receiver.headers())
        self.attach_push_receiver(receiver)

    def attach_push_receiver(self, receiver: PushReceiver) -> None:
        """The phone's push receiver, whose ``execute`` is this window's: adds the Web
        access switch (Cisco: Settings > Admin > Web Access), which trainers turn off to
        show the failover path where the new active cannot reach the phone."""
        self.receiver = receiver
        button = QPushButton(objectName="phoneWebAccess")
        button.setCheckable(True)
        button.setChecked(receiver.enabled)
        button.setAutoDefault(False)
        button.setAccessibleName("Web access")
        button.setToolTip("Web access: lets an IPICS server push pages to this phone (the new active after a failover)")
        button.toggled.connect(self._on_web_access_toggled)
        button.installEventFilter(self.keyboard)
        self._top_row.insertWidget(0, button)
        self.web_access_button = button
        self._render_web_access()

    async def execute(self, url: str) -> None:
        """A service pushed ``url`` (``CiscoIPPhoneExecute``): it opens in turn with the
        keys pressed, so a push never races a key's page.  Like Services it first drops
        the keys still loading: after a failover those wait on the old server, which may
        have gone silent, and would hold the new active's page for their whole deadline."""
        self.tasks.cancel_all()
        self.ptt_tasks.cancel_all()
        await self.order.run(lambda: self.browser.execute(url))

    def _on_web_access_toggled(self, on: bool) -> None:
        if self.receiver is not None:
            self.receiver.enabled = on
        self._render_web_access()

    def _render_web_access(self) -> None:
        button = self.web_access_button
        if button is None:  # no push receiver attached: no switch
            return
        on = self.receiver is not None and self.receiver.enabled
        button.setText("Web access: on" if on else "Web access: off")
        button.setAccessibleDescription(
            "Servers may push pages to this phone" if on else "Servers cannot push pages to this phone"
        )

    # ------------------------------------------------------------- keys
    # The browser holds the rules (``PhoneBrowser``, ``phone_keys``): what a key does
    # there at once is drawn at once; the request it needs runs in turn (``_run``).
    def press_services(self) -> None:
        """The Services button: home, even while a slow service is still loading."""
        self.tasks.cancel_all()
        self._run(self.browser.press_services)

    def navigate(self, delta: int) -> None:
        """Up (-1) or Down (+1): the highlight of a list, the field of an input, a text's lines."""
        if isinstance(self.browser.screen.obj, Text):
            self.lcd.scroll_text(delta)
        else:
            self.browser.navigate(delta)

    def select(self) -> None:
        """Select: open the highlighted item; submit an input; dial a directory entry."""
        self._run(self.browser.select)

    def back(self) -> None:
        """Escape: Back, which is Exit to Services on a service's first screen."""
        self._run(self.browser.back)

    def press_key(self, key: str) -> None:
        """A keypad key: on a menu a digit opens that item (0 is the tenth); on an input
        it types into the focused field (multi-tap letters on a text field)."""
        self._run_action(self.browser.press_key(key))

    def type_text(self, text: str) -> bool:
        """Text from the computer's keyboard into the focused input field, if its flags allow."""
        return self.browser.type_text(text)

    def backspace(self) -> None:
        self.browser.backspace()

    def press_softkey(self, key: SoftKey) -> None:
        """A softkey let go (a key without ``URLDown``)."""
        self._run_action(self.browser.press_softkey(key))

    # softkey buttons: mouse, Space on a focused one, F1-F4 (the rules: ``SoftKeyRow``)
    def on_softkey_pressed(self, slot: int) -> None:
        key = self.browser.softkey_row.press(slot)
        if key is not None:  # push-to-talk
            self._set_held(slot, True)
            self._run(lambda: self.browser.softkey_down(key), ptt=True)

    def on_softkey_released(self, slot: int) -> None:
        key = self.browser.softkey_row.release(slot)
        if key is not None:
            self._set_held(slot, False)
            self._run(lambda: self.browser.softkey_up(key), ptt=True)

    def on_softkey_clicked(self, slot: int) -> None:
        key = self.browser.softkey_row.click(slot)
        if key is not None:
            self.press_softkey(key)
        self._render_softkeys()  # "more" turned the page

    def _set_held(self, slot: int, held: bool) -> None:
        self.softkeys[slot].setProperty("held", held)
        restyle(self.softkeys[slot])

    # hook switch
    def _on_handset_toggled(self, lifted: bool) -> None:
        if lifted != self.browser.hook.handset_lifted:
            self._set_hook(handset=lifted)

    def _on_speaker_clicked(self) -> None:
        self._set_hook(speaker=not self.browser.hook.speaker)

    def _set_hook(self, *, handset: bool | None = None, speaker: bool | None = None) -> None:
        self.browser.set_hook(handset=handset, speaker=speaker)  # drawn by redraw()

    # ------------------------------------------------------------- async
    @property
    def busy(self) -> bool:
        """A key's request is running (the prompt says "Requesting...")."""
        return self.order.running

    def _run(self, action: Action, *, ptt: bool = False) -> None:
        (self.ptt_tasks if ptt else self.tasks).start(self.order.run(action))

    def _run_action(self, action: Action | None) -> None:
        if action is not None:
            self._run(action)

    # ------------------------------------------------------------- render
    def _on_browser_change(self, _browser: PhoneBrowser) -> None:
        self.redraw()

    def redraw(self) -> None:
        self.lcd.draw(busy=self.busy)
        self._render_softkeys()
        self._render_status()
        self.screen_frame.setAccessibleDescription("\n".join(self.screen_lines()))
        self.changed.emit()

    def _render_prompt(self) -> None:
        self.lcd.draw_prompt(busy=self.busy)

    def _render_softkeys(self) -> None:
        for slot, (button, key) in enumerate(zip(self.softkeys, self.browser.softkey_row.slots, strict=True)):
            name, description = softkey_words(slot, key)
            ptt = key is not None and key.push_to_talk
            button.setText(key.name if key is not None else "")
            button.setEnabled(key is not None)
            button.setAccessibleName(name)
            button.setAccessibleDescription(description)
            if button.property("ptt") != ptt:
                button.setProperty("ptt", ptt)
                restyle(button)

    def _render_status(self) -> None:
        hook = self.browser.hook
        for button, checked in ((self.handset, hook.handset_lifted), (self.speaker_button, hook.speaker)):
            if button.isChecked() != checked:
                button.blockSignals(True)
                button.setChecked(checked)
                button.blockSignals(False)
        self.handset.update()
        if hook.off_hook != self._off_hook:  # lifted, hung up, or Dial put it on the speaker
            self._off_hook = hook.off_hook
            self.hook_changed.emit(hook.off_hook)
        self.lcd.draw_status()

    def screen_lines(self) -> list[str]:
        """What the screen shows, as plain lines (for screen readers and tests)."""
        return self.lcd.lines([b.text() for b in self.softkeys])

    def closeEvent(self, event) -> None:
        self.tasks.cancel_all()
        self.ptt_tasks.cancel_all()
        self._clock_timer.stop()
        if self.browser.on_change == self._on_browser_change:
            self.browser.on_change = None
        super().closeEvent(event)
        self.closed.emit()


# --------------------------------------------------------------------- parts
class HandsetButton(QPushButton):
    """The handset in its cradle, drawn: click (or Space) to lift it, again to hang up."""

    def __init__(self, objectName: str = "", parent=None):
        super().__init__(parent, objectName=objectName)
        self.setCheckable(True)
        self.setAutoDefault(False)
        self.setFixedWidth(84)
        self.setMinimumHeight(420)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip("Handset: lift it (off hook) or hang it up")

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#15181b"))  # the cradle
        p.drawRoundedRect(QRectF(4, 4, w - 8, h - 8), 18, 18)
        lifted = self.isChecked()
        p.save()
        if lifted:  # away from the cradle: shifted and faded, the hook switch shows
            p.setOpacity(0.35)
            p.translate(-6, -10)
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(10, 12, w - 20, 86), 26, 26)  # earpiece
        shape.addRoundedRect(QRectF(10, h - 98, w - 20, 86), 26, 26)  # mouthpiece
        shape.addRoundedRect(QRectF(w / 2 - 17, 60, 34, h - 120), 14, 14)  # grip
        shape = shape.simplified()
        shade = QLinearGradient(0, 0, w, 0)
        shade.setColorAt(0, QColor("#4b5158"))
        shade.setColorAt(0.5, QColor("#33383e"))
        shade.setColorAt(1, QColor("#202428"))
        p.setBrush(shade)
        p.setPen(QPen(QColor("#0b0c0e"), 2))
        p.drawPath(shape)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#16191c"))
        for cx, cy in ((w / 2, 48), (w / 2, h - 52)):
            for dx in (-12, 0, 12):
                for dy in (-10, 0, 10):
                    p.drawEllipse(QRectF(cx + dx - 2.5, cy + dy - 2.5, 5, 5))
        p.restore()
        if lifted:
            p.setBrush(QColor("#8a939c"))  # the hook switch, up
            p.drawRoundedRect(QRectF(w / 2 - 9, 20, 18, 30), 5, 5)
        p.save()
        p.translate(w / 2, h / 2)
        p.rotate(-90)
        p.setPen(QColor("#7ee28f" if lifted else "#c9ced4"))
        font = p.font()
        font.setBold(True)
        font.setPointSizeF(10)
        p.setFont(font)
        label = "OFF HOOK" if lifted else "HANDSET"
        p.drawText(QRectF(-h / 2 + 110, -12, h - 220, 24), Qt.AlignmentFlag.AlignCenter, label)
        p.restore()
        if self.hasFocus():
            p.setPen(QPen(QColor("#5aa9ff"), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(3, 3, w - 6, h - 6), 18, 18)
        p.end()


def _key(text: str, name: str, accessible: str, kind: str) -> QPushButton:
    """A key on the phone's body; ``kind`` (function, nav) is what the style sheet draws."""
    button = QPushButton(text, objectName=name)
    button.setProperty(kind, True)
    button.setAccessibleName(accessible)
    button.setAutoDefault(False)
    if kind == "nav":
        button.setFixedSize(48, 32)
    return button


PHONE_STYLE = """
QWidget#phoneWindow { background: #1b1e21; }
QFrame#phoneBody {
    border-radius: 22px; border: 1px solid #0d0f11;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #3a3f45, stop:1 #212529);
}
QLabel#phoneBrand { color: #9aa3ad; font-size: 8pt; font-weight: bold; letter-spacing: 2px; }
QPushButton#phoneWebAccess {
    border-radius: 8px; border: 1px solid #0b0d0f; padding: 1px 8px; font-size: 8pt; font-weight: bold;
    color: #f3c4c0; background: #3a2a2a;
}
QPushButton#phoneWebAccess:checked { color: #c8f0d0; background: #1e4d2b; }
QPushButton#phoneWebAccess:focus { border: 2px solid #5aa9ff; }
QFrame#phoneBezel { background: #0e1012; border-radius: 10px; border: 1px solid #000; }
QFrame#phoneScreen { background: #e8eef3; }
QFrame#phoneScreenHeader { background: #1c2630; }
QLabel#phoneLine, QLabel#phoneClock { color: #f1f4f7; font-size: 9pt; font-weight: bold; }
QLabel#phoneScreenTitle { background: #285f8f; color: white; font-size: 12pt; font-weight: bold; padding: 4px 8px; }
QLabel#phoneScreenTitle[error="true"] { background: #b3261e; }
QLabel#phoneScreenPrompt { color: #33475b; font-size: 9pt; font-style: italic; padding: 2px 8px; }
QLabel#phoneScreenPosition { color: #33475b; font-size: 9pt; }
QLabel[row="true"] { color: #0d1a26; font-size: 11pt; padding: 2px 8px; border-radius: 3px; }
QLabel[row="true"][highlighted="true"] { background: #285f8f; color: white; }
QLabel#phoneScreenText { color: #0d1a26; font-size: 11pt; padding: 4px 8px; background: #e8eef3; }
QScrollArea#phoneScreenTextArea, QScrollArea#phoneScreenTextArea > QWidget > QWidget { background: #e8eef3; }
QScrollArea#phoneScreenTextArea QScrollBar:vertical { width: 6px; background: #d5dee6; margin: 0; }
QScrollArea#phoneScreenTextArea QScrollBar::handle:vertical {
    background: #285f8f; border-radius: 3px; min-height: 24px;
}
QScrollArea#phoneScreenTextArea QScrollBar::add-line,
QScrollArea#phoneScreenTextArea QScrollBar::sub-line { height: 0; }
QLabel#phoneScreenStatus {
    background: #cfd9e2; color: #1c2630; font-size: 9pt; padding: 3px 8px; border-top: 1px solid #aebdca;
}
QLabel#phoneScreenStatus[offHook="true"] { color: #14632a; font-weight: bold; }
QPushButton[softkey="true"] {
    min-height: 28px; border-radius: 12px; border: 2px solid #0b0d0f; color: #111; font-weight: bold;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #eef0f2, stop:1 #b4bbc2);
}
QPushButton[softkey="true"]:pressed { background: #8d969f; }
QPushButton[softkey="true"]:disabled { background: #50565c; color: #50565c; }
QPushButton[softkey="true"][ptt="true"] { border: 2px solid #1e7b34; color: #14632a; }
QPushButton[softkey="true"][held="true"] { background: #c62828; border-color: #7f0000; color: white; }
QPushButton[softkey="true"]:focus { border: 2px solid #5aa9ff; }
QFrame#phoneNavCluster {
    border-radius: 68px; border: 3px solid #6d767f;
    background: qradialgradient(cx:0.5, cy:0.5, radius:0.6, fx:0.45, fy:0.4, stop:0 #59616a, stop:1 #2b3035);
}
QPushButton[nav="true"] { background: transparent; border: none; color: #e8eaed; font-size: 15pt; }
QPushButton[nav="true"]:pressed { color: #5aa9ff; }
QPushButton[nav="true"]:focus { color: #5aa9ff; }
QPushButton#phoneSelect {
    border-radius: 27px; border: 1px solid #15181b; color: #15181b; font-size: 8pt; font-weight: bold;
    background: qradialgradient(cx:0.5, cy:0.5, radius:0.6, fx:0.4, fy:0.35, stop:0 #f4f6f8, stop:1 #9aa2aa);
}
QPushButton#phoneSelect:pressed { background: #858d95; }
QPushButton#phoneSelect:focus { border: 2px solid #5aa9ff; }
QPushButton[function="true"] {
    min-width: 76px; min-height: 28px; border-radius: 10px; border: 2px solid #0b0d0f; color: #e8eaed;
    font-weight: bold; background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #4b5259, stop:1 #30353a);
}
QPushButton[function="true"]:pressed { background: #22262a; }
QPushButton[function="true"]:checked { background: #1e7b34; border-color: #7ee28f; }
QPushButton[function="true"]:focus { border: 2px solid #5aa9ff; }
QPushButton[keypad="true"] {
    border-radius: 12px; border: 1px solid #0b0d0f;
    background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #4b5259, stop:1 #33383e);
}
QPushButton[keypad="true"]:pressed { background: #1f2327; }
QPushButton[keypad="true"]:focus { border: 2px solid #5aa9ff; }
QLabel#keypadDigit { color: white; font-size: 15pt; font-weight: bold; background: transparent; }
QLabel#keypadLetters { color: #aeb6bf; font-size: 7pt; font-weight: bold; background: transparent; }
"""
