"""What this installation is: the distribution's name and version, read from its
installed metadata (the version is written once, in pyproject.toml)."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "ipics-ha-lab"


def version() -> str:
    """The installed version; ``0+unknown`` for code run from a checkout never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
