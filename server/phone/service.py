"""The IPICS phone service: what a Cisco Unified IP Phone sees under Services.

Login with a numeric user ID and PIN (the operator's Dial Login), then the user's
channels in alphabetical order followed by the VTGs in alphabetical order; Update
reloads the list (the server never pushes a new one); a channel opens the talk
screen, whose Talk softkey is push-to-talk (held: ``URLDown``; let go: ``URL``).
Thirty minutes without a key press log the phone out; one user may be logged in on
several phones.

HA (chapter, "HA Affect On Connected Devices"): a phone's request that reaches the
standby is redirected to the active, its session kept; and a server that becomes the
active pushes every logged-in phone over to itself (``CiscoIPPhoneExecute``).  A phone
neither can reach shows the failure; its user opens Services, picks the other IPICS
server and logs in again.

Phone sessions are replicated records keyed by the SHA-256 of the cookie, like the
console's.  Every answer is a phone XML object (``text/xml``), refusals and unknown
pages included: the phone shows no JSON.  Every URL in them is absolute, on the
address the phone used (``origin.py``); a push carries this server's own address.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from ..adapters.httpclient import ApiClient, Unreachable
from ..audit import AuditTrail
from ..core.roles import Role
from ..data import DataService
from ..dial_login import DIAL_ID_DIGITS, PIN_DIGITS, DialLogin, Locked, well_formed
from ..errors import ApiError
from . import objects as xml
from .objects import InputItem, SoftKey
from .origin import phone_origin

log = logging.getLogger("ipics.phone")

BASE = "/phone/ipics"
COOKIE = "IPICSPHONE"
#: chapter: "Automatic logout after 30 minutes of inactivity"
IDLE_LOGOUT_S = 30 * 60
#: a key press refreshes the session's last activity in the replicated record at most
#: this often, so a busy phone does not fill the transaction log
ACTIVITY_WRITE_EVERY_S = 60
#: the talk screen reloads itself this often to show who is talking
TALK_REFRESH_S = 2
#: a phone holding the floor that has not reloaded its talk screen for this long is gone
TALK_GONE_S = 3 * TALK_REFRESH_S
#: ... and never sooner than this many real seconds: at a small time scale three missed
#: refreshes are milliseconds, and a loaded machine's slow request is not a phone gone
TALK_GONE_FLOOR_S = 1.0
#: how long a pushed resume ticket stays valid (emulated seconds)
TICKET_TTL_S = 5 * 60
PUSH_TIMEOUT_S = 3.0
PUSHES_AT_ONCE = 20

# The lab phone announces where it takes pushes and the secret it expects with them.
# A real IPICS server reaches the phone's /CGI/Execute at its IP address with the
# credentials of the phone's Communications Manager user; on loopback each phone has
# its own port, hence these lab headers.
EXECUTE_URL_HEADER = "X-Lab-Phone-Execute-URL"
EXECUTE_AUTH_HEADER = "X-Lab-Phone-Execute-Auth"

EXIT, BACK, UPDATE, SELECT, SERVICES = (
    "SoftKey:Exit",
    "SoftKey:Back",
    "SoftKey:Update",
    "SoftKey:Select",
    "Init:Services",
)


class PhoneMedia(Protocol):
    """What the phone service and the dial engine need from the media router
    (``ipics_server.media.link.RouterLink``): the talker of a group, and push-to-talk
    on behalf of a user."""

    def talker(self, group: str) -> str | None: ...

    async def press(self, group: str, who: str) -> bool: ...

    async def release(self, group: str, who: str) -> None: ...

    async def close(self) -> None: ...


class PhoneService:
    def __init__(
        self,
        data: DataService,
        dial_login: DialLogin,
        *,
        media: PhoneMedia | None = None,
        audit: AuditTrail | None = None,
    ):
        self.data = data
        #: where a Dial Login is recorded (an exercise grades the phone user's reconnect from it)
        self.audit = audit
        self.dial_login = dial_login
        self.engine = data.engine
        self.clock = data.clock
        self.media = media
        self._pushes: set[asyncio.Task] = set()
        #: (group, user) -> when the phone holding the floor was last heard from (real monotonic s)
        self._talking: dict[tuple[str, str], float] = {}
        self._watchdog: asyncio.Task | None = None

    # ------------------------------------------------------------------- pages
    async def serve(self, request: web.Request, page: str) -> web.StreamResponse:
        """Every page but ``resume``: refused or redirected off the active, the
        phone's session looked up, and errors answered as phone objects."""
        try:
            refused = self._refuse_unless_active(request)
            if refused is not None:
                return refused
            session = await self._session(request)
            if isinstance(session, web.Response):
                return session
            view = SESSION_PAGES.get(page)
            if view is None:
                return await OPEN_PAGES[page](self, request, session)
            if session is None:
                return self._login_screen(request, "Log in first")
            return await view(self, request, session)
        except ApiError as exc:  # the database is down, DDRBLOCK...
            return _text("IPICS", exc.message, keys=(_key("Update", UPDATE, 1), _key("Exit", EXIT, 2)))

    async def entry(self, request: web.Request, session: dict | None) -> web.Response:
        if session is not None:
            return await self.menu(request, session)
        return self._login_screen(request)

    async def login(self, request: web.Request, session: dict | None) -> web.Response:
        user_id, pin = request.query.get("userid", ""), request.query.get("pin", "")
        if not well_formed(user_id, pin):
            return self._login_screen(request, f"ID 1-{DIAL_ID_DIGITS[1]} digits, PIN {PIN_DIGITS[0]}-{PIN_DIGITS[1]}")
        try:
            user = await self.dial_login.verify(user_id, pin)
        except Locked as exc:
            return self._login_screen(request, f"Too many tries: wait {exc.minutes} min")
        if user is None:
            return self._login_screen(request, "Login failed: wrong ID or PIN")
        previous = request.cookies.get(COOKIE)
        if previous and session is not None:
            # One session per phone: the user before on this phone is logged out, so a
            # push after a failover cannot bring the phone back into their session.
            await self.data.write("phone_sessions", _key_of(previous), None)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.data.write(
            "phone_sessions",
            _key_of(token),
            {"username": user["username"], "created_at": now, "last_active": now, **_execute_target(request)},
        )
        log.info("phone login: %s", user["username"])
        if self.audit is not None:
            self.audit.record(action="login", via="phone", user=user["username"], ok=True, result="logged in")
        response = await self.menu(request, {"username": user["username"], "role": user["role"]})
        _set_cookie(response, token, secure=request.secure)
        return response

    async def menu(self, request: web.Request, session: dict) -> web.Response:
        user = await self._user(session)
        channels = await self.data.channels_for(user)
        vtgs = await self.data.vtgs_for(user)
        talk = self._url(request, "/talk")
        items = [(c["name"], f"{talk}?{urlencode({'group': c['id']})}") for c in channels]
        items += [(v["name"], f"{talk}?{urlencode({'group': v['id']})}") for v in vtgs]
        prompt = "Select a channel or VTG" if items else "No channels or VTGs assigned"
        if len(items) > xml.MENU_ITEMS_MAX:
            prompt = f"First {xml.MENU_ITEMS_MAX} of {len(items)}"
        body = xml.menu(
            "IPICS",
            prompt,
            items,
            (
                _key("Select", SELECT, 1),
                _key("Update", UPDATE, 2),
                _key("Logout", self._url(request, "/logout"), 3),
                _key("Exit", EXIT, 4),
            ),
        )
        return _xml(body)

    async def talk(self, request: web.Request, session: dict) -> web.Response:
        group_id = request.query.get("group", "")
        group = await self._group(session, group_id)
        if group is None:
            return _text(
                "IPICS",
                "This channel or VTG is not assigned to you (any more): press Update on the list",
                keys=(_key("Back", BACK, 1), _key("Exit", EXIT, 2)),
            )
        me = session["username"]
        status = ""
        let_go = False
        if self.media is None:
            status = "Push-to-talk is unavailable: this server has no media router."
        else:
            ptt = request.query.get("ptt")
            if (group_id, me) in self._talking:
                self._talking[(group_id, me)] = time.monotonic()  # the phone is still there
            if ptt == "down":
                granted = await self.media.press(group_id, me)
                status = (
                    "You are talking." if granted else f"{self.media.talker(group_id) or 'Someone'} holds the floor."
                )
                if granted:
                    self._hold(group_id, me)
            elif ptt == "up":
                await self._let_go(group_id, me)
                let_go = True
        talker = self.media.talker(group_id) if self.media else None
        if let_go and talker == me:
            # The server's listener learns of the release from the router a moment after
            # this answer; the floor was this user's, and it has just been let go.
            talker = None
        if not status:
            status = (
                "You are talking." if talker == me else f"Talking: {talker}" if talker else "Idle. Hold Talk to speak."
            )
        here = f"{self._url(request, '/talk')}?{urlencode({'group': group_id})}"
        body = xml.text(
            group["name"],
            group["kind"],
            status,
            (
                _key("Talk", here + "&ptt=up", 1, url_down=here + "&ptt=down"),
                _key("Update", UPDATE, 2),
                _key("Back", BACK, 3),
                _key("Exit", EXIT, 4),
            ),
        )
        response = _xml(body)
        # The automatic reload is marked so it does not count as a key press.
        response.headers["Refresh"] = f"{TALK_REFRESH_S}; url={here}&auto=1"
        response.headers["Expires"] = "-1"
        return response

    async def logout(self, request: web.Request, session: dict) -> web.Response:
        token = request.cookies.get(COOKIE, "")
        await self.data.write("phone_sessions", _key_of(token), None)
        response = self._login_screen(request, "Logged out")
        response.del_cookie(COOKIE, path=BASE)
        return response

    async def resume(self, request: web.Request) -> web.Response:
        """Where the standby's redirect (``session``) and the new active's push
        (``ticket``, one-time) bring a phone: its session, a cookie for this host."""
        refused = self._refuse_unless_active(request)
        if refused is not None:
            return refused
        nxt = request.query.get("next", "")
        if not nxt.startswith(BASE + "/") or "//" in nxt:
            nxt = BASE + "/menu"  # never a redirect to somewhere else
        try:
            resumed = await self._resume_token(request.query)
        except ApiError as exc:
            return _text("IPICS", exc.message, keys=(_key("Update", UPDATE, 1), _key("Exit", EXIT, 2)))
        if resumed is None:
            return self._login_screen(request, "Session ended: log in again")
        token, username, pushed = resumed
        if self.audit is not None and pushed:
            # The new active brought the phone over with no user action (its Web access
            # on): a phone user's exercise, which wants the Services menu, says so.
            self.audit.record(
                action="reconnect", via="phone", user=username, ok=True, result="brought over by the new active's push"
            )
        response = web.HTTPFound(phone_origin(request, self.engine.address) + nxt)
        _set_cookie(response, token, secure=request.secure)
        raise response

    # ---------------------------------------------------------------- sessions
    async def _session(self, request: web.Request) -> dict | web.Response | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        record = await self.data.store.get("phone_sessions", _key_of(token))
        if record is None or record.deleted:
            return None
        session = record.live_value
        now = self.clock.now()
        if now - session["last_active"] > IDLE_LOGOUT_S:
            await self.data.write("phone_sessions", record.key, None)
            response = self._login_screen(request, "Logged out: 30 minutes idle")
            response.del_cookie(COOKIE, path=BASE)
            return response
        if request.query.get("auto") != "1":
            updates = {}
            if now - session["last_active"] >= ACTIVITY_WRITE_EVERY_S:
                updates["last_active"] = now
            target = _execute_target(request)
            if target and any(session.get(k) != v for k, v in target.items()):
                updates.update(target)
            if updates:
                session = {**session, **updates}
                await self.data.write("phone_sessions", record.key, session)
        return session

    async def _resume_token(self, query) -> tuple[str, str, bool] | None:
        """The phone's session token, its user, and whether a push's ticket brought it
        (else the standby's redirect); None: the session ended."""
        if "session" in query:
            token = query["session"]
            record = await self.data.store.get("phone_sessions", _key_of(token))
            if record is None or record.deleted:
                return None
            if self.clock.now() - record.live_value["last_active"] > IDLE_LOGOUT_S:
                return None
            return token, record.live_value["username"], False
        ticket = query.get("ticket", "")
        for record in await self.data.store.table("phone_sessions"):
            s = record.value
            if s and s.get("ticket_hash") and secrets.compare_digest(s["ticket_hash"], _key_of(ticket)):
                if self.clock.now() > s.get("ticket_expires", 0):
                    return None
                # The ticket is spent: the phone gets a new cookie, the old one ends.
                token = secrets.token_urlsafe(32)
                fresh = {k: v for k, v in s.items() if k not in ("ticket_hash", "ticket_expires")}
                await self.data.write("phone_sessions", record.key, None)
                await self.data.write("phone_sessions", _key_of(token), fresh)
                return token, fresh["username"], True
        return None

    async def _user(self, session: dict) -> dict:
        record = await self.data.store.get("users", session["username"])
        if record is None or record.deleted:
            raise ApiError(404, "not_found", "your user no longer exists")
        return record.live_value

    async def _group(self, session: dict, group_id: str) -> dict | None:
        user = await self._user(session)
        for c in await self.data.channels_for(user):
            if c["id"] == group_id:
                return {**c, "kind": "Channel"}
        for v in await self.data.vtgs_for(user):
            if v["id"] == group_id:
                return {**v, "kind": "VTG"}
        return None

    # --------------------------------------------------------------------- HA
    def _refuse_unless_active(self, request: web.Request) -> web.Response | None:
        if not self.data.services.running("tomcat"):
            return _text(
                "IPICS",
                "The IPICS service is not running on this server. Open Services and choose the other IPICS server.",
                keys=(_key("Services", SERVICES, 1), _key("Exit", EXIT, 2)),
            )
        if self.engine.accepts_writes:
            return None
        active = self.engine.active_address()
        if active:
            # The standby redirects the phone to the active, keeping its session.
            token = request.cookies.get(COOKIE)
            if token and request.path != BASE + "/resume":
                target = f"{active}{BASE}/resume?{urlencode({'session': token, 'next': request.path_qs})}"
            else:
                target = f"{active}{request.path_qs}"
            raise web.HTTPFound(target)
        what = (
            "is becoming the active server: try again shortly"
            if self.engine.role == Role.TRANSITIONING
            else "is not the active server and cannot reach it"
        )
        return _text(
            "IPICS",
            f"This IPICS server {what}. Open Services and choose the other IPICS server.",
            keys=(_key("Services", SERVICES, 1), _key("Update", UPDATE, 2), _key("Exit", EXIT, 3)),
        )

    def on_event(self, event: dict) -> None:
        """The server became the active one: push every logged-in phone over.  It
        stopped being it (Failover Now, Go Standby): its phones stop talking."""
        if event.get("type") != "role":
            return
        if event.get("role") == Role.ACTIVE.value:
            self._spawn(self.push_to_phones())
        else:
            for group, who in list(self._talking):
                self._spawn(self._let_go(group, who))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pushes.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._pushes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("phone service task failed", exc_info=task.exception())

    # ------------------------------------------------------------ push-to-talk
    def _hold(self, group: str, who: str) -> None:
        """A phone holds the floor until its release, or until it stops asking for its
        talk screen (the phone died, or its release got lost): the floor is never
        held for a phone that is gone."""
        self._talking[(group, who)] = time.monotonic()
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch_talking())

    async def _let_go(self, group: str, who: str) -> None:
        self._talking.pop((group, who), None)
        if self.media is not None:
            await self.media.release(group, who)

    async def _watch_talking(self) -> None:
        while self._talking:
            await self.clock.sleep(TALK_REFRESH_S)
            gone_after = max(self.clock.real_seconds(TALK_GONE_S), TALK_GONE_FLOOR_S)
            for (group, who), seen in list(self._talking.items()):
                if time.monotonic() - seen > gone_after:
                    log.info("the phone of %s stopped asking for its talk screen: floor released", who)
                    await self._let_go(group, who)

    async def push_to_phones(self) -> int:
        """Push each phone with a session and a push address to this server; the count
        of phones that took it."""
        now = self.clock.now()
        latest: dict = {}  # one push per phone (its address): its most recent session
        for r in await self.data.store.table("phone_sessions"):
            if not r.value:
                continue
            if now - r.value["last_active"] > IDLE_LOGOUT_S:
                await self.data.write("phone_sessions", r.key, None)  # swept: logged out long ago
            elif r.value.get("execute_url"):
                kept = latest.get(r.value["execute_url"])
                if kept is None or kept.value["last_active"] <= r.value["last_active"]:
                    latest[r.value["execute_url"]] = r
        sessions = list(latest.values())
        if not sessions:
            return 0
        limit = asyncio.Semaphore(PUSHES_AT_ONCE)

        async def push(r) -> bool:
            async with limit:
                return await self._push(r.key, r.value)

        results = await asyncio.gather(*(push(r) for r in sessions), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("a push to an IP phone failed", exc_info=result)
        taken = sum(1 for result in results if result is True)
        log.warning("pushed %d of %d logged-in IP phones to this server", taken, len(sessions))
        return taken

    async def _push(self, key: str, session: dict) -> bool:
        if self.clock.now() - session["last_active"] > IDLE_LOGOUT_S:
            return False
        ticket = secrets.token_urlsafe(24)
        try:
            await self.data.write(
                "phone_sessions",
                key,
                {**session, "ticket_hash": _key_of(ticket), "ticket_expires": self.clock.now() + TICKET_TTL_S},
            )
        except ApiError:
            return False
        url = f"{self.engine.address}{BASE}/resume?{urlencode({'ticket': ticket, 'next': BASE + '/menu'})}"
        parts = urlsplit(session["execute_url"])
        auth = base64.b64encode(f"push:{session['execute_auth']}".encode()).decode()
        async with ApiClient(f"{parts.scheme}://{parts.netloc}", timeout_s=PUSH_TIMEOUT_S) as phone:
            try:
                reply = await phone.post(
                    parts.path, data={"XML": xml.execute(url)}, headers={"Authorization": f"Basic {auth}"}
                )
            except Unreachable as exc:
                log.info("IP phone of %s not reachable for the push: %s", session["username"], exc)
                return False
        if not reply.ok:
            log.info("IP phone of %s refused the push: HTTP %s", session["username"], reply.status)
        return reply.ok

    async def close(self) -> None:
        if self._watchdog is not None:
            self._pushes.add(self._watchdog)
        for task in list(self._pushes):
            task.cancel()
        await asyncio.gather(*self._pushes, return_exceptions=True)
        if self.media:
            await self.media.close()

    # ------------------------------------------------------------------ screens
    def _url(self, request: web.Request, page: str) -> str:
        """The absolute URL of ``page`` of this service, as the phone reached it."""
        return f"{phone_origin(request, self.engine.address)}{BASE}{page}"

    def _login_screen(self, request: web.Request, message: str = "") -> web.Response:
        """The login input; ``message`` is its Prompt, which a phone shows in 32
        characters: every message here fits (a test checks)."""
        # No SoftKeyItems: the phone shows its own Submit and Cancel keys for an input.
        prompt = message or "Enter your user ID and PIN"
        return _xml(
            xml.input_screen(
                "IPICS Login",
                prompt,
                self._url(request, "/login"),
                [InputItem("User ID", "userid", "N"), InputItem("PIN", "pin", "NP")],
            )
        )


# ------------------------------------------------------------------------ routes
#: page -> (view, needs a logged-in phone)
#: the pages a phone may open without logging in, by path
OPEN_PAGES: dict[str, Callable[[PhoneService, web.Request, dict | None], Awaitable[web.Response]]] = {
    "": PhoneService.entry,
    "/login": PhoneService.login,
}
#: the pages that need the phone's session
SESSION_PAGES: dict[str, Callable[[PhoneService, web.Request, dict], Awaitable[web.Response]]] = {
    "/menu": PhoneService.menu,
    "/talk": PhoneService.talk,
    "/logout": PhoneService.logout,
}


def phone_routes() -> list[web.RouteDef]:
    """The service's URLs; each finds the server's ``PhoneService`` on the app."""
    from ..appkeys import SERVER

    def page(name: str):
        async def handler(request: web.Request) -> web.StreamResponse:
            return await request.app[SERVER].phone.serve(request, name)

        handler.__name__ = f"phone{name.replace('/', '_') or '_entry'}"
        return handler

    async def resume(request: web.Request) -> web.StreamResponse:
        return await request.app[SERVER].phone.resume(request)

    return [web.get(BASE + name, page(name)) for name in [*OPEN_PAGES, *SESSION_PAGES]] + [
        web.get(BASE + "/resume", resume)
    ]


#: what a refusal under /phone/ says, by HTTP status
_REFUSALS = {
    404: "There is no such page on this IPICS server. Open Services and choose IPICS again.",
    405: "This page cannot be opened that way: a phone opens pages with GET.",
}


@web.middleware
async def phone_errors(request: web.Request, handler):
    """Under ``/phone/`` every refusal is a phone object, an unknown page included: a
    phone shows XML or text, never the API's JSON.  Inside the API's error middleware,
    so it sees the refusal first."""
    if not (request.path == "/phone" or request.path.startswith("/phone/")):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # the redirects to the active, and to the menu after a resume
        response = _text(
            "IPICS",
            _REFUSALS.get(exc.status, exc.reason),
            keys=(_key("Back", BACK, 1), _key("Exit", EXIT, 2)),
            status=exc.status,
        )
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ApiError as exc:
        return _text("IPICS", exc.message, keys=(_key("Update", UPDATE, 1), _key("Exit", EXIT, 2)), status=exc.status)
    except ConnectionResetError:
        raise  # the phone went away: nobody to answer
    except Exception:
        log.exception("phone service error in %s %s", request.method, request.path)
        return _text(
            "IPICS",
            "The IPICS service had an error. Try again, or open Services and choose the other IPICS server.",
            keys=(_key("Update", UPDATE, 1), _key("Exit", EXIT, 2)),
            status=500,
        )


# ------------------------------------------------------------------------ helpers
def _key(name: str, url: str, position: int, *, url_down: str | None = None) -> SoftKey:
    return SoftKey(name, url, position, url_down)


def _xml(body: str, *, status: int = 200) -> web.Response:
    # no-store: a page is one phone's, and its URLs carry the address that phone used
    return web.Response(
        text=body, status=status, content_type=xml.CONTENT_TYPE, charset="utf-8", headers={"Cache-Control": "no-store"}
    )


def _text(title: str, body: str, *, keys: tuple[SoftKey, ...], status: int = 200) -> web.Response:
    return _xml(xml.text(title, "", body, keys), status=status)


def _key_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _set_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    # Secure over HTTPS (off loopback): the phone never sends it back in the clear.
    response.set_cookie(COOKIE, token, path=BASE, httponly=True, samesite="Strict", secure=secure)


def _execute_target(request: web.Request) -> dict:
    """The lab phone's push address and secret, if it sent well-formed ones.  Only the
    phone's own address: a client cannot make the server post somewhere else."""
    url = request.headers.get(EXECUTE_URL_HEADER, "")
    auth = request.headers.get(EXECUTE_AUTH_HEADER, "")
    parts = urlsplit(url)
    if (
        parts.scheme != "http"
        or parts.hostname != request.remote
        or parts.path != "/CGI/Execute"
        or parts.query
        or not 16 <= len(auth) <= 128
        or not auth.isascii()
        or not auth.isprintable()
    ):
        return {}
    return {"execute_url": url, "execute_auth": auth}
