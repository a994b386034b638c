"""The trainer opens consoles, phones, mobile clients and telephones as named users
against its real lab: each logged in (or plugged in) on the active, each telling the
timeline what happens to it when the active is killed, and ``close_all`` leaving
nothing running."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import pytest
from PySide6.QtWidgets import QApplication

from ipics_clients.session import State
from ipics_clients.telephone import State as Call
from ipics_desktop.trainer.devices import DEVICE_KINDS, DeviceLauncher
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.lab import TrainerLab
from ipics_server.dial.pstn import PstnDirectory

from .conftest import INTERVAL_S, MISSED, TIME_SCALE

#: real seconds a login may take on a loaded machine
LOGIN_S = 20
#: real seconds a whole takeover may take: window + 300 s worst case, scaled, plus slack
TAKEOVER_DEADLINE_S = (INTERVAL_S * MISSED + 300) * TIME_SCALE + 10
DAN_MENU = ["EMS", "Fire", "Police", "Downtown Response", "Mutual Aid"]


def client_events(lab: TrainerLab) -> list[str]:
    return [e.text for e in lab.timeline.of_kind("client")]


async def told(lab: TrainerLab, *texts: str, timeout_s: float = LOGIN_S) -> None:
    await wait_until(lambda: set(texts) <= set(client_events(lab)), timeout_s, f"{texts} on the timeline")


def host(url: str | None) -> str:
    return urlsplit(url or "").netloc


def device(launcher: DeviceLauncher, kind: str, user: str):
    return next(d for d in launcher.opened if d.kind == kind and d.user == user)


def sockets() -> int:
    """This process's open sockets (the lab's servers are other processes)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # the directory's own descriptor, gone once listed
    return count


def other_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


async def open_all(lab: TrainerLab, launcher: DeviceLauncher):
    """Dan's console and phone, Fred's mobile client, Amy's telephone, each logged in
    (or plugged in) on the active primary."""
    shown = launcher.open("console", "dan")
    phone = launcher.open("phone", "dan")
    mobile = launcher.open("mobile", "Fred")  # as typed: names are not case-sensitive
    telephone = launcher.open("telephone", "amy")
    primary = lab.pair.primary
    idc = device(launcher, "console", "dan").client
    assert shown is idc.dialog  # on screen until the login is through
    console = idc.window
    await wait_until(lambda: idc.session.state == State.ONLINE and console.isVisible(), LOGIN_S, "Dan's console online")
    await wait_until(
        lambda: phone.browser.screen.obj.title == "IPICS" and not phone.busy, LOGIN_S, "Dan's phone at the IPICS menu"
    )
    await wait_until(
        lambda: mobile.session.state == State.ONLINE and mobile.pages.currentWidget() is mobile.incidents_page,
        LOGIN_S,
        "Fred's mobile online",
    )
    pstn = PstnDirectory(lab.pair.pstn_directory)
    await wait_until(lambda: pstn.lookup("5557041") is not None, LOGIN_S, "Amy's telephone on the network")
    assert idc.session.server == mobile.session.server == primary.url
    assert host(phone.browser.screen.url) == host(primary.url)
    return console, phone, mobile, telephone


