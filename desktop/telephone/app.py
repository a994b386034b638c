"""``ipics-lab telephone``: one standard telephone of the lab, in its own process.

Its trunk is the running lab's two servers (``lab.json`` in ``--lab-dir``: the
primary, then the secondary; a call goes to the first that takes it, as the telephone
network's trunk to an IPICS pair would), and it plugs into the lab's telephone network
(``<lab dir>/pstn.json``) under ``--number``, so a dispatcher can invite it into a VTG
as a dial-out participant.  ``--no-auto-answer`` leaves such calls ringing until
Answer is pressed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from ipics_server.dial.engine import SYSTEM_NUMBER
from ipics_server.dial.pstn import NUMBER

from ipics_desktop.idc.app import lab_servers, no_display_message

PSTN_FILE_NAME = "pstn.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--number", required=True,
                        help="this telephone's number on the lab's telephone network (3 to 15 digits)")
    parser.add_argument("--lab-dir", type=Path, default=None,
                        help="the running lab's --data-dir, to find its servers and telephone network")
    parser.add_argument("--no-auto-answer", dest="auto_answer", action="store_false",
                        help="let calls from IPICS (dial-out) ring until Answer is pressed")
    # For smoke tests: print one JSON line when the telephone is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def lab_dir_of(ns: argparse.Namespace) -> Path:
    from ipics_lab.cli import default_lab_dir

    return (ns.lab_dir or default_lab_dir()).expanduser()


def run(ns: argparse.Namespace) -> int:
    started = time.monotonic()
    if no_display_message():
        print("ipics-lab telephone: no display. Run it in a desktop session, or under a virtual one: "
              "xvfb-run -a ipics-lab telephone ... (QT_QPA_PLATFORM=offscreen runs it without any window)",
              file=sys.stderr)
        return 2
    if not NUMBER.match(ns.number):
        print(f"ipics-lab telephone: --number {ns.number!r} is not a telephone number (3 to 15 digits)",
              file=sys.stderr)
        return 2
    if ns.number == SYSTEM_NUMBER:
        print(f"ipics-lab telephone: --number {SYSTEM_NUMBER} is the IPICS system number: choose another",
              file=sys.stderr)
        return 2
    lab_dir = lab_dir_of(ns)
    trunk, _ = lab_servers(lab_dir)
    if not trunk:
        print(f"ipics-lab telephone: no lab is running in {lab_dir}: the telephone has no trunk to IPICS "
              "(start one with ipics-lab up, or pass the lab's --lab-dir)", file=sys.stderr)
        return 2

    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    from ipics_clients.telephone import Telephone
    from ipics_desktop.telephone.panel import TelephonePanel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Telephone")
    app.setQuitOnLastWindowClosed(False)  # the loop ends after the telephone is unplugged
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    telephone = Telephone(ns.number, trunk, auto_answer=ns.auto_answer)
    panel = TelephonePanel(telephone=telephone)
    pstn_path = lab_dir / PSTN_FILE_NAME

    def report_shown(plugged_in: bool) -> None:
        print(json.dumps({"telephone_shown_s": round(time.monotonic() - started, 4), "number": ns.number,
                          "trunk": telephone.trunk, "pstn": str(pstn_path) if plugged_in else None,
                          "auto_answer": telephone.auto_answer}), flush=True)

    with loop:
        loop.run_until_complete(_until(panel, pstn_path, report_shown if ns.report_shown else None))
    return 0


async def _until(panel, pstn_path: Path, report_shown) -> int:
    from ipics_server.dial.pstn import PstnDirectory

    telephone = panel.telephone
    closed = asyncio.Event()
    panel.closed.connect(closed.set)
    try:
        pstn = PstnDirectory(pstn_path)
        plugged_in = True
        try:
            taken = await asyncio.to_thread(pstn.lookup, telephone.number)
            await telephone.connect_to(pstn)
        except (OSError, ValueError) as exc:
            plugged_in = False
            print(f"ipics-lab telephone: cannot join the lab's telephone network at {pstn_path} "
                  f"({getattr(exc, 'strerror', None) or exc}); calls out to IPICS work, calls from it "
                  "will not ring here", file=sys.stderr)
        else:
            if taken:
                print(f"ipics-lab telephone: {telephone.number} was already on the lab's telephone network "
                      "(another telephone, or one that did not close); calls to it ring here now",
                      file=sys.stderr)
        panel.show()
        if report_shown:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, lambda: report_shown(plugged_in))  # after the first paint
        await closed.wait()
    except asyncio.CancelledError:
        pass
    finally:
        await telephone.disconnect()  # hangs up and gives the number back
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ipics_desktop.telephone.app``: the same as ``ipics-lab telephone``."""
    parser = argparse.ArgumentParser(prog="ipics-lab telephone", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
