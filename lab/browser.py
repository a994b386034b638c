"""Debian's Chromium as the lab's browser tests and screenshot scripts launch it
(through Playwright; its own browser download is not used).

SETUP.md: without these switches, Chromium's own connections (updates, sync, QUIC) are
refused by the closed network and slow every page down.
"""

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
