"""What an administrator does to an HA pair through its HTTP API: log in, trust,
configure, wait for the Standby Server Status, inject a lab fault.

The same steps for the pair of real processes (``supervisor.LabPair``) and for the
in-process tier (``inprocess.InProcessPair``); each says how it waits
(``wait_until``: real seconds for processes, emulated seconds where time jumps) and
how it starts its servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from typing import Any, Protocol

from ipics_server.adapters.httpclient import ApiClient, Reply, Unreachable


class SetupError(RuntimeError):
    pass


class PairServer(Protocol):
    """One server of a pair, as the procedures see it."""

    name: str
    host: str

    @property
    def heartbeat_port(self) -> int: ...

    @property
    def port(self) -> int | None: ...

    @property
    def url(self) -> str: ...

    def client(self, token: str | None = None) -> ApiClient: ...


async def poll_once(predicate) -> Any:
    """One look at a predicate (plain or async): its value, or the ``Unreachable`` it
    raised (a server not answering yet is a "not yet", not a failure)."""
    try:
        value = predicate()
        return await value if inspect.isawaitable(value) else value
    except Unreachable as exc:
        return exc


def satisfied(value: Any) -> bool:
    return bool(value) and not isinstance(value, Exception)


def _holds(value: Any, expected: Any) -> bool:
    """A status field as ``wait_status`` expects it: equal, or a predicate it satisfies."""
    if callable(expected):
        return value is not None and bool(expected(value))
    return value == expected


async def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.02):
    """Poll a predicate (plain or async) until it returns something truthy, or fail saying what."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await poll_once(predicate)
        if satisfied(last):
            return last
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.1f}s waiting for {what} (last: {last!r})")


