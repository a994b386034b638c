"""The IP phone's own keys, as pure rules: which softkeys a screen shows, the four
softkey buttons (pages, push-to-talk, what a button pressed during a screen change
does), how the keypad types into an input field under its InputFlags, and the hook
switch.

A Cisco phone adds softkeys of its own to an object without SoftKeyItems (Cisco: any
SoftKeyItem replaces them all): Select and Exit on a menu; Submit, ``<<`` (delete)
and Cancel on an input; Dial, EditDial and Exit on a directory
(``../shared/reference/ipphone-xml.md``); Update (or Next, for a page that refreshes
to a URL) and Exit on a text.  Their URIs (``SoftKey:Submit``...) are the phone's, and
``PhoneBrowser`` handles every one of them.

Qt-free and without I/O: the phone window draws what these say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ipics_clients.keypad import PRINTED_LETTERS
from ipics_clients.phone_xml import Directory, Input, InputItem, Menu, PhoneObject, SoftKey

EXIT, SELECT, UPDATE, BACK = "SoftKey:Exit", "SoftKey:Select", "SoftKey:Update", "SoftKey:Back"
SERVICES = "Init:Services"
SUBMIT, BACKSPACE, CANCEL = "SoftKey:Submit", "SoftKey:<<", "SoftKey:Cancel"
DIAL, EDIT_DIAL = "SoftKey:Dial", "SoftKey:EditDial"
#: the fourth softkey button when a screen has more than four keys: it turns the page
#: (the phone's own; its URI never leaves the phone)
MORE = SoftKey("more", "SoftKey:More", 4)
BUTTONS = 4  # softkey buttons under the screen

#: what each key types in multi-tap order on a text field: its printed letters, and 0 a space
LETTERS = {key: letters.lower() for key, letters in PRINTED_LETTERS.items()} | {"0": " "}
#: how each input mode is shown beside the field, and named when a key is refused
MODE_WORDS = {"N": "123", "T": "123*#", "E": "123.+-", "A": "abc", "U": "ABC", "L": "abc"}
MAX_TYPED = 256  # as long as a DefaultValue may be
MULTI_TAP_S = 1.0  # a human's pace between taps of one key: real seconds, not emulated


def shown_softkeys(obj: PhoneObject, refresh_url: str | None = None) -> tuple[SoftKey, ...]:
    """The object's SoftKeyItems, or the phone's defaults for its kind when it has none."""
    if obj.softkeys:
        return obj.softkeys
    if isinstance(obj, Menu):
        return SoftKey("Select", SELECT, 1), SoftKey("Exit", EXIT, 3)
    if isinstance(obj, Input):
        return SoftKey("Submit", SUBMIT, 1), SoftKey("<<", BACKSPACE, 2), SoftKey("Cancel", CANCEL, 3)
    if isinstance(obj, Directory):
        return SoftKey("Dial", DIAL, 1), SoftKey("EditDial", EDIT_DIAL, 2), SoftKey("Exit", EXIT, 3)
    # Cisco: with no custom keys, position 1 is Next for a page that refreshes to a URL,
    # else Update.
    first = SoftKey("Next", refresh_url, 1) if refresh_url else SoftKey("Update", UPDATE, 1)
    return first, SoftKey("Exit", EXIT, 3)


def softkey_page(keys: tuple[SoftKey, ...], page: int) -> tuple[list[SoftKey | None], int]:
    """The four softkey buttons on ``page``: each key at its Position (None: blank).
    Beyond position 4 a screen has pages of three keys and ``MORE`` on the fourth."""
    by_position = {k.position: k for k in keys}
    last = max(by_position, default=0)
    if last <= BUTTONS:
        return [by_position.get(p) for p in range(1, BUTTONS + 1)], 1
    per_page = BUTTONS - 1
    pages = -(-last // per_page)
    first = (page % pages) * per_page + 1
    return [*(by_position.get(p) for p in range(first, first + per_page)), MORE], pages


def softkey_words(slot: int, key: SoftKey | None) -> tuple[str, str]:
    """Button ``slot``'s (from 0) accessible name and description, for ``key`` on it."""
    number = slot + 1
    name = f"Softkey {number}, {key.name}" if key is not None and key.name else f"Softkey {number}, blank"
    if key is not None and key.push_to_talk:
        return name, f"Hold to talk: mouse button, Space or F{number}"
    return name, f"F{number}"