async def test_each_kind_opens_as_the_named_user_logged_in_on_the_active(trainer_lab, launcher, tmp_path):
    lab = trainer_lab
    console, phone, mobile, telephone = await open_all(lab, launcher)
    assert [d.kind for d in launcher.opened] == list(DEVICE_KINDS)

    idc = device(launcher, "console", "dan").client
    assert console.windowTitle() == "dan \u2014 IDC" and idc.dialog.windowTitle() == "dan \u2014 IDC (login)"
    assert idc.session.username == "dan" and not idc.dialog.isVisible()
    assert sorted(idc.session.known.addresses()) == sorted(lab.urls)  # the selector knows both
    assert {s.role for s in idc.session.known.servers} == {"active", "standby"}
    assert idc.dialog.password.text() == ""  # never typed in: no widget holds the password
    assert (tmp_path / "profiles" / "dan-console" / "servers.json").exists()

    assert phone.windowTitle() == "Phone 1001 (dan)"
    assert [item.name for item in phone.browser.screen.obj.items] == DAN_MENU
    assert [s.name for s in phone.browser.services] == ["IPICS primary", "IPICS secondary"]
    assert phone.receiver is not None and phone.receiver.enabled  # the new active can push to it

    assert mobile.windowTitle() == "fred \u2014 Mobile" and mobile.session.username == "fred"
    assert [i["name"] for i in mobile.client.incidents()] == ["Warehouse fire, 5th Street"]
    assert mobile.password.text() == ""

    assert telephone.windowTitle() == "Telephone 5557041 (amy)"
    assert telephone.telephone.state == Call.ON_HOOK and telephone.telephone.trunk == lab.urls

    await told(
        lab,
        "dan (console): online on primary",
        "fred (mobile): online on primary",
        "dan (phone 1001): logged in on primary (Dial Login 1001)",
    )
    assert {e.server for e in lab.timeline.of_kind("client")} == {"primary"}
    # Neither the password nor the PIN went anywhere on disk.
    for path in (tmp_path / "profiles").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert lab.users_password.encode() not in content and lab.pin.encode() not in content, path

    # Opened again: the same console, raised; a second telephone gets a number of its own.
    assert launcher.open("console", "DAN") is console and len(launcher.opened) == 4
    second = launcher.open("telephone", "amy")
    assert second is not telephone and second.windowTitle() == "Telephone 5557042 (amy)"
    await wait_until(
        lambda: PstnDirectory(lab.pair.pstn_directory).lookup("5557042"), LOGIN_S, "the second telephone on the network"
    )


async def test_the_devices_follow_a_failover_and_tell_the_timeline(trainer_lab, launcher):
    lab = trainer_lab
    pair = lab.pair
    console, phone, mobile, telephone = await open_all(lab, launcher)
    telephone.call()  # Amy dials in: the call reaches the active
    await wait_until(lambda: telephone.telephone.state == Call.CONNECTED, LOGIN_S, "Amy's call connected")
    assert telephone.telephone.server == pair.primary.url
    await told(lab, "amy (telephone 5557041): call connected to primary")
    await pair.wait_ready()  # the sessions (the phone's too) have reached the standby

    pair.primary.kill()
    await told(
        lab,
        "dan (console): reconnected to secondary",
        "fred (mobile): reconnected to secondary",
        "dan (phone 1001): moved to secondary (pushed by the new active)",
        "amy (telephone 5557041): call dropped by primary",
        timeout_s=TAKEOVER_DEADLINE_S + LOGIN_S,
    )
    texts = client_events(lab)
    for who in ("dan (console)", "fred (mobile)"):
        assert texts.index(f"{who}: offline (primary lost)") < texts.index(f"{who}: reconnected to secondary")
    reconnected = [e for e in lab.timeline.of_kind("client") if e.text.endswith("reconnected to secondary")]
    assert {e.server for e in reconnected} == {"secondary"}

    # The windows follow, with no action from the trainer.
    idc = device(launcher, "console", "dan").client
    assert idc.session.server == pair.secondary.url and idc.session.state == State.ONLINE
    assert pair.secondary.url in console.status_server.text() and console.banner.text().startswith("Reconnected")
    assert mobile.session.server == pair.secondary.url and pair.secondary.url in mobile.status.text()
    assert host(phone.browser.screen.url) == host(pair.secondary.url)
    assert [item.name for item in phone.browser.screen.obj.items] == DAN_MENU  # still logged in
    assert telephone.telephone.state == Call.DROPPED and telephone.state_label.text() == "Call dropped"


async def test_close_all_ends_every_session_task_and_socket(trainer_lab, launcher):
    lab = trainer_lab
    before = sockets()
    # the lab's own tasks (its monitor and its run's recording) go on: the devices' must end
    labs_tasks = set(other_tasks())
    _console, phone, mobile, telephone = await open_all(lab, launcher)
    telephone.call()
    await wait_until(lambda: telephone.telephone.state == Call.CONNECTED, LOGIN_S, "Amy's call connected")
    idc = device(launcher, "console", "dan").client
    session, floor, browser, receiver = idc.session, idc.floor, phone.browser, phone.receiver
    client, line = mobile.client, telephone.telephone
    assert sockets() > before and set(other_tasks()) - labs_tasks

    await launcher.close_all()
    assert launcher.opened == []
    assert session.state == State.LOGGED_OUT and session._client is None and not session._tasks
    assert client.session.state == State.LOGGED_OUT and client.session._client is None
    assert floor._closed and floor.client is None  # the console's media router connection
    assert receiver._runner is None and browser._http.closed
    assert line.state == Call.ON_HOOK and PstnDirectory(lab.pair.pstn_directory).lookup("5557041") is None
    await wait_until(lambda: not set(other_tasks()) - labs_tasks, 5, "every task to end")
    await wait_until(lambda: sockets() <= before, 5, "every socket to close")
    await told(lab, "dan (console): logged out", "fred (mobile): logged out", "amy (telephone 5557041): hung up")
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    await launcher.close_all()  # again: nothing left to do


