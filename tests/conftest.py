"""Shared fixtures.  Server behaviour is tested against real processes on loopback."""

import os

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