@dataclass
class SoftKeyRow:
    """The softkey buttons under the screen, kept by the phone from screen to screen:
    the keys of the screen shown, the page of them on the buttons, and the key each
    button showed when it was pushed down.  A button acts as that key when let go, even
    if the screen changed meanwhile: a push-to-talk release reaches the service that
    took the press, and a click never lands on a key that appeared under the finger."""

    keys: tuple[SoftKey, ...] = ()
    page: int = 0
    _down: dict[int, SoftKey | None] = field(default_factory=dict)

    def show(self, keys: tuple[SoftKey, ...]) -> None:
        """A new screen's keys, from their first page."""
        self.keys, self.page = keys, 0

    @property
    def slots(self) -> list[SoftKey | None]:
        """What each button shows now (None: blank)."""
        return softkey_page(self.keys, self.page)[0]

    def press(self, slot: int) -> SoftKey | None:
        """Button ``slot`` pushed down: the push-to-talk key to send URLDown for, if it shows one."""
        key = self._down[slot] = self.slots[slot]
        return key if key is not None and key.push_to_talk else None

    def release(self, slot: int) -> SoftKey | None:
        """Button ``slot`` let go: the push-to-talk key pressed there, to send URL for;
        once (a button disabled while held is let go again)."""
        key = self._down.get(slot)
        if key is None or not key.push_to_talk:
            return None
        self._down[slot] = None
        return key

    def click(self, slot: int) -> SoftKey | None:
        """Button ``slot`` clicked (pushed and let go): the key to act on; ``MORE`` turns
        the page instead, and a push-to-talk key did its work on press and release."""
        key = self._down.pop(slot, self.slots[slot])
        if key == MORE:
            self.page = (self.page + 1) % softkey_page(self.keys, self.page)[1]
            return None
        return None if key is None or key.push_to_talk else key


def keypad_characters(item: InputItem, key: str) -> str:
    """What a keypad key types into ``item``, in multi-tap order ("" if it types nothing)."""
    mode = item.mode
    if mode == "N":
        return key if key.isdigit() else ""
    if mode == "T":
        return key
    if mode == "E":
        return "*.+-" if key == "*" else key
    letters = LETTERS[key] + key
    return letters.upper() if mode == "U" else letters


def typed_text(item: InputItem, text: str) -> str:
    """What a computer keyboard's ``text`` types into ``item`` ("" if the flags refuse it)."""
    mode = item.mode
    text = text.upper() if mode == "U" else text.lower() if mode == "L" else text
    return text if text.isprintable() and item.accepts(text) else ""


@dataclass
class InputForm:
    """What is typed into an input screen, kept on the phone until Submit: a value per
    field (its DefaultValue first) and the focused field."""

    items: tuple[InputItem, ...]
    values: dict[str, str] = field(default_factory=dict)
    field: int = 0
    _tap: tuple[tuple[int, str], float] | None = None  # the last keypad tap: (field, key), when

    @classmethod
    def of(cls, obj: Input) -> InputForm:
        return cls(obj.items, {i.param: i.default for i in obj.items})

    @property
    def focused(self) -> InputItem | None:
        return self.items[self.field] if self.items else None

    def move(self, delta: int) -> None:
        """Up (-1) or Down (+1): the focused field."""
        if self.items:
            self.field = max(0, min(len(self.items) - 1, self.field + delta))
            self._tap = None

    def press_key(self, key: str, now: float) -> str | None:
        """A keypad key into the focused field, the letter keys multi-tap (the same key
        again within ``MULTI_TAP_S`` turns the last letter into the next).  None if it
        typed, else why not (for the status line)."""
        item = self.focused
        if item is None:
            return None
        chars = keypad_characters(item, key)
        if not chars:
            return refusal(item)
        value = self.values.get(item.param, "")
        tap = (self.field, key)
        if (
            len(chars) > 1
            and value
            and self._tap
            and self._tap[0] == tap
            and now - self._tap[1] < MULTI_TAP_S
            and value[-1] in chars
        ):
            value = value[:-1] + chars[(chars.index(value[-1]) + 1) % len(chars)]
        else:
            value += chars[0]
        self._tap = (tap, now)
        self._set(item, value)
        return None

    def type_text(self, text: str) -> str | None:
        """Text from a computer keyboard into the focused field: None if typed, else why not."""
        item = self.focused
        if item is None:
            return None
        typed = typed_text(item, text)
        if not typed:
            return refusal(item)
        self._tap = None
        self._set(item, self.values.get(item.param, "") + typed)
        return None

    def backspace(self) -> None:
        """``<<``: the last character of the focused field goes."""
        item = self.focused
        if item is not None:
            self._tap = None
            self._set(item, self.values.get(item.param, "")[:-1])

    def _set(self, item: InputItem, value: str) -> None:
        self.values[item.param] = value[:MAX_TYPED]


def refusal(item: InputItem) -> str:
    return f"{item.display_name or item.param}: {MODE_WORDS[item.mode]} only"


@dataclass
class Hook:
    """The hook switch: the handset in its cradle or lifted, and the speaker."""

    handset_lifted: bool = False
    speaker: bool = False

    @property
    def off_hook(self) -> bool:
        return self.handset_lifted or self.speaker

    def lift(self) -> None:
        self.handset_lifted, self.speaker = True, False  # the call moves to the handset

    def hang_up(self) -> None:
        self.handset_lifted = False  # a call on the speaker goes on

    def toggle_speaker(self) -> None:
        self.speaker = not self.speaker

    def set(self, *, handset: bool | None = None, speaker: bool | None = None) -> None:
        """Lift or hang up the handset, and turn the speaker on or off, in that order."""
        if handset is True:
            self.lift()
        elif handset is False:
            self.hang_up()
        if speaker is not None and speaker != self.speaker:
            self.toggle_speaker()

    def words(self) -> str:
        if self.speaker:
            return "Off hook (speaker)"
        return "Off hook (handset)" if self.handset_lifted else "On hook"
