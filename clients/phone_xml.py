"""The Cisco IP Phone XML objects a phone service answers with, parsed and checked.

CiscoIPPhoneMenu, CiscoIPPhoneText, CiscoIPPhoneInput and CiscoIPPhoneDirectory with
their SoftKeyItems (``../shared/reference/ipphone-xml.md``).  Like newer firmware, the
parser is strict about structure: too many menu or input items, a missing required
element, or anything that is not one of these objects is an error, and the phone shows
an error screen instead.  Over-long texts are cut, as phones cut them.

A document type declaration is refused outright: phone objects have none, and refusing
it shuts out entity-expansion bombs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

#: not verified on a real phone; generous for every object the limits allow
MAX_XML_BYTES = 64 * 1024
MAX_MENU_ITEMS = 100
MAX_INPUT_ITEMS = 5
MAX_DIRECTORY_ENTRIES = 32  # a phone pages longer directories with Next; not verified
MAX_SOFTKEYS = 8  # not verified: 4 on screen, with More for the rest
TITLE_CHARS = 32  # Title and Prompt (not verified)
NAME_CHARS = 64  # MenuItem Name
TEXT_CHARS = 4000  # CiscoIPPhoneText Text (not verified)
URL_CHARS = 256
INPUT_FLAGS = set("ATNEULP")
MAX_EXECUTE_ITEMS = 3


class PhoneXmlError(ValueError):
    """What the error screen says: the object could not be shown."""


@dataclass(frozen=True)
class SoftKey:
    """A SoftKeyItem, or one of the phone's own softkeys (``phone_keys``): the one
    softkey type of the clients (the server writes its own, ``ipics_server.phone.objects``)."""

    name: str
    url: str
    position: int
    url_down: str | None = None

    @property
    def push_to_talk(self) -> bool:
        """A key with URLDown: pressed it sends URLDown, let go URL."""
        return bool(self.url_down)


@dataclass(frozen=True)
class MenuItem:
    name: str
    url: str


@dataclass(frozen=True)
class InputItem:
    display_name: str
    param: str
    default: str = ""
    flags: str = "A"

    @property
    def masked(self) -> bool:
        return "P" in self.flags

    @property
    def mode(self) -> str:
        """A, T, N, E, U or L: the kind of characters the field takes (P only masks)."""
        return self.flags.replace("P", "")[:1] or "A"

    def accepts(self, value: str) -> bool:
        """Whether the keypad could have typed ``value`` under these flags."""
        kind = self.mode
        if kind == "N":
            return value.isdigit() or value == ""
        if kind == "T":
            return all(c.isdigit() or c in "#*" for c in value)
        if kind == "E":
            return all(c.isdigit() or c in ".*#+-" for c in value)
        return True


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    telephone: str


@dataclass(frozen=True)
class PhoneObject:
    title: str = ""
    prompt: str = ""
    softkeys: tuple[SoftKey, ...] = ()


@dataclass(frozen=True)
class Menu(PhoneObject):
    items: tuple[MenuItem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Text(PhoneObject):
    text: str = ""


@dataclass(frozen=True)
class Input(PhoneObject):
    url: str = ""
    items: tuple[InputItem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Directory(PhoneObject):
    entries: tuple[DirectoryEntry, ...] = field(default_factory=tuple)


def parse(document: bytes) -> PhoneObject:
    root = _root(document)
    parser = _PARSERS.get(root.tag)
    if parser is None:
        raise PhoneXmlError(f"unsupported object <{root.tag[:40]}>")
    return parser(root)


def parse_execute(document: bytes) -> tuple[str, ...]:
    """A pushed ``CiscoIPPhoneExecute``: the URLs of its ExecuteItems, in order."""
    root = _root(document)
    if root.tag != "CiscoIPPhoneExecute":
        raise PhoneXmlError(f"expected <CiscoIPPhoneExecute>, not <{root.tag[:40]}>")
    items = root.findall("ExecuteItem")
    if not 1 <= len(items) <= MAX_EXECUTE_ITEMS:
        raise PhoneXmlError(f"an execute object has 1 to {MAX_EXECUTE_ITEMS} items")
    urls = []
    for item in items:
        url = (item.get("URL") or "").strip()
        if not url or len(url) > URL_CHARS:
            raise PhoneXmlError(f"an ExecuteItem needs a URL of at most {URL_CHARS} characters")
        urls.append(url)
    return tuple(urls)


def _root(document: bytes) -> ET.Element:
    if len(document) > MAX_XML_BYTES:
        raise PhoneXmlError(f"the object is larger than {MAX_XML_BYTES // 1024} KB")
    if b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
        raise PhoneXmlError("XML with a document type declaration is not accepted")
    try:
        return ET.fromstring(document)
    except ET.ParseError as exc:
        raise PhoneXmlError(f"XML parse error: {exc}") from None


# ----------------------------------------------------------------------- helpers
def _text(el: ET.Element, tag: str, limit: int, *, required: bool = False) -> str:
    child = el.find(tag)
    if child is None or child.text is None:
        if required:
            raise PhoneXmlError(f"<{el.tag}> needs <{tag}>")
        return ""
    return child.text.strip()[:limit]


def _url(el: ET.Element, tag: str = "URL", *, required: bool = True) -> str:
    value = _text(el, tag, URL_CHARS + 1, required=required)
    if len(value) > URL_CHARS:
        raise PhoneXmlError(f"a <{tag}> is longer than {URL_CHARS} characters")
    return value


def _softkeys(root: ET.Element) -> tuple[SoftKey, ...]:
    keys = []
    for el in root.findall("SoftKeyItem"):
        try:
            position = int(_text(el, "Position", 4, required=True))
        except ValueError:
            raise PhoneXmlError("a SoftKeyItem Position must be a number") from None
        if not 1 <= position <= MAX_SOFTKEYS:
            raise PhoneXmlError(f"a SoftKeyItem Position must be 1 to {MAX_SOFTKEYS}")
        keys.append(SoftKey(_text(el, "Name", 12), _url(el), position, _url(el, "URLDown", required=False) or None))
    if len({k.position for k in keys}) != len(keys):
        raise PhoneXmlError("two SoftKeyItems share a Position")
    return tuple(sorted(keys, key=lambda k: k.position))


def _common(root: ET.Element) -> dict:
    return {
        "title": _text(root, "Title", TITLE_CHARS),
        "prompt": _text(root, "Prompt", TITLE_CHARS),
        "softkeys": _softkeys(root),
    }


def _menu(root: ET.Element) -> Menu:
    found = root.findall("MenuItem")
    if len(found) > MAX_MENU_ITEMS:
        raise PhoneXmlError(f"a menu has at most {MAX_MENU_ITEMS} items ({len(found)} given)")
    items = tuple(MenuItem(_text(el, "Name", NAME_CHARS, required=True), _url(el)) for el in found)
    return Menu(**_common(root), items=items)


def _text_object(root: ET.Element) -> Text:
    return Text(**_common(root), text=_text(root, "Text", TEXT_CHARS))


def _input(root: ET.Element) -> Input:
    found = root.findall("InputItem")
    if len(found) > MAX_INPUT_ITEMS:
        raise PhoneXmlError(f"an input has at most {MAX_INPUT_ITEMS} items ({len(found)} given)")
    items = []
    for el in found:
        flags = _text(el, "InputFlags", 4) or "A"
        if not set(flags) <= INPUT_FLAGS:
            raise PhoneXmlError(f"unknown InputFlags {flags!r}")
        items.append(
            InputItem(
                _text(el, "DisplayName", TITLE_CHARS),
                _text(el, "QueryStringParam", 64, required=True),
                _text(el, "DefaultValue", 256),
                flags,
            )
        )
    return Input(**_common(root), url=_url(root), items=tuple(items))


def _directory(root: ET.Element) -> Directory:
    found = root.findall("DirectoryEntry")
    if len(found) > MAX_DIRECTORY_ENTRIES:
        raise PhoneXmlError(f"a directory has at most {MAX_DIRECTORY_ENTRIES} entries ({len(found)} given)")
    entries = tuple(
        DirectoryEntry(_text(el, "Name", NAME_CHARS), _text(el, "Telephone", 32, required=True)) for el in found
    )
    return Directory(**_common(root), entries=entries)


_PARSERS = {
    "CiscoIPPhoneMenu": _menu,
    "CiscoIPPhoneText": _text_object,
    "CiscoIPPhoneInput": _input,
    "CiscoIPPhoneDirectory": _directory,
}
