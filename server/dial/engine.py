"""The dial engine: telephones calling into IPICS (dial-in) and the voice menu.

A call is a WebSocket to ``/dial/call``: the lab's stand-in for the SIP trunk from the
telephone network.  The caller's keypad tones arrive as telephone events
(``{"dtmf": "5"}``, as RFC 4733 carries them); the engine's voice prompts go back as
``{"say": ...}`` and the call's state as ``{"state": ...}``.

Only the active server takes calls; the standby answers 503, and the telephone
network tries the next server of the trunk.  A failover drops every call on the old
active: the process dies, or (Failover Now) the engine hangs up as the role changes.
Callers dial again after a short delay and reach the new active (chapter: "Standard
dial-in phone calls are dropped, but users can call back in to the system after a
short delay").
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import WSMsgType, web

from ..adapters.httpclient import ApiClient, Unreachable
from ..core.roles import Role
from ..data import DataService
from ..dial_login import DialLogin, Locked, well_formed
from ..errors import ApiError
from ..phone.service import PhoneMedia
from .pstn import PstnDirectory

log = logging.getLogger("ipics.dial")

CALL_PATH = "/dial/call"
#: the lab's dial-in number, shown on the telephone panel
SYSTEM_NUMBER = "5550100"
DTMF = set("0123456789*#")
MAX_DIGITS = 10
#: emulated seconds the voice menu waits for a key before it says goodbye
KEY_TIMEOUT_S = 60
LOGIN_TRIES = 3
MAX_MESSAGE_BYTES = 4096
#: calls one server takes at once; the next callers hear "all circuits busy"
MAX_CALLS = 500
#: keys typed ahead of the voice menu; more are dropped, as a real line would
MAX_KEYS_AHEAD = 32
#: real seconds a dial-out participant has to answer
DIAL_OUT_ANSWER_S = 5.0


class HangUp(Exception):
    """The caller hung up, or the call must end."""


@dataclass(eq=False)  # one object per call, kept in a set
class Call:
    ws: web.WebSocketResponse
    caller: str
    username: str | None = None
    group: dict | None = None
    talking: bool = False
    keys: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(MAX_KEYS_AHEAD))

    @property
    def logged_in_as(self) -> str:
        """The caller's user name: the voice menu goes past its login only with one."""
        if self.username is None:
            raise RuntimeError(f"the call from {self.caller} has no one logged in")
        return self.username

    async def say(self, text: str) -> None:
        await self.send({"say": text})

    async def send(self, message: dict) -> None:
        if self.ws.closed:
            raise HangUp()
        try:
            await self.ws.send_json(message)
        except ConnectionResetError:
            raise HangUp() from None


@dataclass(eq=False)
class OutCall:
    """A dial-out participant's call, placed by this server."""

    client: ApiClient
    ws: aiohttp.ClientWebSocketResponse
    task: asyncio.Task | None = None


