"""What a phone or telephone listens on for the servers' calls back: an address they reach."""

from __future__ import annotations

from ipics_clients.addresses import LOOPBACK, address_seen_by, origin
from ipics_clients.phone_browser import PhoneBrowser, ipics_service


def test_a_lab_on_loopback_calls_back_on_loopback():
    assert address_seen_by(["http://127.0.0.1:8443"]) == "127.0.0.1"
    assert address_seen_by([]) == LOOPBACK  # no server known yet


def test_urls_without_a_host_are_skipped():
    assert address_seen_by(["not a url", "http://127.0.0.1:1"]) == "127.0.0.1"


def test_a_url_without_its_default_port_is_the_same_server():
    assert origin("https://198.18.1.12/phone/ipics/menu") == origin("https://198.18.1.12:443")
    assert origin("http://127.0.0.1/x") == origin("http://127.0.0.1:80")
    assert origin("https://198.18.1.12:8443/") != origin("https://198.18.1.12")


def test_the_phone_sends_its_push_address_to_its_service_on_the_default_port():
    """A server on 443 builds its pages' URLs from the Host header, without the port; the
    phone still knows them for its service's and sends its push address with them."""
    phone = PhoneBrowser([ipics_service("primary", "https://198.18.1.11:443")], headers={"X-Push": "here"})
    assert phone._private_headers("https://198.18.1.11/phone/ipics/menu") == {"X-Push": "here"}
    assert phone._private_headers("https://198.18.1.99/phone/ipics/menu") == {}
