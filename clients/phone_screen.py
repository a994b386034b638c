"""What the IP phone's screen says, as text: the header (the line and the time), the
prompt line, the rows of a list object (menu items, directory entries, input fields
with the P flag masked and a cursor on the focused field) and which of them fit, the
position or input mode beside the prompt, and the status line (the hook switch, the
number dialled, a refused key or a push).

Qt-free: the phone window puts these strings on its labels.
"""

from __future__ import annotations

import time

from ipics_clients.phone_keys import MODE_WORDS, Hook, InputForm
from ipics_clients.phone_xml import Directory, Input, Menu, PhoneObject

#: Cisco phones say so in the prompt line while a page loads
REQUESTING = "Requesting..."


def header(extension: str, now: float) -> tuple[str, str]:
    """The line (``☎ 1001``) and the time, the lab's emulated one as a phone takes it
    from its call control."""
    line = f"\u260e {extension}" if extension else "No line"
    return line, time.strftime("%H:%M  %a %b %d", time.localtime(now))


def prompt(obj: PhoneObject, requesting: bool) -> str:
    return REQUESTING if requesting else obj.prompt


def rows(obj: PhoneObject, selected: int, form: InputForm | None) -> tuple[list[str], int | None]:
    """The rows of a list object and which one is highlighted (None: none is)."""
    if isinstance(obj, Menu):
        lines = [f"{n}  {item.name}" for n, item in enumerate(obj.items, 1)]
        return (lines, selected) if lines else (["No items"], None)
    if isinstance(obj, Directory):
        lines = [f"{e.name}  {e.telephone}" if e.name else e.telephone for e in obj.entries]
        return (lines, selected) if lines else (["No entries"], None)
    if isinstance(obj, Input) and form is not None:
        lines = []
        for index, item in enumerate(form.items):
            value = form.values.get(item.param, "")
            shown = "*" * len(value) if item.masked else value
            cursor = "_" if index == form.field else ""
            lines.append(f"{item.display_name or item.param}: {shown}{cursor}")
        return (lines, form.field) if lines else (["Nothing to enter"], None)
    return [], None


def first_visible(top: int, current: int | None, count: int, visible: int) -> int:
    """The first of ``count`` rows on a screen of ``visible`` rows that showed from
    ``top``: it scrolls only as far as needed to keep the highlighted row in view."""
    if current is not None:
        top = max(min(top, current), current - visible + 1)
    return max(0, min(top, count - visible))


def position(form: InputForm | None, current: int | None, count: int) -> str:
    """Beside the prompt: the focused field's input mode (``123``, ``abc``), or where
    the highlight is in a list (``2/8``)."""
    if form is not None and form.focused is not None:
        return MODE_WORDS[form.focused.mode]
    return f"{current + 1}/{count}" if current is not None else ""


def status(hook: Hook, dialing: str, notice: str) -> str:
    """The status line: ``Off hook (speaker) - dialing 5002 - PIN: 123 only``."""
    words = hook.words()
    if dialing:
        words += f" - dialing {dialing}"
    if notice:
        words += f" - {notice}"
    return words
