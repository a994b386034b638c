"""The IP phone's screen: the bezel and the LCD in it, drawn from the ``PhoneBrowser``.

A header with the line and the time, the title (red on an error), the prompt and the
position in a list or form, the object (a menu's or a directory's rows with the
highlight, an input's fields, or a text that scrolls), and a status line with the hook
state.  What each line says is ``phone_screen``'s (Qt-free); this widget puts it on its
labels.  The softkeys under it are the window's: ``lines`` takes their words so the
screen's accessible description reads as the phone does, top to bottom.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ipics_clients import phone_screen
from ipics_clients.phone_browser import PhoneBrowser, Screen
from ipics_clients.phone_xml import Text
from ipics_desktop.shared.style import restyle

VISIBLE_ROWS = 6
LCD_WIDTH = 400
ROW_TEXT_WIDTH = LCD_WIDTH - 28


class PhoneScreen(QFrame):
    """The bezel (``phoneBezel``) around the LCD (``phoneScreen``, ``lcd``)."""

    def __init__(self, browser: PhoneBrowser, extension: str = "", parent=None):
        super().__init__(parent, objectName="phoneBezel")
        self.browser, self.extension = browser, extension
        self._shown: Screen | None = None  # the screen drawn: a new one scrolls to its top
        self._top = 0  # the first visible row: the view's own
        lcd = self.lcd = QFrame(objectName="phoneScreen")
        lcd.setAccessibleName("Phone screen")
        lcd.setFixedWidth(LCD_WIDTH)
        header = QFrame(objectName="phoneScreenHeader")
        self.line_label = QLabel(objectName="phoneLine")
        self.clock_label = QLabel(objectName="phoneClock")
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(8, 2, 8, 2)
        header_row.addWidget(self.line_label)
        header_row.addStretch(1)
        header_row.addWidget(self.clock_label)
        self.title_label = _screen_label("phoneScreenTitle")
        self.prompt_label = _screen_label("phoneScreenPrompt")
        self.position_label = QLabel(objectName="phoneScreenPosition")
        prompt_row = QHBoxLayout()
        prompt_row.setContentsMargins(0, 0, 8, 0)
        prompt_row.addWidget(self.prompt_label, 1)
        prompt_row.addWidget(self.position_label)

        self.rows_page = QWidget()
        rows = QVBoxLayout(self.rows_page)
        rows.setContentsMargins(4, 2, 4, 2)
        rows.setSpacing(1)
        self.rows: list[QLabel] = []
        for index in range(VISIBLE_ROWS):
            row = _screen_label(f"phoneScreenRow{index}")
            row.setProperty("row", True)
            rows.addWidget(row)
            self.rows.append(row)
        rows.addStretch(1)
        self.text_label = _screen_label("phoneScreenText")
        self.text_label.setWordWrap(True)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text_scroll = QScrollArea(objectName="phoneScreenTextArea")
        self.text_scroll.setWidgetResizable(True)
        self.text_scroll.setWidget(self.text_label)
        self.text_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.text_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QStackedWidget()
        self.body.addWidget(self.rows_page)
        self.body.addWidget(self.text_scroll)
        self.body.setFixedHeight(VISIBLE_ROWS * 27 + 6)

        self.status_label = _screen_label("phoneScreenStatus")
        # Fixed heights: an empty title or prompt keeps its line, so the screen never jumps.
        for label, height in ((self.title_label, 32), (self.prompt_label, 20), (self.status_label, 24)):
            label.setFixedHeight(height)
        layout = QVBoxLayout(lcd)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.title_label)
        layout.addLayout(prompt_row)
        layout.addWidget(self.body)
        layout.addWidget(self.status_label)
        QVBoxLayout(self).addWidget(lcd)

    def draw(self, *, busy: bool) -> None:
        """The browser's screen, all of it but the status line (``draw_status``)."""
        screen = self.browser.screen
        if screen is not self._shown:  # a new screen: scrolled to its top
            self._shown, self._top = screen, 0
            self.text_scroll.verticalScrollBar().setValue(0)
        obj = screen.obj
        self.title_label.setText(obj.title)
        self.title_label.setProperty("error", screen.error)
        restyle(self.title_label)
        self._draw_body(obj)
        self.draw_prompt(busy=busy)
        self.draw_clock()

    def _draw_body(self, obj) -> None:
        if isinstance(obj, Text):
            self.body.setCurrentWidget(self.text_scroll)
            self.text_label.setText(obj.text)
            self.position_label.setText("")
            return
        self.body.setCurrentWidget(self.rows_page)
        browser = self.browser
        lines, current = phone_screen.rows(obj, browser.selected, browser.form)
        self._top = phone_screen.first_visible(self._top, current, len(lines), VISIBLE_ROWS)
        for offset, row in enumerate(self.rows):
            index = self._top + offset
            text = lines[index] if index < len(lines) else ""
            row.setText(row.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, ROW_TEXT_WIDTH))
            row.setToolTip(text if row.text() != text else "")
            highlighted = index == current
            if row.property("highlighted") != highlighted:
                row.setProperty("highlighted", highlighted)
                restyle(row)
        self.position_label.setText(phone_screen.position(browser.form, current, len(lines)))

    def draw_prompt(self, *, busy: bool) -> None:
        self.prompt_label.setText(phone_screen.prompt(self.browser.screen.obj, requesting=busy))

    def draw_status(self) -> None:
        hook = self.browser.hook
        self.status_label.setText(phone_screen.status(hook, self.browser.dialing, self.browser.notice))
        if self.status_label.property("offHook") != hook.off_hook:
            self.status_label.setProperty("offHook", hook.off_hook)
            restyle(self.status_label)

    def draw_clock(self) -> None:
        line, now = phone_screen.header(self.extension, self.browser.clock.now())
        self.line_label.setText(line)
        self.clock_label.setText(now)

    def scroll_text(self, delta: int) -> None:
        """Up (-1) or Down (+1) a line of a text."""
        bar = self.text_scroll.verticalScrollBar()
        bar.setValue(bar.value() + delta * self.text_label.fontMetrics().lineSpacing())

    def lines(self, softkeys: list[str]) -> list[str]:
        """What the screen shows, as plain lines, the softkeys' words before the status line."""
        lines = [self.line_label.text(), self.title_label.text(), self.prompt_label.text()]
        if self.body.currentWidget() is self.text_scroll:
            lines.append(self.text_label.text())
        else:
            lines += [r.text() for r in self.rows if r.text()]
        lines += [" | ".join(softkeys), self.status_label.text()]
        return lines


def _screen_label(name: str) -> QLabel:
    label = QLabel(objectName=name)
    label.setTextFormat(Qt.TextFormat.PlainText)  # a service's text is never markup
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
