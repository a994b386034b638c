"""The IPICS data a client sees: users, sessions, channels, VTGs, incidents, files.

Every write goes through ``write``: refused unless this server is the active one,
committed, appended to the transaction log when HA is configured, and pushed to
WebSocket subscribers.  Sessions are replicated records (token stored as its SHA-256),
so a console's token stays valid on the new active after a failover.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from typing import Any

from .adapters.files import FileStore
from .adapters.store import NameTaken, Store
from .clock import Clock
from .core.access import UserRole, may_grant, sees_channel, sees_every, sees_incident, sees_vtg
from .core.records import Record
from .core.roles import HAState, Role
from .core.throttle import LOGIN, LoginThrottle
from .core.txlog import LogState
from .errors import ApiError, conflict, forbidden, not_found
from .events import EventBus
from .passwords import hash_password_async, verify_password_async
from .pushes import ALTERS

# Tables whose changes are published to the events sockets (never users or sessions).
PUSHED_TABLES = frozenset(ALTERS)
SESSION_TTL_S = 12 * 3600
#: the accounts every server creates at its first start (the Linux administrator and the
#: database owner of the chapter's procedures)
BUILTIN_ACCOUNTS = ("ipicsadmin", "informix")
MAX_DIAL_OUT = 50


class DataService:
    def __init__(
        self, *, store: Store, files: FileStore, clock: Clock, events: EventBus, engine, services, designation
    ):
        self.store = store
        self.files = files
        self.clock = clock
        self.events = events
        self.engine = engine
        self.services = services
        self._designation = designation
        # A dummy hash so a login for an unknown user costs as much as a wrong password.
        self._dummy_hash: str | None = None
        # In memory, per server: a failover starts the new active with a clean slate.
        self.login_throttle = LoginThrottle()

    # ----------------------------------------------------------------------- writes
    async def write(
        self,
        table: str,
        key: str,
        value: dict[str, Any] | None,
        *,
        unique_name: str | None = None,
        create_only: bool = False,
    ) -> Record:
        self.engine.refuse_unless_active()
        if not self.services.running("database"):
            raise ApiError(503, "database_down", "the database service is not running on this server")
        d = self._designation()
        try:
            record = await self.store.upsert(
                table,
                key,
                value,
                updated_at=self.clock.now(),
                origin=d.value if d else "standalone",
                log=self.engine.ha == HAState.CONFIGURED and self.engine.role == Role.ACTIVE,
                unique_name=unique_name,
                create_only=create_only,
            )
        except NameTaken as exc:
            raise conflict(f"{table[:-1]} {exc} already exists") from None
        self.engine.on_local_write()
        if table in PUSHED_TABLES:
            # Only what changed and whether it is gone, never the content: each events
            # socket pushes its own user's view of it (``pushes.py``), what he could read
            # through the API; the media link revokes talk groups on deletions.
            self.events.publish({"type": "record", "table": table, "key": key, "deleted": value is None})
        return record

    async def write_local_bootstrap(self, table: str, key: str, value: dict[str, Any] | None) -> None:
        """A local write whatever the role, never logged: the built-in users at first
        start, an administrator's session on a secondary outside a configured pair, a
        logout where no write is taken."""
        d = self._designation()
        await self.store.upsert(
            table, key, value, updated_at=self.clock.now(), origin=d.value if d else "standalone", log=False
        )

    # ------------------------------------------------------------------------ users
    async def ensure_builtin_users(self, password: str) -> None:
        """``ipicsadmin`` (system administrator, Linux administrator of the shell) and
        ``informix`` (the database owner); in the lab both share the admin password."""
        for name in BUILTIN_ACCOUNTS:
            if await self.store.get("users", name) is None:
                await self.write_local_bootstrap(
                    "users",
                    name,
                    {
                        "username": name,
                        "role": UserRole.SYSTEM_ADMINISTRATOR.value,
                        "password_hash": await hash_password_async(password),
                        "full_name": name,
                    },
                )

    async def create_user(self, username: str, password: str, role: UserRole, full_name: str = "", *, by: dict) -> dict:
        """``by``: the user creating it, who may give only the roles he may grant."""
        if not may_grant(by, role.value):
            raise forbidden(f"a {by['role']} may not create a {role.value}: only a system administrator may")
        existing = await self.find_user(username)
        if existing is not None and existing.key == username:
            raise conflict(f"user {username} already exists")
        if existing is not None:
            raise conflict(
                f"user {existing.key} already exists: user names are not case-sensitive, "
                f"so {username} would be the same user"
            )
        value = {
            "username": username,
            "role": role.value,
            "full_name": full_name or username,
            "password_hash": await hash_password_async(password),
        }
        # unique_name: two creates of "Dan" and "dan" at once cannot both pass.
        await self.write("users", username, value, unique_name=username.casefold(), create_only=True)
        return public_user(value)

    async def find_user(self, username: str) -> Record | None:
        """The live user of this name, whatever its case: user names are not
        case-sensitive (passwords are), so "DAN" finds the user created as "dan"."""
        record = await self.store.get("users", username)
        if record is not None and not record.deleted:
            return record
        wanted = username.casefold()
        return next((r for r in await self.store.table("users") if r.key.casefold() == wanted), None)

    async def users(self) -> list[dict]:
        return [public_user(r.live_value) for r in await self.store.table("users")]

    async def verify_password(self, username: str, password: str) -> dict | None:
        """The user (under its stored name) if the password is right, else None."""
        record = await self.find_user(username)
        if record is None:
            await verify_password_async(password, await self.dummy_hash())
            return None
        if await verify_password_async(password, record.live_value["password_hash"]):
            return record.live_value
        return None

    async def check_password(self, username: str, password: str, client: str, way: str = LOGIN) -> dict | None:
        """``verify_password`` behind the login throttle, for every way in that takes a
        password (``way``: logins, the partner's trust calls, the shell; each throttled
        on its own, ``core.throttle``): the user, or None; ``ApiError`` 429 while this
        client is locked out for this user name this way."""
        throttle = self.login_throttle
        left = throttle.check(client, username, way)
        if left is not None:
            # Refused without checking the password: a lockout must not be a way to guess.
            retry_after_s = max(1, math.ceil(left))
            raise ApiError(
                429,
                "too_many_attempts",
                f"too many failed logins for {username} from this address: try again in {retry_after_s} s",
                retry_after_s=retry_after_s,
                headers={"Retry-After": str(retry_after_s)},
            )
        # Counted as failed before the password check (a right one clears it), so
        # attempts sent all at once are counted too, not only those in turn.
        throttle.failed(client, username, way)
        user = await self.verify_password(username, password)
        if user is not None:
            throttle.succeeded(client, username, way)
        return user

    async def dummy_hash(self) -> str:
        """A hash to verify against when the user is unknown, so that costs as much."""
        if self._dummy_hash is None:
            self._dummy_hash = await hash_password_async(secrets.token_hex(8))
        return self._dummy_hash

    async def set_dial_login(self, username: str, dial_id: str, pin: str) -> dict:
        """The operator's Dial Login: a numeric user ID (unique) and PIN for the IP
        phone service and the dial engine; the PIN is kept only as a hash."""
        record = await self._require("users", username, "user")
        for r in await self.store.table("users"):
            if r.value and r.key != username and r.value.get("dial_id") == dial_id:
                raise conflict(f"user ID {dial_id} is already the dial login of another user")
        value = {**record.live_value, "dial_id": dial_id, "pin_hash": await hash_password_async(pin)}
        await self.write("users", username, value)
        return public_user(value)

    # --------------------------------------------------------------------- sessions
    async def login(self, username: str, password: str, client: str = "") -> tuple[str, dict]:
        """``client``: the caller's address; with the user name it keys the login throttle."""
        # A secondary not yet in a configured pair has no active to send anyone to; its
        # system administrator may still reach its Administration Console (NTP, licenses).
        admin_console_only = self.engine.role == Role.STANDBY and self.engine.ha != HAState.CONFIGURED
        if not admin_console_only:
            self.refuse_login_unless_active()
        user = await self.check_password(username, password, client)
        if user is None:
            raise ApiError(401, "unauthorized", "wrong user name or password")
        if admin_console_only and user["role"] != UserRole.SYSTEM_ADMINISTRATOR.value:
            self.refuse_login_unless_active()
        token = secrets.token_urlsafe(32)
        session = {"username": user["username"], "role": user["role"], "created_at": self.clock.now()}
        if admin_console_only or (
            self.engine.txlog_state == LogState.DDRBLOCK and user["role"] == UserRole.SYSTEM_ADMINISTRATOR.value
        ):
            # DDRBLOCK blocks every update, but an administrator must still get in to
            # clear it (unconfigure HA): this session stays on this server only.
            await self.write_local_bootstrap("sessions", _token_key(token), session)
        else:
            await self.write("sessions", _token_key(token), session)
        return token, public_user(user)

    def refuse_login_unless_active(self) -> None:
        engine = self.engine
        if engine.accepts_writes:
            return
        if engine.role == Role.STANDALONE:
            raise ApiError(
                409,
                "not_licensed",
                "this server has only the High Availability license and cannot serve users on its own",
                role=engine.role.value,
                active=None,
            )
        engine.refuse_unless_active()

    async def session(self, token: str) -> dict | None:
        record = await self.store.get("sessions", _token_key(token))
        if record is None or record.deleted:
            return None
        if self.clock.now() - record.live_value["created_at"] > SESSION_TTL_S:
            return None
        return record.live_value

    async def logout(self, token: str) -> None:
        """On the active the logout replicates; on a server taking no writes now (the
        Administration Console during a reconfiguration, say) it still ends here."""
        try:
            await self.write("sessions", _token_key(token), None)
        except ApiError:
            await self.write_local_bootstrap("sessions", _token_key(token), None)

    async def logout_all(self, admins_only: bool) -> None:
        """Drop sessions locally (Configure logs administrators out; Go Standby logs all out)."""
        # On a configured active the logout replicates (Configure's, which the standby
        # must see too); on a server going standby (Go Standby) it stays local.
        logged = self.engine.ha == HAState.CONFIGURED and self.engine.role == Role.ACTIVE
        for r in await self.store.table("sessions"):
            if not admins_only or r.live_value.get("role") == UserRole.SYSTEM_ADMINISTRATOR.value:
                await self.store.upsert(
                    "sessions", r.key, None, updated_at=self.clock.now(), origin=r.origin, log=logged
                )
        if logged:
            self.engine.on_local_write()
        self.events.publish({"type": "logout", "admins_only": admins_only})

    # --------------------------------------------------------------------- channels
    async def create_channel(self, name: str, description: str = "") -> dict:
        key = uuid.uuid4().hex
        value = {"id": key, "name": name, "description": description}
        await self.write("channels", key, value, unique_name=name.casefold())
        return public_record(value)

    async def channels_for(self, user: dict) -> list[dict]:
        """The channels ``user`` may see (``core/access.py``), by name."""
        assigned = (
            set()
            if sees_every(user, "channels")
            else {
                r.live_value["channel_id"]
                for r in await self.store.table("assignments")
                if r.live_value["username"] == user["username"]
            }
        )
        channels = [
            public_record(r.live_value)
            for r in await self.store.table("channels")
            if sees_channel(user, r.key, assigned)
        ]
        return sorted(channels, key=lambda c: c["name"].casefold())

    async def delete_channel(self, channel_id: str) -> None:
        await self._require("channels", channel_id, "channel")
        await self.write("channels", channel_id, None)

    async def assign_channel(self, channel_id: str, username: str) -> dict:
        await self._require("channels", channel_id, "channel")
        await self._require("users", username, "user")
        value = {"channel_id": channel_id, "username": username}
        await self.write("assignments", _record_key("assignments", value), value)
        return value

    async def unassign_channel(self, channel_id: str, username: str) -> None:
        key = _record_key("assignments", {"channel_id": channel_id, "username": username})
        await self._require("assignments", key, "assignment")
        await self.write("assignments", key, None)

    async def assignments_for(self, user: dict) -> list[dict]:
        """Who has which channel: for those who give channels to users."""
        if not sees_every(user, "assignments"):
            return []
        return [r.live_value for r in await self.store.table("assignments")]

    # --------------------------------------------------------------------- listings
    async def listing(self, user: dict, name: str) -> dict[str, dict]:
        """One of the listings of the GET views (channels, assignments, vtgs, incidents)
        as ``user`` reads it, by record key: what his events socket compares."""
        read = {
            "channels": self.channels_for,
            "assignments": self.assignments_for,
            "vtgs": self.vtgs_for,
            "incidents": self.incidents_for,
        }[name]
        return {_record_key(name, value): value for value in await read(user)}

    # ------------------------------------------------------------------------- VTGs
    async def create_vtg(self, name: str, channel_ids: list[str], members: list[str]) -> dict:
        for cid in channel_ids:
            await self._require("channels", cid, "channel")
        await self._require_users(members)
        key = uuid.uuid4().hex
        value = {"id": key, "name": name, "channels": channel_ids, "members": members}
        await self.write("vtgs", key, value)
        return value

    async def vtgs_for(self, user: dict) -> list[dict]:
        """The VTGs ``user`` may see (``core/access.py``), by name."""
        vtgs = [r.live_value for r in await self.store.table("vtgs") if sees_vtg(user, r.live_value)]
        return sorted(vtgs, key=lambda v: v["name"].casefold())

    async def add_dial_out(self, vtg_id: str, number: str) -> dict:
        """A dial-out participant of a VTG: a telephone number the dial engine calls."""
        record = await self._require("vtgs", vtg_id, "VTG")
        dial_out = list(record.live_value.get("dial_out", []))
        if number not in [p["number"] for p in dial_out]:
            if len(dial_out) >= MAX_DIAL_OUT:
                raise ApiError(409, "conflict", f"a VTG has at most {MAX_DIAL_OUT} dial-out participants")
            dial_out.append({"number": number})
        value = {**record.live_value, "dial_out": dial_out}
        await self.write("vtgs", vtg_id, value)
        return value

    # -------------------------------------------------------------------- incidents
    async def create_incident(self, name: str, description: str, participants: list[str]) -> dict:
        await self._require_users(participants)
        key = uuid.uuid4().hex
        value = {
            "id": key,
            "name": name,
            "description": description,
            "participants": participants,
            "created_at": self.clock.now(),
        }
        await self.write("incidents", key, value)
        return value

    async def set_participants(self, incident_id: str, participants: list[str], user: dict) -> dict:
        """A dispatcher adds people to an incident or takes them off it: those taken off
        no longer see it or its files (their events sockets are told it is gone)."""
        record = await self._require("incidents", incident_id, "incident")
        await self._require_users(participants)
        await self.write("incidents", incident_id, {**record.live_value, "participants": participants})
        return await self.incident(incident_id, user)

    async def incidents_for(self, user: dict) -> list[dict]:
        """The incidents ``user`` may see (``core/access.py``), each with its files."""
        incidents = [r.live_value for r in await self.store.table("incidents") if sees_incident(user, r.live_value)]
        files = await self.store.table("files")
        for incident in incidents:
            incident["files"] = [
                self._file_view(f.live_value) for f in files if f.live_value["incident_id"] == incident["id"]
            ]
        return sorted(incidents, key=lambda i: i["created_at"])

    async def incident(self, incident_id: str, user: dict) -> dict:
        for incident in await self.incidents_for(user):
            if incident["id"] == incident_id:
                return incident
        raise not_found("no such incident")

    async def add_file(self, incident_id: str, user: dict, name: str, content_type: str, content: bytes) -> dict:
        await self.incident(incident_id, user)
        self.engine.refuse_unless_active()
        key = uuid.uuid4().hex
        now = self.clock.now()
        await self.files.write(key, content, mtime=now)
        value = {
            "id": key,
            "incident_id": incident_id,
            "name": name,
            "content_type": content_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "uploaded_by": user["username"],
            "uploaded_at": now,
        }
        try:
            await self.write("files", key, value)
        except BaseException:
            await self.files.delete(key)
            raise
        return self._file_view(value)

    async def restore_file(self, incident_id: str, file_id: str, user: dict, content: bytes) -> dict:
        """Upload again the content of a file that did not reach this server before a
        failover: the same file record, available again to everyone (its checksum
        proves it is the same file)."""
        await self.incident(incident_id, user)
        self.engine.refuse_unless_active()
        record = await self.store.get("files", file_id)
        if record is None or record.deleted or record.live_value["incident_id"] != incident_id:
            raise not_found("no such file")
        if hashlib.sha256(content).hexdigest() != record.live_value["sha256"]:
            raise conflict(f"this is not the file {record.live_value['name']} that was uploaded (its checksum differs)")
        if not self.files.exists(file_id):
            await self.files.write(file_id, content, mtime=record.live_value["uploaded_at"])
            # The record changes too, so the restored content replicates to the standby.
            await self.write(
                "files",
                file_id,
                {**record.live_value, "restored_by": user["username"], "restored_at": self.clock.now()},
            )
        return self._file_view(record.live_value)

    async def file_content(self, incident_id: str, file_id: str, user: dict) -> tuple[dict, bytes]:
        await self.incident(incident_id, user)
        record = await self.store.get("files", file_id)
        if record is None or record.deleted or record.live_value["incident_id"] != incident_id:
            raise not_found("no such file")
        if not self.files.exists(file_id):
            raise ApiError(
                404,
                "file_missing",
                "this file did not reach this server before the failover: upload it again",
                file=self._file_view(record.live_value),
            )
        return record.live_value, await self.files.read(file_id)

    def _file_view(self, value: dict) -> dict:
        return {**value, "available": self.files.exists(value["id"])}

    async def _require_users(self, usernames: list[str]) -> None:
        for username in usernames:
            await self._require("users", username, "user")

    async def _require(self, table: str, key: str, what: str) -> Record:
        record = await self.store.get(table, key)
        if record is None or record.deleted:
            raise not_found(f"no such {what}: {key}")
        return record


def public_user(value: dict) -> dict:
    return {k: v for k, v in public_record(value).items() if k not in ("password_hash", "pin_hash")}


def public_record(value: dict) -> dict:
    """A record's value without what the store adds for its own checks (``name_key``,
    ``Store.upsert``): not the API's business."""
    return {k: v for k, v in value.items() if k != "name_key"}


def _record_key(table: str, value: dict) -> str:
    """The key a listed record is stored under: an assignment is one user's channel."""
    return f"{value['channel_id']}:{value['username']}" if table == "assignments" else value["id"]


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
