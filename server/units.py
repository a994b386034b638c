"""The systemd units of a server host, shipped with the package (``server/systemd/``).

    python -m ipics_server units                          the units' names
    python -m ipics_server units --print NAME [--python P] one unit, its ExecStart naming P

As shipped, ExecStart names ``/opt/ipics-ha-lab/bin/python``; ``--print`` names the
interpreter that runs it (or ``--python``), so a unit printed by the virtualenv it
installs from runs that virtualenv.  The units hide ``/home``, ``/root``, ``/run/user``
and ``/tmp`` from the service: an interpreter there, or linked to one there (a
virtualenv made by pyenv's Python), is refused with what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources

SHIPPED_PYTHON = "/opt/ipics-ha-lab/bin/python"
UNITS = ("ipics-server@.service", "ipics-media@.service")
#: what ProtectHome=yes and PrivateTmp=yes hide from the service
HIDDEN = ("/home", "/root", "/run/user", "/tmp", "/var/tmp")


class UnitError(ValueError):
    """A unit that cannot be printed as asked; the message says what to do."""


def unit_text(name: str, python: str = SHIPPED_PYTHON) -> str:
    """The unit ``name`` with ExecStart running ``python`` (an absolute path the service sees)."""
    if name not in UNITS:
        raise UnitError(f"there is no unit {name!r}: name one of {', '.join(UNITS)}")
    if not python.startswith("/") or any(c.isspace() or c in "%$\\\"'" for c in python):
        raise UnitError(
            f"{python!r} cannot start a unit: name an absolute path without spaces, quotes, % or $ with --python"
        )
    # a virtualenv's python is a link to its base interpreter (pyenv's lives in /root)
    for path in dict.fromkeys((python, os.path.realpath(python))):
        hidden = next((d for d in HIDDEN if path == d or path.startswith(d + "/")), None)
        if hidden is not None:
            raise UnitError(
                f"{path} is under {hidden}, which the unit hides from the service: make a virtualenv outside it "
                "from a Python outside it (/usr/bin/python3 -m venv /opt/ipics-ha-lab) and print the unit "
                "with that virtualenv's python"
            )
    text = (resources.files(__package__) / "systemd" / name).read_text(encoding="utf-8")
    return text.replace(f"ExecStart={SHIPPED_PYTHON} ", f"ExecStart={python} ")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--print", dest="unit", metavar="NAME", help=f"print this unit ({' or '.join(UNITS)})")
    p.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="the interpreter ExecStart runs (default: this one, %(default)s)",
    )
    p.set_defaults(units_command=p.prog)  # "ipics-lab units" or "python -m ipics_server units"


def run(ns: argparse.Namespace) -> int:
    if ns.unit is None:
        print("\n".join(UNITS))
        return 0
    command = getattr(ns, "units_command", "ipics-lab units")
    try:
        sys.stdout.write(unit_text(ns.unit, ns.python))
    except UnitError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    if not os.access(ns.python, os.X_OK):
        # printed all the same: the unit may be meant for another host (/opt/... there)
        print(
            f"{command}: warning: {ns.python} is not an interpreter on this host; the unit starts "
            "only where it is (install the virtualenv there first)",
            file=sys.stderr,
        )
    return 0
