"""Users and their passwords: the built-in accounts, users created and found, a
password checked behind the login throttle, the Dial Login.

``DataService`` owns one ``Accounts`` and delegates to it; every write goes through the
service's ``write`` (refused unless active, logged, pushed).
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from .adapters.store import Store
from .core.access import UserRole, may_grant
from .core.records import Record
from .core.throttle import LOGIN, LoginThrottle
from .data_records import public_user, require
from .errors import ApiError, conflict, forbidden
from .passwords import hash_password_async, verify_password_async

#: the accounts every server creates at its first start (the Linux administrator and the
#: database owner of the chapter's procedures)
BUILTIN_ACCOUNTS = ("ipicsadmin", "informix")

Write = Callable[..., Awaitable[Any]]


class Accounts:
    def __init__(self, store: Store, *, write: Write, write_local: Write):
        self.store = store
        self.write = write
        self.write_local_bootstrap = write_local
        # A dummy hash so a login for an unknown user costs as much as a wrong password.
        self._dummy_hash: str | None = None
        # In memory, per server: a failover starts the new active with a clean slate.
        self.login_throttle = LoginThrottle()
        #: since this process started, by way in (``/metrics``): wrong passwords, and
        #: attempts refused unchecked while their client was locked out
        self.logins_refused: Counter[str] = Counter()
        self.logins_throttled: Counter[str] = Counter()

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
            self.logins_throttled[way] += 1
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
        else:
            self.logins_refused[way] += 1
        return user

    async def dummy_hash(self) -> str:
        """A hash to verify against when the user is unknown, so that costs as much."""
        if self._dummy_hash is None:
            self._dummy_hash = await hash_password_async(secrets.token_hex(8))
        return self._dummy_hash

    async def set_dial_login(self, username: str, dial_id: str, pin: str) -> dict:
        """The operator's Dial Login: a numeric user ID (unique) and PIN for the IP
        phone service and the dial engine; the PIN is kept only as a hash."""
        record = await require(self.store, "users", username, "user")
        for r in await self.store.table("users"):
            if r.value and r.key != username and r.value.get("dial_id") == dial_id:
                raise conflict(f"user ID {dial_id} is already the dial login of another user")
        value = {**record.live_value, "dial_id": dial_id, "pin_hash": await hash_password_async(pin)}
        await self.write("users", username, value)
        return public_user(value)

    async def require_users(self, usernames: list[str]) -> None:
        for username in usernames:
            await require(self.store, "users", username, "user")
