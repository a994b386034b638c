"""``ipics-lab console``: open one IDC in its own process.

The known servers come from the profile (kept between runs), the servers named with
``--server``, and the running lab's ``lab.json``; the time scale from the lab, so the
5 s pause is 5 emulated seconds.  The start-up is the desktop's one
(``ipics_desktop.shared.startup``).
"""

from __future__ import annotations

import argparse

from ipics_desktop.shared import startup

COMMAND = "ipics-lab console"
PROFILE_ENV = "IPICS_CONSOLE_PROFILE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    startup.add_login_arguments(
        parser, kind="console", env=PROFILE_ENV, keeps="the selector and the remembered user name"
    )
    parser.add_argument(
        "--media-router",
        default=None,
        metavar="URL",
        help="the media router carrying push-to-talk (default: the lab's; without "
        "one, push-to-talk reaches the consoles of this process only)",
    )


def run(ns: argparse.Namespace) -> int:
    return startup.run_window(
        COMMAND,
        "IPICS Dispatch Console",
        lambda: startup.login_start(ns, kind="console", env=PROFILE_ENV),
        lambda start, running: _main(ns, start, running),
        report_shown=ns.report_shown,
    )


async def _main(ns: argparse.Namespace, start: startup.LoginStart, running: startup.Running) -> None:
    from ipics_clients.credentials import Credentials
    from ipics_desktop.idc.idc import Idc

    floor = None
    media = ns.media_router or start.lab.media
    if media:
        from ipics_clients.router_floor import RouterFloor

        floor = RouterFloor(media)  # connects in the background
    idc = Idc(start.known, Credentials(start.profile), clock=start.clock, floor=floor)
    if ns.user:
        idc.dialog.username.setText(ns.user)
        idc.dialog.password.setFocus()
    idc.start()
    running.report_shown("login_dialog_shown_s")
    # Probe roles the selector does not know yet (a first run); known roles stay as they
    # were last seen, so a console that was away still shows the old roles (Amy's case).
    idc.tasks.start(idc.session.learn_unknown_roles())
    try:
        await running.until_closed(idc.closed, idc.close)
    finally:
        if floor is not None:
            await floor.close()