async def run_in_shell(server: Any, password: str, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
    """One command in ``server``'s SSH shell (``host``, ``ssh_port``, its host key pinned
    from ``ssh_host_public_key_file``), as an administrator types it in the chapter's
    procedures: (output, exit status)."""
    from ipics_server.shell.client import connect

    conn = await connect(
        server.host, server.ssh_port, username=user, password=password, host_key_file=server.ssh_host_public_key_file
    )
    async with conn:
        result = await conn.run(command, check=False)
    return str(result.stdout), int(result.exit_status or 0)


class PairProcedures:
    """The HTTP steps of a pair; subclasses give ``primary``, ``secondary``,
    ``admin_password`` and ``start``."""

    primary: Any
    secondary: Any
    admin_password: str
    #: how long a server may take to accept the lab's administrator token, in the
    #: pair's seconds (it replicates from the active to a standby)
    TOKEN_WAIT_S: float = 5

    def __init__(self) -> None:
        self._lab_token: str | None = None
        self._lab_tokens: dict[str, str] = {}

    @property
    def servers(self) -> tuple[Any, Any]:
        return self.primary, self.secondary

    async def start(self) -> None:
        raise NotImplementedError

    async def wait_until(self, predicate, timeout_s: float, what: str):
        """Wait for ``predicate`` in this pair's time (real seconds here)."""
        return await wait_until(predicate, timeout_s, what)

    async def login(self, server: PairServer, username: str = "ipicsadmin", password: str | None = None) -> str:
        async with server.client() as c:
            reply = await c.post(
                "/api/v1/auth/login", {"username": username, "password": password or self.admin_password}
            )
        if not reply.ok:
            raise SetupError(f"login as {username} on {server.name} failed: {reply.body}")
        return reply["token"]

    async def admin(self, server: PairServer) -> ApiClient:
        return server.client(await self.login(server))

    def partner_address(self) -> str:
        """What the administrator types in the primary's HA Security tab: the secondary's
        bare IP address where its client API is on the well-known HTTPS port (the sites
        topology, two real hosts), else its URL (on loopback the port is picked at start,
        and a lab's HTTPS server there is not the http that host:port means)."""
        url = self.secondary.url
        return self.secondary.host if url == f"https://{self.secondary.host}:443" else url

    async def establish_trust(self) -> None:
        async with await self.admin(self.primary) as c:
            reply = await c.post(
                "/api/v1/ha/trust",
                {
                    "partner_address": self.partner_address(),
                    "username": "ipicsadmin",
                    "password": self.admin_password,
                },
            )
        if not reply.ok:
            raise SetupError(f"trust failed: {reply.body}")

    async def configure(self, interval_s: int = 15, missed_count: int = 5) -> None:
        async with await self.admin(self.primary) as c:
            reply = await c.put(
                "/api/v1/ha/settings",
                {"port": self.primary.heartbeat_port, "interval_s": interval_s, "missed_count": missed_count},
            )
            if not reply.ok:
                raise SetupError(f"HA settings refused: {reply.body}")
            reply = await c.post("/api/v1/ha/configure")
        if not reply.ok:
            raise SetupError(f"configure failed: {reply.body}")

    async def status(self, server: PairServer) -> dict:
        async with server.client() as c:
            return (await c.get("/api/v1/ha/status", timeout_s=2)).body

    async def wait_status(self, server: PairServer, timeout_s: float = 30, **expected) -> dict:
        seen: dict[str, Any] = {}

        async def matches():
            st = await self.status(server)
            seen.clear()
            seen.update({k: st.get(k) for k in (*expected, "role", "ha", "standby_server_status", "messages")})
            return st if all(_holds(st.get(k), v) for k, v in expected.items()) else None

        try:
            return await self.wait_until(matches, timeout_s, f"{server.name} to report {expected}")
        except TimeoutError as exc:
            # what it did report: the role, HA state and its messages say why
            raise TimeoutError(f"{exc}; it last reported {seen or 'nothing'}") from None

    async def wait_ready(self, timeout_s: float = 60) -> None:
        """The primary active, its standby Ready, and everything written so far on the standby."""
        await self.wait_status(self.primary, timeout_s, role="active", standby_server_status="Ready")
        await self.wait_replicated(timeout_s)

    async def replicated(self) -> bool:
        """Every record the primary (as active) has logged is applied on the secondary.
        "Ready" alone is not enough: it stays Ready while the last write is in flight."""
        p, s = await self.status(self.primary), await self.status(self.secondary)
        applied = s["replication"]["applied"]
        return p["replication"]["pending"] == 0 and bool(applied) and applied[1] == p["replication"]["last_seq"]

    async def wait_replicated(self, timeout_s: float = 10, what: str = "replication to drain") -> None:
        await self.wait_until(self.replicated, timeout_s, what)

    async def up(self, interval_s: int = 15, missed_count: int = 5) -> None:
        """Start, trust, configure and wait for Ready: ``ipics-lab up`` without the demo data."""
        await self.start()
        await self.establish_trust()
        await self.configure(interval_s, missed_count)
        await self.wait_ready()

    async def any_admin_token(self, prefer: PairServer) -> str:
        """An administrator token for lab actions on ``prefer``: a standby refuses logins,
        but sessions replicate, so a token from the active works there too."""
        errors = []
        for server in (prefer, *[s for s in self.servers if s is not prefer]):
            try:
                return await self.login(server)
            except (SetupError, Unreachable) as exc:
                errors.append(str(exc))
        raise SetupError("no server accepts an administrator login: " + "; ".join(errors))

    async def admin_attempt(
        self, server: PairServer, method: str, path: str, body: Any = None, timeout_s: float | None = None
    ) -> Reply | None:
        """One call as the lab's administrator, or None to try again (in a ``wait_until``).

        Tokens are kept per server: after a cut link a token minted on the active could
        not reach the standby, so the one a server already took is reused.  A 401 means
        the token never reached it (cut before it replicated, or a split brain): if the
        server takes logins itself it gives one for the next try; if it is a standby,
        the token arrives with the next replication (a token lost in a failover is
        replaced)."""
        token = self._lab_tokens.get(server.name) or self._lab_token
        if token is None:
            token = self._lab_token = await self.any_admin_token(server)
        async with server.client(token) as c:
            reply = await c.request(method, path, json=body, timeout_s=timeout_s)
        if reply.status != 401:
            self._lab_tokens[server.name] = token
            return reply
        self._lab_tokens.pop(server.name, None)
        with contextlib.suppress(SetupError, Unreachable):
            self._lab_tokens[server.name] = await self.login(server)
            return None
        if token == self._lab_token:
            await self._replace_if_lost(token, other=next(s for s in self.servers if s is not server))
        return None

    async def _replace_if_lost(self, token: str, other: PairServer) -> None:
        """A standby refused the shared token.  If the other server does not know it
        either, it was lost in a failover (taken on a server whose data was discarded
        since) and will never replicate: a fresh one from the other server will."""
        with contextlib.suppress(SetupError, Unreachable):
            async with other.client(token) as c:
                if (await c.get("/api/v1/me")).status == 401:
                    self._lab_token = await self.login(other)

    async def fault(self, server: PairServer, **fault) -> Any:
        return await self.wait_until(
            lambda: self.admin_attempt(server, "POST", "/api/v1/lab/faults", fault),
            self.TOKEN_WAIT_S,
            f"{server.name} to accept the lab token",
        )
