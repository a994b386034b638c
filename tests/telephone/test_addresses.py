"""What a phone or telephone listens on for the servers' calls back: an address they reach."""

from __future__ import annotations

from ipics_clients.addresses import LOOPBACK, address_seen_by


def test_a_lab_on_loopback_calls_back_on_loopback():
    assert address_seen_by(["http://127.0.0.1:8443"]) == "127.0.0.1"
    assert address_seen_by([]) == LOOPBACK  # no server known yet


def test_urls_without_a_host_are_skipped():
    assert address_seen_by(["not a url", "http://127.0.0.1:1"]) == "127.0.0.1"
