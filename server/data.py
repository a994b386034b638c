"""The IPICS data a client sees: users, sessions, channels, VTGs, incidents, files.

Every write goes through ``write``: refused unless this server is the active one,
committed, appended to the transaction log when HA is configured, and pushed to
WebSocket subscribers.  Sessions are replicated records (token stored as its SHA-256),
so a console's token stays valid on the new active after a failover.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from .accounts import BUILTIN_ACCOUNTS as BUILTIN_ACCOUNTS  # named here for app.py
from .accounts import Accounts
from .adapters.files import FileStore
from .adapters.store import NameTaken, Store
from .clock import Clock
from .core.access import UserRole, sees_channel, sees_every, sees_vtg
from .core.records import Record
from .core.roles import HAState, Role
from .core.throttle import LOGIN
from .core.txlog import LogState
from .data_records import public_record, public_user, record_key, require, token_key
from .errors import ApiError, conflict
from .events import EventBus
from .incidents import Incidents
from .pushes import ALTERS

# Tables whose changes are published to the events sockets (never users or sessions).
PUSHED_TABLES = frozenset(ALTERS)
SESSION_TTL_S = 12 * 3600
MAX_DIAL_OUT = 50


class DataService:
    """The data behind the client API: every write (``write``), sessions, channels and
    their assignments, VTGs; users and passwords in ``accounts``, incidents and their
    files in ``incidents`` (the methods of both are here too, for the views)."""

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
        #: users and passwords, the Dial Login
        self.accounts = Accounts(store, write=self.write, write_local=self.write_local_bootstrap)
        #: incidents and their files
        self.incidents = Incidents(
            store=store,
            files=files,
            clock=clock,
            engine=engine,
            write=self.write,
            require_users=self.accounts.require_users,
        )

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
        synchronous = self.engine.synchronous
        synchronous.before_write(table)  # strict and no standby Ready: refused, nothing written
        d = self._designation()
        try:
            record, seq = await self.store.upsert_logged(
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
        self.engine.on_local_write(seq)
        if table in PUSHED_TABLES:
            # Only what changed and whether it is gone, never the content: each events
            # socket pushes its own user's view of it (``pushes.py``), what he could read
            # through the API; the media link revokes talk groups on deletions.
            self.events.publish({"type": "record", "table": table, "key": key, "deleted": value is None})
        # Synchronous replication: acknowledged only once the standby has it (or as the
        # policy says without it); IPICS's asynchronous mode returns at once.
        await synchronous.after_write(table, seq)
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
        await self.accounts.ensure_builtin_users(password)

    async def create_user(self, username: str, password: str, role: UserRole, full_name: str = "", *, by: dict) -> dict:
        return await self.accounts.create_user(username, password, role, full_name, by=by)

    async def users(self) -> list[dict]:
        return await self.accounts.users()

    async def check_password(self, username: str, password: str, client: str, way: str = LOGIN) -> dict | None:
        return await self.accounts.check_password(username, password, client, way)

    async def dummy_hash(self) -> str:
        return await self.accounts.dummy_hash()

    async def set_dial_login(self, username: str, dial_id: str, pin: str) -> dict:
        return await self.accounts.set_dial_login(username, dial_id, pin)

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
            await self.write_local_bootstrap("sessions", token_key(token), session)
        else:
            await self.write("sessions", token_key(token), session)
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
        record = await self.store.get("sessions", token_key(token))
        if record is None or record.deleted:
            return None
        if self.clock.now() - record.live_value["created_at"] > SESSION_TTL_S:
            return None
        return record.live_value

    async def logout(self, token: str) -> None:
        """On the active the logout replicates; on a server taking no writes now (the
        Administration Console during a reconfiguration, say) it still ends here."""
        try:
            await self.write("sessions", token_key(token), None)
        except ApiError:
            await self.write_local_bootstrap("sessions", token_key(token), None)

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
        await self.write("assignments", record_key("assignments", value), value)
        return value

    async def unassign_channel(self, channel_id: str, username: str) -> None:
        key = record_key("assignments", {"channel_id": channel_id, "username": username})
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
        return {record_key(name, value): value for value in await read(user)}

    # ------------------------------------------------------------------------- VTGs
    async def create_vtg(self, name: str, channel_ids: list[str], members: list[str]) -> dict:
        for cid in channel_ids:
            await self._require("channels", cid, "channel")
        await self.accounts.require_users(members)
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
        return await self.incidents.create_incident(name, description, participants)

    async def set_participants(self, incident_id: str, participants: list[str], user: dict) -> dict:
        return await self.incidents.set_participants(incident_id, participants, user)

    async def incidents_for(self, user: dict) -> list[dict]:
        return await self.incidents.incidents_for(user)

    async def incident(self, incident_id: str, user: dict) -> dict:
        return await self.incidents.incident(incident_id, user)

    async def add_file(self, incident_id: str, user: dict, name: str, content_type: str, content: bytes) -> dict:
        return await self.incidents.add_file(incident_id, user, name, content_type, content)

    async def restore_file(self, incident_id: str, file_id: str, user: dict, content: bytes) -> dict:
        return await self.incidents.restore_file(incident_id, file_id, user, content)

    async def file_content(self, incident_id: str, file_id: str, user: dict) -> tuple[dict, bytes]:
        return await self.incidents.file_content(incident_id, file_id, user)

    async def _require(self, table: str, key: str, what: str) -> Record:
        return await require(self.store, table, key, what)
