"""The phone's XML objects: each one, its limits, and what is refused."""

from __future__ import annotations

import pytest

from ipics_clients.phone_xml import (
    MAX_XML_BYTES,
    Directory,
    Input,
    Menu,
    PhoneXmlError,
    SoftKey,
    Text,
    parse,
)


def menu(items: int, extra: str = "") -> bytes:
    entries = "".join(f"<MenuItem><Name>Item {i}</Name><URL>http://s/{i}</URL></MenuItem>" for i in range(items))
    return f"<CiscoIPPhoneMenu><Title>T</Title><Prompt>P</Prompt>{entries}{extra}</CiscoIPPhoneMenu>".encode()


def test_a_menu_with_its_items_and_softkeys_in_position_order():
    obj = parse(
        menu(
            2,
            "<SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>2</Position></SoftKeyItem>"
            "<SoftKeyItem><Name>Select</Name><URL>SoftKey:Select</URL><Position>1</Position>"
            "</SoftKeyItem>",
        )
    )
    assert isinstance(obj, Menu) and (obj.title, obj.prompt) == ("T", "P")
    assert [i.name for i in obj.items] == ["Item 0", "Item 1"] and obj.items[1].url == "http://s/1"
    assert obj.softkeys == (SoftKey("Select", "SoftKey:Select", 1), SoftKey("Exit", "SoftKey:Exit", 2))


def test_text_input_and_directory():
    text = parse(b"<CiscoIPPhoneText><Title>News</Title><Text>Line &amp; more</Text></CiscoIPPhoneText>")
    assert isinstance(text, Text) and text.text == "Line & more"
    inp = parse(
        b"<CiscoIPPhoneInput><Title>Login</Title><URL>/login</URL>"
        b"<InputItem><DisplayName>User ID</DisplayName><QueryStringParam>id</QueryStringParam>"
        b"<InputFlags>N</InputFlags></InputItem>"
        b"<InputItem><DisplayName>PIN</DisplayName><QueryStringParam>pin</QueryStringParam>"
        b"<InputFlags>NP</InputFlags></InputItem></CiscoIPPhoneInput>"
    )
    assert isinstance(inp, Input) and inp.url == "/login"
    assert [(i.param, i.masked) for i in inp.items] == [("id", False), ("pin", True)]
    assert inp.items[0].accepts("1234") and not inp.items[0].accepts("12a")
    directory = parse(
        b"<CiscoIPPhoneDirectory><Title>Crew</Title><DirectoryEntry><Name>Adam</Name>"
        b"<Telephone>5001</Telephone></DirectoryEntry></CiscoIPPhoneDirectory>"
    )
    assert isinstance(directory, Directory) and directory.entries[0].telephone == "5001"


def test_the_limits_100_menu_items_and_5_input_items():
    assert len(parse(menu(100)).items) == 100
    with pytest.raises(PhoneXmlError, match="at most 100"):
        parse(menu(101))
    six = "".join(f"<InputItem><QueryStringParam>p{i}</QueryStringParam></InputItem>" for i in range(6))
    with pytest.raises(PhoneXmlError, match="at most 5"):
        parse(f"<CiscoIPPhoneInput><URL>/x</URL>{six}</CiscoIPPhoneInput>".encode())


def test_long_texts_are_cut_as_phones_cut_them():
    obj = parse(
        (
            "<CiscoIPPhoneMenu><Title>"
            + "T" * 50
            + "</Title><MenuItem><Name>"
            + "N" * 80
            + "</Name><URL>http://s/</URL></MenuItem></CiscoIPPhoneMenu>"
        ).encode()
    )
    assert len(obj.title) == 32 and len(obj.items[0].name) == 64


@pytest.mark.parametrize(
    "document, why",
    [
        (b"<CiscoIPPhoneMenu><MenuItem><Name>x</Name>", "parse error"),
        (b"not xml at all", "parse error"),
        (b"<html><body>hello</body></html>", "unsupported object <html>"),
        (b"<CiscoIPPhoneMenu><MenuItem><Name>x</Name></MenuItem></CiscoIPPhoneMenu>", "needs <URL>"),
        (b"<CiscoIPPhoneInput><Title>x</Title></CiscoIPPhoneInput>", "needs <URL>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CiscoIPPhoneText><Text>&a;</Text></CiscoIPPhoneText>',  # noqa: E501
            "document type",
        ),
        (
            (
                b"<CiscoIPPhoneText><SoftKeyItem><Name>a</Name><URL>x</URL><Position>one</Position></SoftKeyItem>"
                b"</CiscoIPPhoneText>"
            ),
            "Position must be a number",
        ),
        (
            (
                b"<CiscoIPPhoneText><SoftKeyItem><Name>a</Name><URL>x</URL><Position>1</Position></SoftKeyItem>"
                b"<SoftKeyItem><Name>b</Name><URL>y</URL><Position>1</Position></SoftKeyItem></CiscoIPPhoneText>"
            ),
            "share a Position",
        ),
        (
            (
                b"<CiscoIPPhoneInput><URL>/x</URL><InputItem><QueryStringParam>p</QueryStringParam>"
                b"<InputFlags>Z</InputFlags></InputItem></CiscoIPPhoneInput>"
            ),
            "unknown InputFlags",
        ),
    ],
    ids=[
        "truncated",
        "not xml",
        "html",
        "menu item without url",
        "input without url",
        "dtd bomb",
        "bad position",
        "same position",
        "bad flags",
    ],
)
def test_bad_objects_are_refused_with_a_reason(document, why):
    with pytest.raises(PhoneXmlError, match=why):
        parse(document)


def test_an_oversized_object_is_refused_before_parsing():
    with pytest.raises(PhoneXmlError, match="larger than"):
        parse(b"<CiscoIPPhoneText><Text>" + b"x" * MAX_XML_BYTES + b"</Text></CiscoIPPhoneText>")
