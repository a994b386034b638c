"""How a server's client API is reached, from the address a user types: plain http on
loopback, https anywhere else (``normalize_address``, the one place that decides)."""

from __future__ import annotations

import pytest

from ipics_server.adapters.httpclient import normalize_address


@pytest.mark.parametrize(
    ("typed", "reached"),
    [
        # The lab on one desktop: loopback, plain http, as always.
        ("127.0.0.2:8002", "http://127.0.0.2:8002"),
        ("127.0.0.1", "http://127.0.0.1:80"),
        ("localhost:8001", "http://localhost:8001"),
        ("[::1]:8001", "http://[::1]:8001"),
        ("::1", "http://[::1]:80"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        # Off loopback: the partner's IP address alone, as the chapter has it typed, is https on 443.
        ("198.18.0.12", "https://198.18.0.12:443"),
        ("198.18.0.12:8443", "https://198.18.0.12:8443"),
        ("https://198.18.0.12", "https://198.18.0.12:443"),
        ("ipics-b.example.org", "https://ipics-b.example.org:443"),
        ("2001:db8::12", "https://[2001:db8::12]:443"),
        ("[2001:db8::12]:8443", "https://[2001:db8::12]:8443"),
    ],
)
def test_an_address_is_reached_over_http_on_loopback_and_https_elsewhere(typed, reached):
    assert normalize_address(typed) == reached


@pytest.mark.parametrize("typed", ["http://198.18.0.12:8000", "http://ipics-b.example.org", "http://[2001:db8::12]"])
def test_plain_http_off_loopback_is_refused_saying_how_to_type_it(typed):
    with pytest.raises(ValueError, match=r"^plain http to .+ is refused: .* over https only \(type .+\)$"):
        normalize_address(typed)


@pytest.mark.parametrize("typed", ["ftp://127.0.0.1:21", "https://198.18.0.12/admin", "user@198.18.0.12", "", "a b"])
def test_what_is_not_an_address_is_refused(typed):
    with pytest.raises(ValueError, match="the partner address must be host:port or an http URL"):
        normalize_address(typed)