async def test_a_window_the_trainer_closes_ends_its_device(trainer_lab, launcher):
    lab = trainer_lab
    phone = launcher.open("phone", "adam")
    telephone = launcher.open("telephone", "adam")
    launcher.open("console", "ursula")
    idc = device(launcher, "console", "ursula").client
    console = idc.window
    await wait_until(
        lambda: (
            phone.browser.screen.obj.title == "IPICS"
            and idc.session.state == State.ONLINE
            and PstnDirectory(lab.pair.pstn_directory).lookup("5557021")
        ),
        LOGIN_S,
        "the devices up",
    )
    assert phone.windowTitle() == "Phone 1002 (adam)" and console.windowTitle() == "ursula \u2014 IDC"
    receiver, browser = phone.receiver, phone.browser

    for window in (phone, telephone, console):
        window.close()  # the window's close button
    await wait_until(lambda: not launcher.opened, 10, "the closed devices to end")
    assert receiver._runner is None and browser._http.closed
    assert PstnDirectory(lab.pair.pstn_directory).lookup("5557021") is None
    assert idc.session.state == State.LOGGED_OUT
    await told(lab, "ursula (console): logged out")
    # Opened again after that: a new one, logged in as before.
    again = launcher.open("phone", "adam")
    assert again is not phone
    await wait_until(lambda: again.browser.screen.obj.title == "IPICS", LOGIN_S, "Adam's new phone logged in")


async def test_a_refused_login_is_told_and_leaves_the_login_screen(trainer_lab, launcher):
    lab = trainer_lab
    lab.users_password, lab.pin = "not-the-password", "000000"  # as if the lab's were changed
    shown = launcher.open("console", "ursula")
    mobile = launcher.open("mobile", "amy")
    phone = launcher.open("phone", "fred")
    await told(
        lab,
        "ursula (console): login failed: wrong user name or password",
        "amy (mobile): login failed: wrong user name or password",
        "fred (phone 1005): login screen on primary: Login failed: wrong ID or PIN",
    )
    idc = device(launcher, "console", "ursula").client
    assert shown is idc.dialog and idc.dialog.isVisible() and not idc.window.isVisible()
    assert idc.dialog.password.text() == "" and idc.dialog.login_button.isEnabled()
    assert idc.dialog.message.text() == "Login failed: wrong user name or password."
    assert mobile.pages.currentWidget() is mobile.login_page and mobile.password.text() == ""
    assert phone.browser.screen.obj.title == "IPICS Login"
    assert len(launcher.opened) == 3  # still open: the trainer may log in by hand


@pytest.mark.parametrize(
    ("kind", "user", "message"),
    [
        ("pager", "dan", r"unknown device kind 'pager': one of console, phone, mobile, telephone"),
        ("", "dan", r"unknown device kind '': one of console"),
        (None, "dan", r"unknown device kind None"),
        ("console", "zoe", r"unknown user 'zoe': one of dan, adam, ursula, amy, fred"),
        ("phone", "", r"unknown user '': one of dan"),
        ("telephone", None, r"unknown user None"),
        ("mobile", "dan", r"the lab is not running: start it before opening devices"),
    ],
)
async def test_a_bad_kind_or_user_is_refused_and_opens_nothing(tmp_path, kind, user, message):
    lab = TrainerLab(tmp_path / "lab", time_scale=TIME_SCALE)  # never started: no processes
    launcher = DeviceLauncher(lab, tmp_path / "profiles")
    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    with pytest.raises(ValueError, match=message):
        launcher.open(kind, user)
    assert launcher.opened == [] and not (tmp_path / "profiles").exists()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == shown
    await launcher.close_all()
