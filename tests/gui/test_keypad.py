"""The 12-key keypad, as the IP phone and the desk telephone both carry it: the same
keys in the same places with the same letters and names (what each key does is the
device's: tests/gui/test_phone_window.py, tests/gui/test_telephone_panel.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from ipics_clients.phone_browser import PhoneBrowser
from ipics_clients.telephone import Telephone
from ipics_desktop.phone.window import PhoneWindow
from ipics_desktop.telephone.panel import TelephonePanel

GRID = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["*", "0", "#"]]
NAMES = {"1": "1", "*": "Star", "0": "0", "#": "Pound"}


def keypad(window: QWidget, prefix: str) -> dict[str, QPushButton]:
    """Every key by its documented objectName (docs/widgets.md)."""
    found = {key: window.findChild(QPushButton, f"{prefix}{NAMES.get(key, key)}") for row in GRID for key in row}
    assert all(found.values()), [key for key, button in found.items() if button is None]
    return found


def as_seen(keys: dict[str, QPushButton]) -> list[list[str]]:
    """The keys as they stand on screen: rows top to bottom, each left to right."""
    where = {key: b.mapTo(b.window(), b.rect().topLeft()) for key, b in keys.items()}
    tops = sorted({p.y() for p in where.values()})
    return [sorted((k for k, p in where.items() if p.y() == top), key=lambda k: where[k].x()) for top in tops]


def printed(button: QPushButton) -> tuple[str, str]:
    digit = button.findChild(QLabel, "keypadDigit").text()
    return digit, button.findChild(QLabel, "keypadLetters").text()


async def test_the_phone_and_the_telephone_carry_the_same_keypad(qtbot, unused_tcp_port):
    browser = PhoneBrowser([])
    phone = PhoneWindow(browser=browser, extension="1001")
    panel = TelephonePanel(telephone=Telephone("5551234", [f"http://127.0.0.1:{unused_tcp_port}"]))
    for window in (phone, panel):
        qtbot.addWidget(window)
        window.show()
    try:
        on_phone, on_telephone = keypad(phone, "phoneKey"), keypad(panel, "telephoneKey")
        assert as_seen(on_phone) == as_seen(on_telephone) == GRID
        for key in on_phone:
            assert printed(on_phone[key]) == printed(on_telephone[key])
            assert on_phone[key].accessibleName() == on_telephone[key].accessibleName()
        assert printed(on_phone["7"]) == ("7", "PQRS") and on_phone["7"].accessibleName() == "Key 7 (PQRS)"
        assert printed(on_phone["0"]) == ("0", "") and on_telephone["#"].accessibleName() == "Key #"
    finally:
        await browser.close()
