"""``ipics-lab telephone``: one standard telephone of the lab, in its own process.

Its trunk is the running lab's two servers (``lab.json`` in ``--lab-dir``: the
primary, then the secondary; a call goes to the first that takes it, as the telephone
network's trunk to an IPICS pair would), and it plugs into the lab's telephone network
(``<lab dir>/pstn.json``) under ``--number``, so a dispatcher can invite it into a VTG
as a dial-out participant.  ``--no-auto-answer`` leaves such calls ringing until
Answer is pressed.  The start-up is the desktop's one (``ipics_desktop.shared.startup``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ipics_desktop.shared import startup
from ipics_server.dial.engine import SYSTEM_NUMBER
from ipics_server.dial.pstn import NUMBER

COMMAND = "ipics-lab telephone"
PSTN_FILE_NAME = "pstn.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--number", required=True, help="this telephone's number on the lab's telephone network (3 to 15 digits)"
    )
    startup.add_lab_arguments(parser, finds="its servers and telephone network", time_scale=False)
    parser.add_argument(
        "--no-auto-answer",
        dest="auto_answer",
        action="store_false",
        help="let calls from IPICS (dial-out) ring until Answer is pressed",
    )


def run(ns: argparse.Namespace) -> int:
    return startup.run_window(
        COMMAND,
        "Telephone",
        lambda: _prepare(ns),
        lambda lab, running: _main(ns, lab, running),
        report_shown=ns.report_shown,
        style=False,
    )  # the telephone has its own look


def _prepare(ns: argparse.Namespace) -> startup.RunningLab:
    if not NUMBER.match(ns.number):
        raise startup.StartupError(f"--number {ns.number!r} is not a telephone number (3 to 15 digits)")
    if ns.number == SYSTEM_NUMBER:
        raise startup.StartupError(f"--number {SYSTEM_NUMBER} is the IPICS system number: choose another")
    lab = startup.running_lab(ns.lab_dir)
    startup.trust_lab(ns, lab)
    if not lab.urls:
        raise startup.StartupError(
            f"no lab is running in {lab.dir}: the telephone has no trunk to IPICS "
            "(start one with ipics-lab up, or pass the lab's --lab-dir)"
        )
    return lab


async def _main(ns: argparse.Namespace, lab: startup.RunningLab, running: startup.Running) -> None:
    from ipics_clients.telephone import Telephone
    from ipics_desktop.telephone.panel import TelephonePanel
    from ipics_server.dial.pstn import PstnDirectory

    telephone = Telephone(ns.number, lab.urls, auto_answer=ns.auto_answer)
    panel = TelephonePanel(telephone=telephone)
    pstn_path = lab.dir / PSTN_FILE_NAME
    try:
        pstn = PstnDirectory(pstn_path)
        plugged_in = True
        try:
            taken = await asyncio.to_thread(pstn.lookup, telephone.number)
            await telephone.connect_to(pstn)
        except (OSError, ValueError) as exc:
            plugged_in = False
            running.warn(
                f"cannot join the lab's telephone network at {pstn_path} "
                f"({getattr(exc, 'strerror', None) or exc}); calls out to IPICS work, calls from it "
                "will not ring here"
            )
        else:
            if taken:
                running.warn(
                    f"{telephone.number} was already on the lab's telephone network (another "
                    "telephone, or one that did not close); calls to it ring here now"
                )
        panel.show()
        running.report_shown(
            "telephone_shown_s",
            lambda: {
                "number": ns.number,
                "trunk": telephone.trunk,
                "pstn": str(pstn_path) if plugged_in else None,
                "auto_answer": telephone.auto_answer,
            },
        )
        await running.until_closed(panel.closed, panel.close)
    finally:
        await telephone.disconnect()  # hangs up and gives the number back


def main(argv: list[str] | None = None) -> int:
    """``python -m ipics_desktop.telephone.app``: the same as ``ipics-lab telephone``."""
    return startup.command_main(COMMAND, __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
