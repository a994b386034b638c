"""Files the lab reads at run time, shipped inside the package and found through
``importlib.resources``: an installed wheel, a checkout and a desktop bundle alike,
nothing looks for the checkout.

- ``data/licenses/``: the sample licenses (``base.lic`` for the primary, ``ha.lic`` for
  the secondary, ``policy.lic``) that ``ipics-lab up``, the trainer's lab and the pytest
  plugin install on their servers.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from importlib import resources
from pathlib import Path

#: what ``as_file`` extracted (nothing for a package on disk), kept for the process's life
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


@functools.cache
def sample_licenses_dir() -> Path:
    """The folder of the sample licenses, as a real path: a server is given its license
    files by path (``--license F``)."""
    folder = resources.files(__package__) / "data" / "licenses"
    return _extracted.enter_context(resources.as_file(folder))


def sample_license(name: str) -> Path:
    """One sample license by file name (``base.lic``, ``ha.lic``, ``policy.lic``)."""
    path = sample_licenses_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no sample license {name!r} in {sample_licenses_dir()}")
    return path