class DialEngine:
    def __init__(
        self,
        data: DataService,
        dial_login: DialLogin,
        *,
        media: PhoneMedia | None = None,
        pstn: PstnDirectory | None = None,
    ):
        self.data = data
        self.engine = data.engine
        self.clock = data.clock
        self.dial_login = dial_login
        self.media = media
        self.pstn = pstn
        self.calls: set[Call] = set()
        #: (VTG id, number) -> the call up now.  Only this server's: a new active has
        #: none, and does not call anyone back (chapter note on dial-out users).
        self.out_calls: dict[tuple[str, str], OutCall] = {}
        self._dialling: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task] = set()

    # ---------------------------------------------------------------- the trunk
    async def answer(self, request: web.Request) -> web.StreamResponse:
        if not self.engine.accepts_writes or not self.data.services.running("tomcat"):
            raise ApiError(503, "not_active", "this server takes no calls: it is not the active server")
        caller = request.query.get("from", "")[:20]
        if not caller.isdigit():
            raise ApiError(400, "bad_request", "the call needs the caller's number: ?from=<digits>")
        if len(self.calls) >= MAX_CALLS:
            raise ApiError(503, "busy", "all circuits are busy: call again later")
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=5)
        await ws.prepare(request)
        call = Call(ws, caller)
        self.calls.add(call)
        log.info("dial-in call from %s", caller)
        reader = asyncio.ensure_future(self._read_keys(call))
        menu = asyncio.ensure_future(self._voice_menu(call))
        try:
            await asyncio.wait({reader, menu}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, menu):
                task.cancel()
            for result in await asyncio.gather(reader, menu, return_exceptions=True):
                if isinstance(result, Exception):
                    log.error("dial-in call from %s failed", caller, exc_info=result)
            self.calls.discard(call)
            await self._stop_talking(call)
            await ws.close()
            log.info("dial-in call from %s ended", caller)
        return ws

    async def _read_keys(self, call: Call) -> None:
        async for msg in call.ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.ERROR:
                    return
                continue  # audio frames go through the media router, not the engine
            try:
                key = json.loads(msg.data).get("dtmf")
            except (ValueError, AttributeError):
                key = None
            if not isinstance(key, str) or key not in DTMF:
                await call.send({"error": 'send telephone events as {"dtmf": one of 0-9 * #}'})
                continue
            if not call.keys.full():
                call.keys.put_nowait(key)

    # ---------------------------------------------------------------- the voice menu
    async def _voice_menu(self, call: Call) -> None:
        try:
            await call.send({"state": "answered", "server": self.engine.address})
            await call.say("Welcome to Cisco IPICS.")
            if not await self._log_in(call):
                await call.say("Goodbye.")
                return
            while True:
                group = await self._choose_group(call)
                if group is None:
                    await call.say("You have no channels or VTGs. Goodbye.")
                    return
                await self._on_group(call, group)
        except HangUp:
            return
        except ApiError as exc:  # the database went down, the server stopped being active
            await call.say(f"Sorry: {exc.message}. Goodbye.")

    async def _log_in(self, call: Call) -> bool:
        for _ in range(LOGIN_TRIES):
            await call.say("Enter your user ID, then the pound key.")
            user_id = await self._entry(call)
            await call.say("Enter your PIN, then the pound key.")
            pin = await self._entry(call)
            if well_formed(user_id, pin):
                try:
                    user = await self.dial_login.verify(user_id, pin)
                except Locked as exc:
                    await call.say(f"Too many attempts: try again in {exc.minutes} minutes.")
                    return False
                if user is not None:
                    call.username = user["username"]
                    await call.send({"state": "logged-in", "user": call.username})
                    return True
            await call.say("That user ID and PIN are not valid.")
        return False

    async def _choose_group(self, call: Call) -> dict | None:
        groups = await self._groups(call)
        if not groups:
            return None
        while True:
            menu = " ".join(f"For {g['name']}, press {i}." for i, g in enumerate(groups, 1))
            await call.say(f"{menu} Then press pound.")
            choice = await self._entry(call)
            if choice.isdigit() and 1 <= int(choice) <= len(groups):
                return groups[int(choice) - 1]
            await call.say("That is not on the list.")

    async def _on_group(self, call: Call, group: dict) -> None:
        call.group = group
        await call.send({"state": "joined", "group": group["name"], "kind": group["kind"], "id": group["id"]})
        await call.say(f"You are on {group['name']}. Press star to talk, pound to stop talking, zero for the list.")
        while True:
            key = await self._key(call)
            if key == "*":
                await self._start_talking(call, group)
            elif key == "#":
                await self._stop_talking(call)
            elif key == "0":
                await self._stop_talking(call)
                call.group = None
                return

    async def _start_talking(self, call: Call, group: dict) -> None:
        if self.media is None:
            await call.say("Push-to-talk is unavailable: this server has no media router.")
        elif await self.media.press(group["id"], call.logged_in_as):
            call.talking = True
            await call.send({"talker": call.username})
        else:
            await call.say(f"{self.media.talker(group['id']) or 'Someone'} is talking.")

    async def _stop_talking(self, call: Call) -> None:
        if call.talking and self.media is not None and call.group:
            call.talking = False
            await self.media.release(call.group["id"], call.logged_in_as)  # talking: logged in
            if not call.ws.closed:
                await call.send({"talker": None})

    async def _groups(self, call: Call) -> list[dict]:
        record = await self.data.store.get("users", call.logged_in_as)
        if record is None or record.deleted:
            return []
        user = record.live_value
        return [{**c, "kind": "channel"} for c in await self.data.channels_for(user)] + [
            {**v, "kind": "vtg"} for v in await self.data.vtgs_for(user)
        ]

    async def _entry(self, call: Call) -> str:
        """Digits up to the pound key."""
        digits = ""
        while (key := await self._key(call)) != "#":
            if len(digits) < MAX_DIGITS and key.isdigit():
                digits += key
        return digits

    async def _key(self, call: Call) -> str:
        try:
            return await self.clock.wait_for(call.keys.get(), KEY_TIMEOUT_S)
        except TimeoutError:
            await call.say("No key was pressed. Goodbye.")
            raise HangUp() from None

    # ---------------------------------------------------------------- dial-out
    async def call_out(self, vtg: dict, number: str) -> str:
        """Call a dial-out participant into ``vtg``; its status afterwards."""
        key = (vtg["id"], number)
        if key in self.out_calls or key in self._dialling:
            return "connected" if key in self.out_calls else "ringing"
        ring_url = self.pstn.lookup(number) if self.pstn else None
        if ring_url is None:
            log.info("dial-out to %s: no such number on the lab's telephone network", number)
            return "disconnected"
        self._dialling.add(key)  # before the first await: one call per participant
        parts = urlsplit(ring_url)
        client = ApiClient(f"{parts.scheme}://{parts.netloc}", timeout_s=DIAL_OUT_ANSWER_S)
        query = urlencode({"from": SYSTEM_NUMBER, "vtg": vtg["name"][:64]})
        try:
            ws = await client.websocket(f"{parts.path}?{query}")
        except (Unreachable, ValueError) as exc:
            log.info("dial-out to %s not answered: %s", number, exc)
            await client.close()
            return "disconnected"
        except BaseException:
            await client.close()
            raise
        finally:
            self._dialling.discard(key)
        call = self.out_calls[key] = OutCall(client, ws)
        call.task = asyncio.get_running_loop().create_task(self._hold(key, call))
        log.info("dial-out participant %s connected to VTG %s", number, vtg["name"])
        return "connected"

    async def _hold(self, key: tuple[str, str], call: OutCall) -> None:
        try:
            async for _ in call.ws:
                pass  # the participant's keys and audio are not used by the engine
        finally:
            if self.out_calls.get(key) is call:
                del self.out_calls[key]
            await call.client.close()

    def with_call_status(self, vtg: dict) -> dict:
        """The VTG with each dial-out participant's state on this server."""
        if not vtg.get("dial_out"):
            return vtg
        return {
            **vtg,
            "dial_out": [
                {**p, "status": "connected" if (vtg["id"], p["number"]) in self.out_calls else "disconnected"}
                for p in vtg["dial_out"]
            ],
        }

    async def _hang_up_out_calls(self) -> None:
        for call in list(self.out_calls.values()):
            await call.ws.close()

    # ---------------------------------------------------------------- failover
    def on_event(self, event: dict) -> None:
        """Leaving the active role (Failover Now, Go Standby) drops every call."""
        if event.get("type") == "role" and event.get("role") != Role.ACTIVE.value:
            for call in list(self.calls):
                self._spawn(call.ws.close(message=b"failover"))
            self._spawn(self._hang_up_out_calls())  # each call's end releases its floor

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for call in list(self.calls):
            await call.ws.close(message=b"server stopping")
        await self._hang_up_out_calls()


def dial_routes() -> list[web.RouteDef]:
    from ..appkeys import SERVER

    async def call(request: web.Request) -> web.StreamResponse:
        return await request.app[SERVER].dial.answer(request)

    return [web.get(CALL_PATH, call)]
