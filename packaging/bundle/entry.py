"""The bundle's program, ``ipics-lab``: the installed command (ipics_desktop.cli:main),
and ``ipics-lab -m MODULE ARGS`` as ``python -m`` (the lab starts its servers, media
routers and windows that way: ipics_lab.launcher.module_command)."""

import sys

from ipics_lab.launcher import run_python_m

if (status := run_python_m(sys.argv[1:])) is not None:
    sys.exit(status)

# imported only when not running a module: a server started by the lab skips the CLI
from ipics_desktop.cli import main

main()
