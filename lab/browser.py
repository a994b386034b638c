"""Debian's Chromium as the lab's browser tests and screenshot scripts launch it
(through Playwright; its own browser download is not used).

SETUP.md: without these switches, Chromium's own connections (updates, sync, QUIC) are
refused by the closed network and slow every page down.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def chromium_args(*, trusting: Iterable[Path] = ()) -> list[str]:
    """``CHROMIUM_ARGS``, and trust for HTTPS servers whose chain holds a certificate of
    ``trusting`` (the lab CA's ``ca.pem``): Chromium's list of public keys whose
    certificate errors it ignores, not every certificate error."""
    from .ca import spki_sha256

    keys = [spki_sha256(Path(path).read_bytes()) for path in trusting]
    return CHROMIUM_ARGS + ([f"--ignore-certificate-errors-spki-list={','.join(keys)}"] if keys else [])
