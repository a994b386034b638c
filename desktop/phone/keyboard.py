"""The computer's keyboard as the IP phone's keys, whichever of the phone's buttons has
the focus: digits, ``*`` and ``#`` (the keypad), Up and Down, Enter (Select), Escape
(Back, or Exit on the first screen), F1-F4 (softkeys 1-4, held for push-to-talk),
Backspace (delete in an input field); an input field also takes typed text its
InputFlags allow.

``PhoneKeyboard`` is the event filter the window installs on itself and its children;
what each key does is the phone's (``PhoneKeys``: the window).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPushButton

from ipics_clients.keypad import KEYPAD
from ipics_clients.phone_browser import PhoneBrowser
from ipics_clients.phone_xml import Input

F_KEYS: dict[int, int] = {Qt.Key.Key_F1: 0, Qt.Key.Key_F2: 1, Qt.Key.Key_F3: 2, Qt.Key.Key_F4: 3}


class PhoneKeys(Protocol):
    """What the keyboard presses: the phone window's keys."""

    browser: PhoneBrowser
    softkeys: list[QPushButton]

    def navigate(self, delta: int) -> None: ...
    def select(self) -> None: ...
    def back(self) -> None: ...
    def backspace(self) -> None: ...
    def press_key(self, key: str) -> None: ...
    def type_text(self, text: str) -> bool: ...
    def on_softkey_pressed(self, slot: int) -> None: ...
    def on_softkey_released(self, slot: int) -> None: ...
    def on_softkey_clicked(self, slot: int) -> None: ...


class PhoneKeyboard(QObject):
    """Key presses and releases on ``window`` (or a child it watches) as the phone's keys."""

    def __init__(self, window: PhoneKeys, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self._fkeys_held: set[int] = set()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            return self._key_pressed(watched, event)
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyRelease:
            return self._key_released(event)
        return super().eventFilter(watched, event)

    def _key_pressed(self, watched: QObject, event: QKeyEvent) -> bool:
        phone = self.window
        key, text = event.key(), event.text()
        if key in F_KEYS:
            if not event.isAutoRepeat():
                self._fkey(F_KEYS[key], True)
            return True
        if key == Qt.Key.Key_Space and watched is not phone:
            return False  # Space presses the focused button (held: push-to-talk)
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            phone.navigate(-1 if key == Qt.Key.Key_Up else +1)  # held: scrolls on
            return True
        if key == Qt.Key.Key_Backspace:
            phone.backspace()
            return True
        on_input = isinstance(phone.browser.screen.obj, Input)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            if event.isAutoRepeat():
                pass
            elif key == Qt.Key.Key_Escape:
                phone.back()
            else:
                phone.select()
            return True
        if on_input and text and text.isprintable():
            return event.isAutoRepeat() or phone.type_text(text)
        if len(text) == 1 and text in KEYPAD:
            if not event.isAutoRepeat():
                phone.press_key(text)
            return True
        return False

    def _key_released(self, event: QKeyEvent) -> bool:
        if event.key() in F_KEYS:
            if not event.isAutoRepeat():
                self._fkey(F_KEYS[event.key()], False)
            return True
        return False

    def _fkey(self, slot: int, down: bool) -> None:
        """F1-F4 as softkeys 1-4: down presses, up releases and clicks (held: push-to-talk)."""
        button = self.window.softkeys[slot]
        if down and button.isEnabled() and slot not in self._fkeys_held:
            self._fkeys_held.add(slot)
            button.setDown(True)
            self.window.on_softkey_pressed(slot)
        elif not down and slot in self._fkeys_held:
            self._fkeys_held.discard(slot)
            button.setDown(False)
            self.window.on_softkey_released(slot)
            self.window.on_softkey_clicked(slot)
