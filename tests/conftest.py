"""Shared fixtures.  Server behaviour is tested against real processes on loopback."""

import os

os.environ.setdefault("QT_API", "pyside6")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# pytester: the lab plugin's tiers are tested with pytest runs in this process
pytest_plugins = ["pytester"]
