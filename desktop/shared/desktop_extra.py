"""Whether this installation has the desktop extra (``pip install 'ipics-ha-lab[desktop]'``):
a server host's install runs the commands without windows, and a window or a launcher
asked for there says what to install instead of failing on an import."""

from __future__ import annotations

import importlib.util

#: what the windows import beyond the base install: the ``desktop`` extra
DESKTOP_MODULES = ("PySide6", "qasync", "keyring")


def missing_desktop_message(command: str) -> str | None:
    """What to install, when this installation is a server host's (no ``desktop`` extra)."""
    missing = [name for name in DESKTOP_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{command}: the desktop applications need {', '.join(missing)}, not installed here. "
        "Install them with: pip install 'ipics-ha-lab[desktop]' (without them this installation "
        "runs ipics-lab server, media, up --headless and scenario run)"
    )
