"""The 12-key telephone keypad (ITU-T E.161), as the IP phone and the desk telephone
both carry it: the keys in the order they sit (three columns, four rows), the letters
printed under each digit, and the names widgets use for ``*`` and ``#``.

What a key does is the device's: the phone types into an input field with it
(``phone_keys``), the telephone sends a tone (``telephone``).
"""

from __future__ import annotations

KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
COLUMNS = 3
#: the letters printed under each key
PRINTED_LETTERS = {
    "1": "",
    "2": "ABC",
    "3": "DEF",
    "4": "GHI",
    "5": "JKL",
    "6": "MNO",
    "7": "PQRS",
    "8": "TUV",
    "9": "WXYZ",
    "0": "",
    "*": "",
    "#": "",
}
#: how a key is spelled in an objectName: ``phoneKeyStar``, ``telephoneKeyPound``
KEY_NAMES = {"*": "Star", "#": "Pound"}


def key_name(key: str) -> str:
    return KEY_NAMES.get(key, key)


def key_words(key: str) -> str:
    """What a screen reader says for the key: ``Key 2 (ABC)``, ``Key *``."""
    letters = PRINTED_LETTERS[key]
    return f"Key {key}" + (f" ({letters})" if letters else "")


def position(index: int) -> tuple[int, int]:
    """The row and column of the ``index``-th key of ``KEYPAD``."""
    return divmod(index, COLUMNS)
