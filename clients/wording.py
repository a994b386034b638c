"""A notice's text as a sentence on screen.

The session's notices are lower-case clauses ("offline: the connection ... is lost",
"http://127.0.0.2:8002 is the standby server: ..."): the activity log shows them as
they are, and a banner or a dialog makes a sentence of them.  Only a leading word is
capitalised: a notice that starts with a server's address keeps it as typed, since
"Http://127.0.0.2:8002" is not an address anyone can use.
"""

from __future__ import annotations

#: what may end a leading word ("offline:", "logged-out,")
_TRAILING = ",:;.!?)"
_INSIDE = "-'’"


def is_word(token: str) -> bool:
    """Letters only (a hyphen or an apostrophe inside), whatever punctuation follows:
    not a URL, a host:port, an IP address or a number."""
    core = token.rstrip(_TRAILING)
    return bool(core) and core[0].isalpha() and all(c.isalpha() or c in _INSIDE for c in core)


def sentence(text: str, *, full_stop: bool = False) -> str:
    """``text`` with its leading word capitalised (never an address), and a full stop
    when asked and none ends it yet."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if is_word(first):
        start = len(text) - len(text.lstrip())
        text = text[:start] + text[start].upper() + text[start + 1 :]
    if full_stop and text and not text.rstrip().endswith((".", "!", "?")):
        text = text.rstrip() + "."
    return text
