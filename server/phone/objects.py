"""Cisco IP Phone XML objects, as the IPICS phone service writes them.

The limits are the phone's (``../shared/reference/ipphone-xml.md``): a value longer
than the phone shows is cut here rather than by the phone, so every model shows the
same text, and a menu never has more items than the phone accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

TITLE_MAX = 32
NAME_MAX = 64
TEXT_MAX = 4000
MENU_ITEMS_MAX = 100
CONTENT_TYPE = "text/xml"


@dataclass(frozen=True)
class SoftKey:
    name: str
    url: str
    position: int
    url_down: str | None = None


def _el(tag: str, value: str, limit: int | None = None) -> str:
    return f"<{tag}>{escape(value[:limit] if limit else value)}</{tag}>"


def _softkeys(keys: tuple[SoftKey, ...]) -> str:
    out = []
    for k in keys:
        down = _el("URLDown", k.url_down) if k.url_down else ""
        out.append(
            f"<SoftKeyItem>{_el('Name', k.name)}{_el('URL', k.url)}{down}"
            f"{_el('Position', str(k.position))}</SoftKeyItem>"
        )
    return "".join(out)


def menu(title: str, prompt: str, items: list[tuple[str, str]], softkeys: tuple[SoftKey, ...] = ()) -> str:
    body = "".join(
        f"<MenuItem>{_el('Name', name, NAME_MAX)}{_el('URL', url)}</MenuItem>" for name, url in items[:MENU_ITEMS_MAX]
    )
    return (
        f"<CiscoIPPhoneMenu>{_el('Title', title, TITLE_MAX)}{_el('Prompt', prompt, TITLE_MAX)}"
        f"{body}{_softkeys(softkeys)}</CiscoIPPhoneMenu>"
    )


def text(title: str, prompt: str, body: str, softkeys: tuple[SoftKey, ...] = ()) -> str:
    return (
        f"<CiscoIPPhoneText>{_el('Title', title, TITLE_MAX)}{_el('Prompt', prompt, TITLE_MAX)}"
        f"{_el('Text', body, TEXT_MAX)}{_softkeys(softkeys)}</CiscoIPPhoneText>"
    )


@dataclass(frozen=True)
class InputItem:
    display_name: str
    param: str
    flags: str
    default: str = ""


def input_screen(title: str, prompt: str, url: str, items: list[InputItem], softkeys: tuple[SoftKey, ...] = ()) -> str:
    body = "".join(
        f"<InputItem>{_el('DisplayName', i.display_name, TITLE_MAX)}"
        f"{_el('QueryStringParam', i.param)}{_el('DefaultValue', i.default)}"
        f"{_el('InputFlags', i.flags)}</InputItem>"
        for i in items
    )
    return (
        f"<CiscoIPPhoneInput>{_el('Title', title, TITLE_MAX)}{_el('Prompt', prompt, TITLE_MAX)}"
        f"{_el('URL', url)}{body}{_softkeys(softkeys)}</CiscoIPPhoneInput>"
    )


def execute(url: str) -> str:
    """Server push: the phone opens ``url`` now (``POST /CGI/Execute``, field ``XML``)."""
    return f'<CiscoIPPhoneExecute><ExecuteItem Priority="0" URL={quoteattr(url)}/></CiscoIPPhoneExecute>'
