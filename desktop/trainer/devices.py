"""The trainer's "open a device as a named user": IDC consoles, IP phones, mobile clients
and telephones, each an in-process window on the trainer's qasync loop.

Each device is built as its ``ipics-lab`` command builds it, against the trainer's
lab: the console and the mobile client know both servers and log in as the user on the
active one with the lab's users' password (never typed into a field, so no widget holds
it); the IP phone's Services list the IPICS service of both servers and it logs in by
Dial Login (the user's ID and the lab's PIN, as the keypad would send them); the
telephone gets a number of its own (``55570``, the user's digit, a running digit) and
plugs into the lab's telephone network, on hook.

What happens to them (chapter, "HA Affect On Connected Devices") goes to the lab's
timeline as "client" events, "dan (console): reconnected to secondary": online,
offline, reconnected, redirected, moved by a push, failures, calls dropped
(``device_events.DeviceEvents``; each device is a ``device.Device``).

A device the trainer closes ends by itself (session logged out, sockets closed);
``close_all`` closes the rest and waits until each has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from ipics_clients.addresses import address_seen_by
from ipics_clients.credentials import Credentials
from ipics_clients.known_servers import KnownServers
from ipics_clients.login import LoginForm
from ipics_clients.mobile import MobileClient
from ipics_clients.phone_browser import PhoneBrowser, ipics_service
from ipics_clients.phone_push import PushReceiver
from ipics_clients.phone_xml import Input
from ipics_clients.session import ConsoleSession, is_active
from ipics_clients.talk import Floor
from ipics_clients.tasks import Tasks
from ipics_clients.telephone import Telephone
from ipics_desktop.idc.idc import Idc
from ipics_desktop.mobile.window import MobileWindow
from ipics_desktop.phone.window import PhoneWindow
from ipics_desktop.telephone.panel import TelephonePanel
from ipics_desktop.trainer.device import Device
from ipics_desktop.trainer.device_events import DeviceEvents
from ipics_lab.seed import DEMO_DIAL_IDS
from ipics_server.dial.pstn import PstnDirectory

log = logging.getLogger("ipics.trainer")

DEVICE_KINDS = ("console", "phone", "mobile", "telephone")
#: real seconds a device may take to end (a logout to a server that hangs: 5 s)
CLOSE_TIMEOUT_S = 15.0
#: real seconds to ask each server whether it is the active one
PROBE_TIMEOUT_S = 2.0
TELEPHONE_PREFIX = "55570"
TELEPHONES_PER_USER = 9
DASH = "\u2014"

FloorFactory = Callable[[str], Any]  # user name -> a ``Floor`` (``close()`` awaited if it has one)


class DeviceLauncher:
    """Opens devices as named users for the trainer's ``lab`` (a started ``TrainerLab``).

    ``profiles_dir`` holds one profile folder per user and kind (``dan-console``,
    ``dan-mobile``).  ``floor_factory(user)`` gives each console its push-to-talk floor;
    by default one ``RouterFloor`` per console on the lab's media router (talking with
    the tickets the console's session gets at login), or one in-process ``Floor`` shared
    by the consoles when the lab has no router.  The launcher closes the floors it got.
    """

    def __init__(self, lab, profiles_dir: Path, floor_factory: FloorFactory | None = None):
        self.lab = lab
        self.profiles_dir = Path(profiles_dir)
        self.floor_factory = floor_factory
        self.opened: list[Device] = []
        self._shared_floor: Floor | None = None
        self._ending: set[asyncio.Task] = set()
        self.events = DeviceEvents(lab)  # what happens to the devices, on the lab's timeline

    # ------------------------------------------------------------------ open
    def open(self, kind: str, user: str) -> QWidget:
        """The window of a new ``kind`` device logged in as ``user`` (the login runs in
        the background; its outcome goes to the timeline), as on screen now: a console
        shows its login dialog until the login is through, then its console window.
        A console, phone or mobile client already open for that user is raised instead
        (it keeps its profile); each telephone is a new one.  ``ValueError`` for an
        unknown kind or user, with nothing opened."""
        kind, user = self._check(kind, user)
        if kind != "telephone":
            for device in self.opened:
                if device.kind == kind and device.user == user and not device.closing:
                    device.raise_()
                    return device.front()
        build = {
            "console": self._open_console,
            "phone": self._open_phone,
            "mobile": self._open_mobile,
            "telephone": self._open_telephone,
        }[kind]
        device = build(user)
        self.opened.append(device)
        return device.front()

    def _check(self, kind: str, user: str) -> tuple[str, str]:
        if not isinstance(kind, str) or kind.strip().lower() not in DEVICE_KINDS:
            raise ValueError(f"unknown device kind {kind!r}: one of {', '.join(DEVICE_KINDS)}")
        name = user.strip().lower() if isinstance(user, str) else ""
        if name not in DEMO_DIAL_IDS:
            raise ValueError(f"unknown user {user!r}: one of {', '.join(DEMO_DIAL_IDS)}")
        if getattr(self.lab, "pair", None) is None:
            raise ValueError("the lab is not running: start it before opening devices")
        return kind.strip().lower(), name

    # --------------------------------------------------------------- console
    def _open_console(self, user: str) -> Device:
        profile = self._profile(user, "console")
        known = self._known(profile)
        floor = self._floor(user)
        idc = Idc(known, Credentials(profile), clock=self.lab.clock, floor=floor)
        device = Device("console", user, "console", idc.window, (idc.dialog, idc.window), idc)
        title = f"{user} {DASH} IDC"
        # The console redraws its title with every change: ours goes on after each.
        keep_titles = _keeper((idc.dialog, f"{title} (login)"), (idc.window, title))
        idc.bridge.changed.connect(keep_titles)
        idc.dialog.logged_in.connect(keep_titles)
        keep_titles()
        idc.bridge.changed.connect(lambda notice: self.events.session_notice(device, idc.session, notice))
        idc.closed.connect(lambda: self._end(device))
        device._close = idc.close

        async def cleanup() -> None:
            if floor is not self._shared_floor and hasattr(floor, "close"):
                await floor.close()

        device._cleanup = cleanup
        dialog = idc.dialog
        dialog.username.setText(user)
        dialog.remember.setChecked(False)  # the trainer's password is never kept
        idc.start()

        self._log_in(device, dialog.form, dialog.tasks, dialog.message, known)
        return device

    # ---------------------------------------------------------------- mobile
    def _open_mobile(self, user: str) -> Device:
        profile = self._profile(user, "mobile")
        known = self._known(profile)
        window = MobileWindow(MobileClient(ConsoleSession(known, clock=self.lab.clock), profile))
        window.setWindowTitle(f"{user} {DASH} Mobile")
        device = Device("mobile", user, "mobile", window, (window,), window.client)
        window.bridge.changed.connect(lambda notice: self.events.session_notice(device, window.session, notice))
        window.closed.connect(lambda: self._end(device))
        device._close = window.close
        window.username.setText(user)
        window.show()

        self._log_in(device, window.form, window.tasks, window.login_message, known)
        return device

    def _log_in(self, device: Device, form: LoginForm, tasks: Tasks, message: QLabel, known: KnownServers) -> None:
        """The window's own login flow (redirects, the 5 s pause, its messages) on the
        active server, with the password handed over in memory rather than typed in; in
        the window's tasks, so its Cancel or its close stops it."""

        async def reported(login: Awaitable[bool]) -> None:
            if not await login:
                self.events.event(device, self.events.login_failure(message.text()))

        form.submit_to_active(
            partial(self._active_address, known),
            device.user,
            self.lab.users_password,
            start=lambda login: self._spawn(device, reported(login), tasks),
        )

    # ----------------------------------------------------------------- phone
    def _open_phone(self, user: str) -> Device:
        dial_id = DEMO_DIAL_IDS[user]
        services = [ipics_service(s.name, s.url) for s in self.lab.pair.servers]
        browser = PhoneBrowser(services, clock=self.lab.clock)
        window = PhoneWindow(browser=browser, extension=dial_id)
        window.setWindowTitle(f"Phone {dial_id} ({user})")
        receiver = PushReceiver(window.execute, host=address_seen_by(s.url for s in services))
        device = Device("phone", user, f"phone {dial_id}", window, (window,), browser)
        window.changed.connect(lambda: self.events.phone_changed(device, receiver))
        window.closed.connect(lambda: self._end(device))
        device._close = window.close

        async def cleanup() -> None:
            await receiver.close()
            await browser.close()

        device._cleanup = cleanup
        window.show()

        async def log_in() -> None:
            try:
                await window.take_pushes(receiver)
            except OSError as exc:
                self.events.event(
                    device,
                    f"cannot take pushes ({exc.strerror or exc}): after a failover open Services and log in again",
                )
            address = await self._active_address()
            urls = [s.url for s in self.lab.pair.servers]
            # As the user would: Services, the active's IPICS service, user ID and PIN, Submit.
            await browser.press_services()
            await browser.select(urls.index(address) if address in urls else 0)
            screen = browser.screen.obj
            if isinstance(screen, Input) and {i.param for i in screen.items} >= {"userid", "pin"}:
                await browser.submit({"userid": dial_id, "pin": self.lab.pin})

        self._spawn(device, log_in())
        return device

    # ------------------------------------------------------------- telephone
    def _open_telephone(self, user: str) -> Device:
        number = self._telephone_number(user)
        telephone = Telephone(number, [s.url for s in self.lab.pair.servers])
        panel = TelephonePanel(telephone=telephone)
        panel.setWindowTitle(f"Telephone {number} ({user})")
        device = Device("telephone", user, f"telephone {number}", panel, (panel,), telephone, number=number)
        # Every change, not the panel's drawings (one per turn of the loop): a ring
        # answered at once is still told as a ring.
        panel_listener = telephone.on_change

        def on_change(phone: Telephone) -> None:
            if panel_listener is not None and not device.closing:
                panel_listener(phone)
            self.events.telephone_changed(device)

        telephone.on_change = on_change
        panel.closed.connect(lambda: self._end(device))
        device._close = panel.close

        async def cleanup() -> None:
            telephone.on_change = lambda _phone: self.events.telephone_changed(device)  # the panel is gone
            try:
                await telephone.disconnect()  # hangs up and gives the number back
            finally:
                telephone.on_change = None

        device._cleanup = cleanup
        panel.show()

        async def plug_in() -> None:
            try:
                await telephone.connect_to(PstnDirectory(self.lab.pair.pstn_directory))
            except (OSError, ValueError) as exc:
                self.events.event(
                    device,
                    f"cannot join the lab's telephone network ({exc}): calls to IPICS "
                    "work, calls from it will not ring",
                )

        self._spawn(device, plug_in())
        return device

    def _telephone_number(self, user: str) -> str:
        digit = DEMO_DIAL_IDS[user][-1]
        taken = {d.number for d in self.opened if d.number and not d.closing}
        pstn = PstnDirectory(self.lab.pair.pstn_directory)
        for n in range(1, TELEPHONES_PER_USER + 1):
            number = f"{TELEPHONE_PREFIX}{digit}{n}"
            # Not one another telephone of the lab (another process) has either.
            if number not in taken and pstn.lookup(number) is None:
                return number
        raise ValueError(f"{user} already has {TELEPHONES_PER_USER} telephones: close one first")

    # ------------------------------------------------------------ helpers
    def _profile(self, user: str, kind: str) -> Path:
        profile = self.profiles_dir / f"{user}-{kind}"
        profile.mkdir(parents=True, exist_ok=True, mode=0o700)
        return profile

    def _known(self, profile: Path) -> KnownServers:
        """The selector: this lab's two servers.  A lab is a clean install on new ports
        each start, so servers a profile kept from an earlier lab are gone: dropped."""
        known = KnownServers.load(profile / "servers.json")
        urls = [s.url for s in self.lab.pair.servers]
        known.servers = [s for s in known.servers if s.address in urls]
        for url in urls:
            known.add(url)
        known.save()
        return known

    def _floor(self, user: str):
        if self.floor_factory is not None:
            return self.floor_factory(user)
        if self.lab.router is not None:
            from ipics_clients.router_floor import RouterFloor

            return RouterFloor(self.lab.router.url)  # the IDC gives it its session's tickets
        if self._shared_floor is None:
            self._shared_floor = Floor()
        return self._shared_floor

    async def _active_address(self, known: KnownServers | None = None) -> str:
        """The server answering as the active one now; else the one last seen active,
        else the primary (the login then follows the chapter: redirect, pause, retry)."""
        urls = [s.url for s in self.lab.pair.servers]
        answers = await asyncio.gather(*(is_active(u, timeout_s=PROBE_TIMEOUT_S) for u in urls))
        found = next((u for u, yes in zip(urls, answers, strict=True) if yes), None)
        return found or (known.active() if known else None) or urls[0]

    def _spawn(self, device: Device, coro, owner=None) -> asyncio.Task:
        """A device's background step; in ``owner`` (a window's ``Tasks``) too when the
        window must cancel it itself (its Cancel button, its close)."""
        task = owner.start(coro) if owner is not None else asyncio.get_running_loop().create_task(coro)
        device.tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(device, t))
        return task

    def _task_done(self, device: Device, task: asyncio.Task) -> None:
        device.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s (%s) failed", device.user, device.label, exc_info=task.exception())
            self.events.event(device, f"failure: {type(task.exception()).__name__}: {task.exception()}")

    # --------------------------------------------------------------- close
    def _end(self, device: Device) -> None:
        """The device closed (by the trainer or by ``close_all``): end what it holds."""
        if device.ending:
            return
        device.ending = device.closing = True
        task = asyncio.get_running_loop().create_task(self._finish(device))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _finish(self, device: Device) -> None:
        try:
            for task in list(device.tasks):
                task.cancel()
            await asyncio.gather(*device.tasks, return_exceptions=True)
            if device._cleanup is not None:
                await device._cleanup()
        except Exception:  # ending anyway: say why it did not end cleanly
            log.warning("%s (%s) did not close cleanly", device.user, device.label, exc_info=True)
        finally:
            if device in self.opened:
                self.opened.remove(device)
            for widget in device.widgets:
                widget.deleteLater()
            if isinstance(device.client, Idc):
                device.client.deleteLater()
            device.ended.set()

    async def close_all(self) -> None:
        """Close every device and wait until each has ended (sessions logged out, tasks
        cancelled, sockets closed)."""
        devices = list(self.opened)
        for device in devices:
            if not device.closing:
                device.closing = True
                device._close()
        for device in devices:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await device.ended.wait()
            except TimeoutError:
                # The window never said it closed: end what it holds here.
                log.warning("%s (%s) did not close within %.0f s", device.user, device.label, CLOSE_TIMEOUT_S)
                self._end(device)
        if self._ending:
            await asyncio.gather(*list(self._ending), return_exceptions=True)
        self._shared_floor = None


def _keeper(*titles: tuple[QWidget, str]) -> Callable[..., None]:
    def keep(*_args) -> None:
        for widget, title in titles:
            if widget.windowTitle() != title:
                widget.setWindowTitle(title)

    return keep
