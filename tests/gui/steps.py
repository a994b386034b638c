"""What a dispatcher does with the IDC, as test steps."""

from __future__ import annotations

from ipics_clients.session import State
from ipics_desktop.idc.idc import Idc
from ipics_desktop.testing import type_login
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S


def selector_items(dialog) -> list[tuple[str, str]]:
    s = dialog.selector
    return [(s.itemData(i), s.itemText(i)) for i in range(s.count())]


def choose_server(dialog, address: str) -> None:
    index = dialog.selector.findData(address)
    assert index >= 0, f"{address} is not in the selector: {selector_items(dialog)}"
    dialog.selector.setCurrentIndex(index)


async def log_in(
    idc: Idc,
    qtbot,
    address: str,
    user: str | None,
    password: str | None,
    *,
    expect_online: bool = True,
    timeout_s: float = TAKEOVER_DEADLINE_S + 10,
) -> None:
    """Choose the server, type the user name and password (None: keep what is filled in),
    press Log In; wait for the console window unless told otherwise."""
    dialog = idc.dialog
    type_login(dialog, qtbot, address, user, password)
    if expect_online:
        await wait_until(
            lambda: idc.window.isVisible() and idc.session.state == State.ONLINE, timeout_s, "the console window"
        )
    else:
        await wait_until(
            lambda: dialog.login_task is not None and dialog.login_task.done(), timeout_s, "the login to finish"
        )


def activity(window) -> list[str]:
    return [window.activity.item(i).text() for i in range(window.activity.count())]
