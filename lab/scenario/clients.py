"""The people of a scenario at their consoles, headless: one IDC client core per user.

Each user has what the IDC has, without widgets: a profile folder with the login
server selector's list (``KnownServers``, kept between logins, so Amy's selector can
still show last week's active server), a ``ConsoleSession`` on the lab's clock, and
push-to-talk through the media router (``RouterFloor``), listening to every channel
and VTG the console shows.  What happens to a console (offline, reconnected,
redirected, paused) goes to the lab's timeline as "client" events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ipics_clients.known_servers import KnownServers
from ipics_clients.router_floor import RouterFloor
from ipics_clients.session import ConsoleSession, LoginError, Notice, State
from ipics_server.adapters.httpclient import ApiClient, Unreachable

log = logging.getLogger("ipics.trainer.scenario")

#: real seconds a console may take to close (log out, disconnect) at the end of a run
CLOSE_TIMEOUT_S = 10.0


class ClientActionFailed(Exception):
    """What a user tried at the console did not work; ``str()`` says why."""


class WriteRefused(ClientActionFailed):
    """The server answered and refused the change (``error``: its code, as
    ``no_synchronous_standby``): nothing was acknowledged."""

    def __init__(self, text: str, status: int, error: str | None):
        super().__init__(text)
        self.status, self.error = status, error


class ScenarioClient:
    """One user's headless IDC.  ``heard`` counts audio frames per (group, talker)."""

    def __init__(
        self,
        user: str,
        profile_dir: Path,
        *,
        urls: list[str],
        names: dict[str, str],
        clock,
        media_url: str | None,
        on_event: Callable[[str], None],
    ):
        self.user = user
        self._names = names  # server address -> "primary" | "secondary"
        self._on_event = on_event
        self.known = KnownServers.load(profile_dir / "servers.json")
        for url in urls:  # the lab's servers, as `ipics-lab console` adds them from lab.json
            self.known.add(url)
        self.known.save()
        self.session = ConsoleSession(self.known, clock=clock, on_change=self._on_change)
        self.floor = RouterFloor(media_url) if media_url else None
        self.heard: Counter[tuple[str, str]] = Counter()
        if self.floor is not None:
            self.floor.follow(self.session.media_ticket)  # the router wants the user's ticket
            self.floor.on_audio(self._on_audio)

    # -------------------------------------------------------------- what it shows
    @property
    def server_name(self) -> str | None:
        return self._names.get(self.session.server) if self.session.server else None

    def channel_names(self) -> list[str]:
        return self.session.config.channel_names()

    def channel_id(self, name: str) -> str | None:
        return next((c["id"] for c in self.session.config.channels if c["name"] == name), None)

    def describe(self) -> str:
        """What the console shows, in a few words, e.g. "offline (last on the primary)"."""
        state = self.session.state
        if state == State.ONLINE:
            return f"online on the {self.server_name}"
        if state == State.OFFLINE:
            return f"offline (last on the {self.server_name})"
        return state.value

    def name_servers(self, text: str) -> str:
        for address, name in self._names.items():
            text = text.replace(address, f"the {name}")
        return text

    # ------------------------------------------------------------------ actions
    async def login(self, choice: str, password: str, urls: dict[str, str]) -> str:
        """Log in as the IDC does: on the named server, or ("selected") on the server
        the login dialog would select: the last one seen active."""
        if choice == "selected":
            if any(s.role is None for s in self.known.servers):
                await self.session.learn_unknown_roles()  # a first run: the dialog asks for them
            address = self.known.active() or self.known.addresses()[0]
        else:
            address = urls[choice]
        try:
            await self.session.login(address, self.user, password)
        except LoginError as exc:
            raise ClientActionFailed(f"{self.user} could not log in: {exc}") from None
        self._join_talk_groups()
        chosen = f"the {self._names[address]} ({choice})" if choice == "selected" else f"the {choice}"
        return f"{self.user} chose {chosen} in the selector and is {self.describe()}"

    async def logout(self) -> str:
        if self.floor is not None:
            self.floor.release_all(self.user)
        await self.session.logout()
        return f"{self.user} logged out"

    def ptt_press(self, channel: str) -> str:
        floor, group = self._talk_group(channel)
        if not floor.press(group, self.user):
            raise ClientActionFailed(f"{channel} is busy: {floor.talker(group)} is talking")
        return f"{self.user} presses push-to-talk on {channel}"

    def ptt_release(self, channel: str) -> str:
        floor, group = self._talk_group(channel)
        floor.release(group, self.user)
        return f"{self.user} releases push-to-talk on {channel}"

    async def api(self, method: str, path: str, body: dict) -> dict:
        """A request with this console's session, to the server it is on (an
        operator's configuration change)."""
        if self.session.state != State.ONLINE or not self.session.server:
            raise ClientActionFailed(f"{self.user} is {self.describe()}: the console cannot change anything now")
        async with ApiClient(self.session.server, token=self.session.token) as c:
            try:
                reply = await c.request(method, path, json=body)
            except Unreachable as exc:
                raise ClientActionFailed(f"the {self.server_name} did not answer: {exc}") from None
        if not reply.ok:
            body = reply.body if isinstance(reply.body, dict) else {}
            message = body.get("message") if body else reply.body
            raise WriteRefused(f"the {self.server_name} refused: {message}", reply.status, body.get("error"))
        return reply.body

    async def close(self) -> None:
        """Log out and disconnect, whatever the state; never raises, never hangs."""
        for what, closing in (
            ("session", self.session.close),
            ("push-to-talk", self.floor.close if self.floor else None),
        ):
            if closing is None:
                continue
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await closing()
            except Exception as exc:  # noqa: BLE001 - the end of a run must close everything else too
                log.warning("closing %s's %s: %s", self.user, what, exc)

    # ----------------------------------------------------------------- events
    def _talk_group(self, channel: str) -> tuple[RouterFloor, str]:
        """The push-to-talk floor and the talk group of ``channel`` on this console."""
        if self.floor is None:
            raise ClientActionFailed("this lab has no media router: push-to-talk is not available")
        group = self.channel_id(channel)
        if group is None:
            raise ClientActionFailed(
                f"{self.user}'s console has no channel {channel} (it shows {', '.join(self.channel_names()) or 'none'})"
            )
        return self.floor, group

    def _join_talk_groups(self) -> None:
        """Listen to every channel and VTG the console shows, as its talk-group rows do."""
        if self.floor is None:
            return
        config = self.session.config
        for item in (*config.channels, *config.vtgs):
            with contextlib.suppress(KeyError, TypeError):
                self.floor.join(item["id"])

    def _on_audio(self, group: str, talker: str, _seq: int, _payload: bytes, _sent_ns: int) -> None:
        self.heard[(group, talker)] += 1

    def _on_change(self, _session: ConsoleSession, notice: Notice | None) -> None:
        self._join_talk_groups()  # a new configuration may bring new channels
        if notice is None:
            return
        where = self.server_name
        text = {
            "online": f"online on the {where}",
            "offline": f"offline (lost the {where}); working with the last configuration",
            "reconnected": f"reconnected to the {where}",
            "logged-out": "logged out",
        }.get(notice.kind) or f"{notice.kind}: {self.name_servers(notice.text)}"
        self._on_event(f"{self.user}: {text}")


async def close_all(clients: dict[str, ScenarioClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients.values()))
