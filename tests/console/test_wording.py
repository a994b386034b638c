"""Notices as sentences on screen: a leading word is capitalised, an address never is."""

from __future__ import annotations

import pytest

from ipics_clients.wording import sentence


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "offline: the connection to http://127.0.0.1:8001 is lost",
            "Offline: the connection to http://127.0.0.1:8001 is lost",
        ),
        (
            "logged in to the active server http://127.0.0.1:8001",
            "Logged in to the active server http://127.0.0.1:8001",
        ),
        (
            "http://127.0.0.2:8002 is the standby server: the login was refused",
            "http://127.0.0.2:8002 is the standby server: the login was refused",
        ),
        ("http://[::1]:8002 does not answer", "http://[::1]:8002 does not answer"),
        ("127.0.0.2:8002 does not answer", "127.0.0.2:8002 does not answer"),
        ("ipics-b.example.org:8002 does not answer", "ipics-b.example.org:8002 does not answer"),
        ("5 channels changed", "5 channels changed"),
        ("logged-out, log in again", "Logged-out, log in again"),
        ("Already a sentence", "Already a sentence"),
        ("", ""),
    ],
)
def test_only_a_leading_word_is_capitalised(text, shown):
    assert sentence(text) == shown


def test_a_full_stop_is_added_once():
    assert (
        sentence("http://127.0.0.2:8002 is the standby server", full_stop=True)
        == "http://127.0.0.2:8002 is the standby server."
    )
    assert sentence("trying http://127.0.0.1:8001", full_stop=True) == "Trying http://127.0.0.1:8001."
    assert sentence("done.", full_stop=True) == "Done."
