"""Keyboard, accessible names, documented object names, and the 1280x800 screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QTabBar,
    QWidget,
)

from .steps import log_in

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "widgets.md").read_text()
INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)


def controls(top: QWidget) -> list[QWidget]:
    """The interactive widgets a user reaches, not the parts Qt builds inside them
    (the line edit of an editable combo box or a spin box, a tab bar's scroll buttons, say).  The trainer panel's
    check uses it too."""
    found = []
    for widget in top.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent, inner = widget.parentWidget(), False
        while parent is not None and parent is not top:
            inner |= isinstance(parent, (QComboBox, QAbstractItemView, QAbstractSpinBox, QTabBar))
            parent = parent.parentWidget()
        if not inner:
            found.append(widget)
    return found


def documented(object_name: str) -> bool:
    pattern = object_name.split(":")[0] + ":<kind>:<name>" if ":" in object_name else object_name
    return f"`{pattern}`" in DOCS


async def test_every_control_has_a_documented_object_name_and_an_accessible_name(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", demo.password)
    checked = 0
    for top in (idc.dialog, idc.window):
        for widget in controls(top):
            name = widget.objectName()
            assert name, f"a {type(widget).__name__} without objectName in {top.objectName()}"
            assert widget.accessibleName(), f"{name} has no accessible name"
            assert documented(name), f"{name} is not in docs/widgets.md"
            checked += 1
    assert checked >= 15  # 6 in the dialog; in the console Log Out, 5 PTT (3 channels, 2 VTGs), 3 lists


async def test_the_login_is_keyboard_operable(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    dialog = idc.dialog
    # Tab order: selector, user name, password, remember me, then the buttons.
    order, widget = [], dialog.selector
    for _ in range(4):
        order.append(widget.objectName())
        widget = widget.nextInFocusChain()
        while widget.focusPolicy() == Qt.FocusPolicy.NoFocus or widget.parentWidget() is dialog.selector:
            widget = widget.nextInFocusChain()
    assert order == ["loginServerSelector", "loginUserName", "loginPassword", "loginRememberMe"]

    qtbot.keyClicks(dialog.username, "dan")
    qtbot.keyClicks(dialog.password, demo.password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)  # Enter presses the default Log In
    from ipics_lab.supervisor import wait_until

    await wait_until(lambda: idc.window.isVisible(), 10, "the console")


async def test_the_windows_fit_a_1280x800_screen(demo, open_idc, qtbot):
    idc = open_idc("dan", [demo.pair.primary.url])
    await log_in(idc, qtbot, demo.pair.primary.url, "dan", demo.password)
    for top in (idc.dialog, idc.window):
        hint = top.minimumSizeHint()
        assert hint.width() <= 1280 and hint.height() <= 760, (top.objectName(), hint)
