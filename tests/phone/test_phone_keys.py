"""The phone's own key rules, as tables: which softkeys a screen shows, softkey pages
and the buttons that show them, what the keypad types under each InputFlags (multi-tap
at a human's pace), the hook, and what the screen says."""

from __future__ import annotations

from ipics_clients import phone_screen
from ipics_clients.phone_keys import (
    MORE,
    MULTI_TAP_S,
    Hook,
    InputForm,
    SoftKeyRow,
    keypad_characters,
    shown_softkeys,
    softkey_page,
    softkey_words,
)
from ipics_clients.phone_xml import (
    Directory,
    DirectoryEntry,
    Input,
    InputItem,
    Menu,
    MenuItem,
    SoftKey,
    Text,
)


def names(keys) -> list[str]:
    return [k.name for k in keys]


def test_the_phones_own_softkeys_by_kind_and_any_softkeyitem_replaces_them():
    assert names(shown_softkeys(Menu())) == ["Select", "Exit"]
    assert names(shown_softkeys(Input())) == ["Submit", "<<", "Cancel"]
    assert names(shown_softkeys(Directory())) == ["Dial", "EditDial", "Exit"]
    assert names(shown_softkeys(Text())) == ["Update", "Exit"]
    assert [(k.name, k.url) for k in shown_softkeys(Text(), "http://h/next")][0] == ("Next", "http://h/next")
    own = (SoftKey("Back", "SoftKey:Back", 1),)
    assert shown_softkeys(Directory(softkeys=own)) == own


def test_softkey_pages():
    keys = (SoftKey("a", "x", 1), SoftKey("c", "x", 3))
    assert softkey_page(keys, 0) == ([keys[0], None, keys[1], None], 1)  # a gap stays blank
    eight = tuple(SoftKey(str(p), "x", p) for p in range(1, 9))
    assert softkey_page(eight, 2)[0] == [eight[6], eight[7], None, MORE]
    assert softkey_page(eight, 0)[1] == 3


def test_a_softkey_button_acts_as_the_key_it_showed_when_pressed():
    talk, exit_ = SoftKey("Talk", "/talk?ptt=up", 1, "/talk?ptt=down"), SoftKey("Exit", "SoftKey:Exit", 3)
    row = SoftKeyRow()
    row.show((talk, exit_))
    assert row.slots == [talk, None, exit_, None]
    assert row.press(0) == talk  # push-to-talk: URLDown on press
    row.show((SoftKey("Back", "SoftKey:Back", 1),))  # the service answered with another screen meanwhile
    assert row.release(0) == talk  # the release still reaches the talk key: URL
    assert row.release(0) is None  # once, though Qt lets a disabled button go again
    assert row.click(0) is None  # the press and release did it all
    assert row.press(0) is None and row.click(0) == SoftKey("Back", "SoftKey:Back", 1)  # an ordinary key: on click
    assert row.click(1) is None  # a blank button does nothing


def test_more_turns_the_softkey_page_and_a_new_screen_starts_on_the_first():
    six = tuple(SoftKey(f"K{p}", f"/k{p}", p) for p in range(1, 7))
    row = SoftKeyRow()
    row.show(six)
    assert row.slots == [*six[:3], MORE]
    assert row.click(3) is None and row.slots == [*six[3:], MORE]
    assert row.click(1) == six[4]
    row.click(3)
    assert row.slots == [*six[:3], MORE]  # round again
    row.click(3)
    row.show(six)
    assert row.page == 0


def test_softkey_buttons_say_what_they_are():
    assert softkey_words(0, SoftKey("Talk", "/up", 1, "/down")) == (
        "Softkey 1, Talk",
        "Hold to talk: mouse button, Space or F1",
    )
    assert softkey_words(3, MORE) == ("Softkey 4, more", "F4")
    assert softkey_words(2, None) == ("Softkey 3, blank", "F3")


def test_the_screen_rows_mask_a_pin_and_scroll_only_as_far_as_needed():
    form = InputForm.of(Input(items=(InputItem("User ID", "id", "1001", "N"), InputItem("PIN", "pin", "4321", "NP"))))
    form.move(+1)
    assert phone_screen.rows(Input(), 0, form) == (["User ID: 1001", "PIN: ****_"], 1)
    assert phone_screen.position(form, 1, 2) == "123"
    menu = Menu(items=tuple(MenuItem(f"Item {n}", f"/{n}") for n in range(1, 9)))
    lines, current = phone_screen.rows(menu, 7, None)
    assert lines[7] == "8  Item 8" and current == 7 and phone_screen.position(None, 7, 8) == "8/8"
    assert phone_screen.first_visible(0, 7, 8, 6) == 2  # the last item in view, at the bottom
    assert phone_screen.first_visible(2, 1, 8, 6) == 1  # up past the top: one row
    assert phone_screen.first_visible(2, 4, 8, 6) == 2  # in view: no scroll
    assert phone_screen.rows(Directory(entries=(DirectoryEntry("", "5001"),)), 0, None) == (["5001"], 0)
    assert phone_screen.rows(Menu(), 0, None) == (["No items"], None)


def test_the_status_line_says_the_hook_the_number_and_a_notice():
    hook = Hook(speaker=True)
    assert phone_screen.status(hook, "5002", "") == "Off hook (speaker) - dialing 5002"
    assert phone_screen.status(Hook(), "", "PIN: 123 only") == "On hook - PIN: 123 only"
    assert phone_screen.prompt(Text(prompt="Pick"), requesting=True) == "Requesting..."
    assert phone_screen.header("", 0)[0] == "No line" and phone_screen.header("1001", 0)[0] == "\u260e 1001"


def test_keypad_characters_by_input_flags():
    assert keypad_characters(InputItem("", "p", flags="NP"), "#") == ""
    assert keypad_characters(InputItem("", "p", flags="T"), "#") == "#"
    assert keypad_characters(InputItem("", "p", flags="E"), "*") == "*.+-"
    assert keypad_characters(InputItem("", "p", flags="U"), "7") == "PQRS7"


def test_an_input_form_types_multi_taps_deletes_and_refuses():
    form = InputForm.of(Input(items=(InputItem("Name", "name", "", "A"), InputItem("PIN", "pin", "12", "NP"))))
    assert form.values == {"name": "", "pin": "12"}
    t = 100.0
    for key in "22":  # two taps of 2 within the multi-tap time: b
        assert form.press_key(key, t) is None
        t += MULTI_TAP_S / 2
    form.press_key("2", t + MULTI_TAP_S)  # after a pause: a new letter
    assert form.values["name"] == "ba"
    form.backspace()
    assert form.type_text("eth") is None and form.values["name"] == "beth"
    form.move(+1)
    assert form.press_key("*", t) == "PIN: 123 only" and form.values["pin"] == "12"
    assert form.type_text("x") == "PIN: 123 only"
    form.move(+5)  # no field past the last
    assert form.focused.param == "pin"


def test_the_hook_switch():
    hook = Hook()
    hook.set(speaker=True)
    assert hook.words() == "Off hook (speaker)"
    hook.set(handset=True)  # the call moves to the handset
    assert hook.words() == "Off hook (handset)" and not hook.speaker
    hook.set(handset=False)
    assert not hook.off_hook and hook.words() == "On hook"
