"""What happens to the trainer's devices (chapter, "HA Affect On Connected Devices"), as
"client" events on the lab's timeline: "dan (console): reconnected to secondary".

``DeviceEvents`` turns a console's or mobile client's notice, a phone's screen and a
telephone's call state into short sentences with the lab's server names (primary,
secondary) rather than their addresses, and tells each once.
"""

from __future__ import annotations

from ipics_clients.phone_push import PushReceiver
from ipics_clients.phone_xml import Text
from ipics_clients.session import ConsoleSession, Notice
from ipics_clients.telephone import State as Call
from ipics_clients.telephone import Telephone
from ipics_desktop.trainer.device import Device
from ipics_lab.seed import DEMO_DIAL_IDS


class DeviceEvents:
    """The devices' events on ``lab``'s timeline (a started ``TrainerLab``)."""

    def __init__(self, lab):
        self.lab = lab

    def session_notice(self, device: Device, session: ConsoleSession, notice: Notice | None) -> None:
        """A console's or mobile client's notice, as a short sentence with server names."""
        if notice is None:
            return
        server = self.name(session.server)
        words = {
            "online": f"online on {server}",
            "offline": f"offline ({server} lost)",
            "reconnected": f"reconnected to {server}",
            "redirected": f"redirected from the standby to {self.name(session.known.active())}",
            "logged-out": "logged out",
        }.get(notice.kind)
        if words is None and notice.kind in ("paused", "error", "missing"):
            words = f"{'failure' if notice.kind == 'error' else notice.kind}: {self.named(notice.text)}"
        if words:
            self.event(device, words, server if session.server else None)

    def phone_changed(self, device: Device, receiver: PushReceiver) -> None:
        screen = device.client.screen
        where = self.name(screen.url) if self._server_url(screen.url) else None
        obj = screen.obj
        if screen.error:
            state = ("failure", where, self.named(obj.text.splitlines()[0] if obj.text else obj.title))
        elif where is None:
            return  # the phone's own Services menu
        elif obj.title == "IPICS Login":
            state = ("login", where, obj.prompt)
        elif obj.title == "IPICS" and isinstance(obj, Text):
            state = ("refused", where, self.named(obj.text))
        else:
            state = ("online", where, "")
        if state == device._last:
            return
        previous, device._last = device._last, state
        kind, where, text = state
        if kind == "online":
            pushed = len(receiver.received) > device._pushes
            if device._online_on is None:
                words = f"logged in on {where} (Dial Login {DEMO_DIAL_IDS[device.user]})"
            elif where != device._online_on:
                words = f"moved to {where} (pushed by the new active)" if pushed else f"redirected to {where}"
            elif not previous or previous[0] != "online":
                words = f"back on {where}"
            else:
                words = ""
            device._online_on, device._pushes = where, len(receiver.received)
        elif kind == "failure":
            words = f"failure: {text}"
        elif kind == "refused":
            words = f"{where} refused: {text}"
        elif text != "Enter your user ID and PIN":  # the login screen on the way in says nothing new
            words = f"login screen on {where}: {text}"
        else:
            words = ""
        if words:
            self.event(device, words, where)

    def telephone_changed(self, device: Device) -> None:
        phone: Telephone = device.client
        state = (phone.state, phone.server, phone.user)
        if state == device._last:
            return
        previous, device._last = device._last, state
        server = self.name(phone.server)
        was = previous[0] if previous else Call.ON_HOOK
        words = ""
        if phone.state == Call.CONNECTED and was != Call.CONNECTED:
            words = f"call connected to {server}"
        elif phone.state == Call.CONNECTED and phone.user and (not previous or previous[2] != phone.user):
            words = f"logged in as {phone.user} on {server}"
        elif phone.state == Call.DROPPED:
            words = f"call dropped by {server}"
        elif phone.state == Call.BUSY:
            words = "all circuits busy: no server took the call"
        elif phone.state == Call.RINGING:
            words = "ringing: a dial-out call from IPICS"
        elif phone.state == Call.ON_HOOK and was == Call.CONNECTED:
            words = "hung up"
        if words:
            self.event(device, words, server if phone.server else None)

    def login_failure(self, message: str) -> str:
        """The login form's message ("Login failed: wrong user name or password.") as an event."""
        reason = message.removeprefix("Login failed:").strip().rstrip(".")
        return f"login failed: {self.named(reason) or 'no reason given'}"

    def event(self, device: Device, words: str, server: str | None = None) -> None:
        self.lab.timeline.add(
            "client",
            f"{device.user} ({device.label}): {words}",
            server=server if server in ("primary", "secondary") else None,
        )

    def _server_url(self, url: str | None):
        for s in self.lab.pair.servers:
            if url and (url == s.url or url.startswith(s.url + "/")):
                return s
        return None

    def name(self, address: str | None) -> str:
        server = self._server_url(address)
        return server.name if server else (address or "no server")

    def named(self, text: str) -> str:
        """``text`` with the lab's server addresses as their names (primary, secondary)."""
        for s in self.lab.pair.servers:
            text = text.replace(s.url, s.name).replace(s.url.split("://", 1)[1], s.name)
        return text
