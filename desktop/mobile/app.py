"""``ipics-lab mobile``: open one IPICS mobile client in its own process.

As ``ipics-lab console``: the server selector holds the profile's known servers, any
``--server`` and the running lab's; the time scale is the lab's.  The profile
(``~/.config/ipics-ha-lab/mobile`` or ``--profile-dir``) keeps the selector and the
copies of recent uploads, for Upload again after a failover.  The start-up is the
desktop's one (``ipics_desktop.shared.startup``).
"""

from __future__ import annotations

import argparse

from ipics_desktop.shared import startup

COMMAND = "ipics-lab mobile"
PROFILE_ENV = "IPICS_MOBILE_PROFILE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    startup.add_login_arguments(
        parser, kind="mobile", env=PROFILE_ENV, keeps="the selector and the copies of recent uploads"
    )


def run(ns: argparse.Namespace) -> int:
    return startup.run_window(
        COMMAND,
        "IPICS Mobile",
        lambda: startup.login_start(ns, kind="mobile", env=PROFILE_ENV),
        lambda start, running: _main(ns, start, running),
        report_shown=ns.report_shown,
    )


async def _main(ns: argparse.Namespace, start: startup.LoginStart, running: startup.Running) -> None:
    from ipics_clients.mobile import MobileClient
    from ipics_clients.session import ConsoleSession
    from ipics_desktop.mobile.window import MobileWindow

    window = MobileWindow(MobileClient(ConsoleSession(start.known, clock=start.clock), start.profile))
    if ns.user:
        window.username.setText(ns.user)
        window.password.setFocus()
    window.show()
    running.report_shown("mobile_login_shown_s")
    # Roles the selector has never seen (a first run); known ones stay as last seen.
    window.tasks.start(_learn_roles(window))
    await running.until_closed(window.closed, window.close)


async def _learn_roles(window) -> None:
    await window.session.learn_unknown_roles()
    window.refresh_selector()
