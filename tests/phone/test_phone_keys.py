"""The phone's own key rules, as tables: which softkeys a screen shows, softkey pages,
what the keypad types under each InputFlags (multi-tap at a human's pace), the hook."""

from __future__ import annotations

from ipics_clients.phone_keys import (
    MORE,
    MULTI_TAP_S,
    Hook,
    InputForm,
    keypad_characters,
    shown_softkeys,
    softkey_page,
)
from ipics_clients.phone_xml import Directory, Input, InputItem, Menu, SoftKey, Text


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
    assert [getattr(k, "name", k) for k in softkey_page(eight, 2)[0]] == ["7", "8", None, MORE]
    assert softkey_page(eight, 0)[1] == 3


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
