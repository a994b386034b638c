"""The trainer's buttons: faults, and the administrator's actions of the chapter.

Faults are what goes wrong in a machine room (a server powered off, tomcat crashing,
the link between the servers cut one way or both, a clock set wrong, the transaction
log filling while the partner is away).  The administrator's actions are the
chapter's procedures: Failover Now, Go Standby, REPAIR, ipicsrsync, Unconfigure and
Configure.  Each returns one sentence for the trainer, adds an event to the timeline,
and raises ``ActionRefused`` with the reason when the servers refuse or the state does
not allow it.  Long actions report progress and wait for the outcome, each wait with a
deadline derived from the chapter's emulated durations at the pair's time scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from ipics_lab.netfaults import LINK_DIRECTIONS, CannotMake
from ipics_lab.supervisor import SetupError, poll_once, satisfied
from ipics_lab.trainer.offers import not_started_here
from ipics_lab.trainer.timeline import Timeline
from ipics_server.adapters.httpclient import Reply, Unreachable
from ipics_server.clock import Clock
from ipics_server.core import roles
from ipics_server.core.commands import HA_STATUS, PENDING, REPAIR, RSYNC

Progress = Callable[[float | None, str], None]

#: emulated seconds: the longest thing an action waits for (a takeover after a
#: critical process failure), and what REPAIR and ipicsrsync may take on a big lab
LONGEST_TAKEOVER_S = max(roles.TAKEOVER_AFTER_CRITICAL_PROCESS_FAILURE_S)
LONG_JOB_S = 600.0
#: real seconds added to every deadline: process start-up and loopback round trips
SLACK_S = 20.0
#: real seconds for a new administrator token to reach the other server by replication
TOKEN_WAIT_S = 5.0


class ActionRefused(Exception):
    """The servers refused, or the state does not allow it; ``str()`` is the reason."""


class ActionServer(Protocol):
    """One server as the actions see it: a ``ServerProcess`` this lab started (``proc``
    is its process) or an ``AttachedServer`` (``proc`` None: started elsewhere)."""

    name: str

    @property
    def url(self) -> str: ...
    @property
    def proc(self) -> Any: ...
    @property
    def data_dir(self) -> Path | None: ...
    def kill(self) -> None: ...
    async def power_on(self, timeout_s: float = 30) -> None: ...
    def client(self, token: str | None = None) -> Any: ...


class ActionPair(Protocol):
    """What the actions need of a pair: a ``LabPair`` or an ``AttachedPair``."""

    _lab_token: str | None

    @property
    def servers(self) -> tuple[Any, Any]: ...
    @property
    def primary(self) -> Any: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def topology(self) -> str: ...
    @property
    def network(self) -> Any: ...
    async def status(self, server: Any) -> dict: ...
    async def fault(self, server: Any, **fault: Any) -> Any: ...
    async def login(self, server: Any, username: str = ..., password: str | None = ...) -> str: ...
    async def any_admin_token(self, prefer: Any) -> str: ...
    async def shell(self, server: Any, command: str, user: str = ...) -> tuple[str, int]: ...
    async def configure(self, interval_s: int = ..., missed_count: int = ...) -> None: ...


class Actions:
    def __init__(self, pair: ActionPair, timeline: Timeline | None = None):
        self.pair = pair
        self.timeline = timeline

    # ------------------------------------------------------------------ faults
    async def power_off(self, server: str) -> str:
        s = self._owned(server)
        if not _running(s):
            raise ActionRefused(f"the {server} server is already powered off")
        s.kill()  # a pulled plug: kill -9, nothing written on the way down
        return self._note("fault", f"{server} powered off (kill -9)", server)

    async def power_on(self, server: str) -> str:
        s = self._owned(server)
        if _running(s):
            raise ActionRefused(f"the {server} server is already powered on")
        try:
            await s.power_on()
        except (RuntimeError, OSError) as exc:  # SetupError, TimeoutError too
            s.kill()  # not left half started
            raise ActionRefused(f"the {server} server did not start: {exc}") from None
        return self._note("fault", f"{server} powered on", server)

    async def crash_tomcat(self, server: str) -> str:
        await self._fault(server, fault="crash-service", service="tomcat")
        return self._note("fault", f"{server}: tomcat crashed", server)

    async def cut_link(self, server: str, direction: str = "both") -> str:
        """The link between the servers cut at ``server``: by the kernel in the sites
        topology (packets dropped silently), by the server itself on loopback."""
        if direction not in LINK_DIRECTIONS:
            raise ActionRefused(f"the link is cut {', '.join(LINK_DIRECTIONS)}, not {direction!r}")
        await self._network(server, "cut_link", server, direction)
        what = {
            "both": "both ways",
            "outbound": "outbound (it no longer reaches its partner)",
            "inbound": "inbound (its partner no longer reaches it)",
        }[direction]
        return self._note("fault", f"{server}: link cut {what}{self._by()}", server)

    async def heal_link(self, server: str) -> str:
        if self.pair.topology == "loopback" and not _running(self._server(server)):
            # On loopback the cut lives in the server's process: powered off, it has none
            # and starts with its link whole.  In the sites topology the cut is the
            # network's, and outlives a power cycle until healed, as a real one does.
            return self._note("fault", f"{server}: link healed (powered off: it starts with its link whole)", server)
        await self._network(server, "heal_link", server)
        return self._note("fault", f"{server}: link healed", server)

    async def packet_loss(self, a: str, b: str, percent: float) -> str:
        """Packets between sites ``a`` and ``b`` dropped at random, ``percent`` each way
        (the sites topology only)."""
        await self._network(None, "packet_loss", a, b, percent)
        return self._note("fault", f"{percent:g} % packet loss between {a} and {b}{self._by()}")

    async def isolate_clients(self, server: str) -> str:
        """The clients' site no longer reaches ``server``; the servers still hear each
        other (the sites topology only)."""
        await self._network(server, "isolate_clients", server)
        return self._note("fault", f"the clients' site isolated from the {server}{self._by()}", server)

    async def heal_network(self) -> str:
        """Every network fault healed, nothing restarted."""
        await self._network(None, "heal")
        return self._note("fault", "network healed")

    def _by(self) -> str:
        return " (the kernel drops the packets)" if self.pair.topology == "sites" else ""

    async def _network(self, server: str | None, fault: str, *args: Any) -> None:
        if server is not None and self.pair.topology == "loopback" and not _running(self._server(server)):
            raise ActionRefused(f"the {server} server is powered off")
        try:
            await getattr(self.pair.network, fault)(*args)
        except CannotMake as exc:
            raise ActionRefused(str(exc)) from None
        except (Unreachable, SetupError, TimeoutError) as exc:
            raise ActionRefused(f"the {server} server did not take the fault: {exc}") from None

    async def skew_clock(self, server: str, seconds: float) -> str:
        """Set the server's clock ``seconds`` (emulated) ahead of the lab clock (negative:
        behind), as a wrong NTP server or ``date -s`` would."""
        if not isinstance(seconds, int | float) or not -10 * 365 * 86400 <= seconds <= 10 * 365 * 86400:
            raise ActionRefused("a clock skew is a number of seconds within ten years")
        await self._fault(server, fault="clock-offset", seconds=float(seconds))
        return self._note("fault", f"{server}: clock set {seconds:+g} s off", server)

    async def fill_txlog(self, server: str, percent: float = 80, progress: Progress | None = None) -> str:
        """Fill the active's transaction log to ``percent`` with records its partner
        cannot take: the log is made small, then channels are created and deleted
        (two records each, nothing left behind)."""
        if not 0 < percent <= 100:
            raise ActionRefused("fill the transaction log to a percentage between 0 and 100")
        st = await self._status(server)
        if st.get("role") != "active":
            raise ActionRefused(f"the {server} server is not active: only the active keeps a transaction log")
        pending = st["replication"]["pending"]
        capacity = max(50, 2 * pending)
        await self._fault(server, fault="txlog-capacity", capacity=capacity)
        target = percent
        used = (
            st["replication"]["transaction_log_used_percent"] * st["replication"]["transaction_log_capacity"] / capacity
        )
        stalled, highest = 0, used
        async with await self._admin(server) as c:
            while used < target:
                before = used
                reply = await c.post("/api/v1/channels", {"name": f"txlog-fill-{time.monotonic_ns()}"})
                if reply.ok:
                    await c.delete(f"/api/v1/channels/{reply.body['id']}")
                st = await self._status(server)
                used = st["replication"]["transaction_log_used_percent"]
                highest = max(highest, used)
                if not reply.ok or st.get("ha") != "configured":
                    break  # refused writes, or the 90 % safeguard unconfigured HA
                stalled = stalled + 1 if used <= before else 0
                if stalled >= 5:
                    raise ActionRefused(
                        f"the {server} server's standby takes every record, so its log "
                        "does not fill: power the standby off or cut the link first"
                    )
                if progress:
                    progress(min(1.0, used / target), f"transaction log {used:.0f} %")
        if st.get("ha") != "configured":  # the 90 % safeguard unconfigured HA and emptied the log
            return self._note(
                "fault", f"{server}: transaction log filled to {highest:.0f} %; HA was unconfigured at 90 %", server
            )
        return self._note("fault", f"{server}: transaction log filled to {used:.0f} %", server)

    # ---------------------------------------------------- the administrator's actions
    async def failover_now(self, progress: Progress | None = None) -> str:
        active = await self._the_active()
        standby = self._other(active)
        await self._post(active, "/api/v1/ha/failover")
        self._note("action", f"Failover Now on {active}: {standby} is assuming the active role", active)
        await self._watch(standby, progress, "takeover", lambda st: st.get("role") == "active", LONGEST_TAKEOVER_S)
        return self._note("role", f"{standby} is active; {active} is standby", standby)

    async def go_standby(self, server: str = "secondary", progress: Progress | None = None) -> str:
        reply = await self._post(server, "/api/v1/ha/go-standby")
        self._note("action", f"Go Standby on {server}", server)
        await self._watch(server, progress, "going standby", lambda st: st.get("role") == "standby", LONGEST_TAKEOVER_S)
        return self._note("role", f"{server} is standby: {reply.body.get('message', '')}".rstrip(": "), server)

    async def repair(self, progress: Progress | None = None) -> str:
        """``ipicsedr_control_repl REPAIR`` as informix, watched with ``service ipics
        ha-status`` until nothing is pending and the standby is Ready."""
        runner = self._up_server("secondary", "primary")
        out, status = await self.shell(runner, REPAIR, user="informix")
        if status != 0 and "already running" not in out:
            raise ActionRefused(f"REPAIR refused: {out.strip()}")
        self._note("action", f"REPAIR started on {runner}", runner)
        watcher = self._up_server("primary", "secondary")
        start = self.pair.clock.monotonic()

        async def repaired():
            text, _ = await self.shell(watcher, HA_STATUS, user="informix")
            pending = text.split(PENDING)[1].strip() if PENDING in text else ""
            if pending.startswith("repair") and " failed " in pending:
                raise ActionRefused(f"a repair process failed: {pending.splitlines()[0]} - run REPAIR again")
            if progress:
                progress(
                    min(0.95, (self.pair.clock.monotonic() - start) / LONG_JOB_S) if pending else None,
                    pending.splitlines()[0] if pending else "repairing",
                )
            return (
                pending.startswith("none")
                and "last REPAIR finished" in text
                and "Standby Server Status        : Ready" in text
            )

        await self._until(repaired, LONG_JOB_S, "the repair processes to finish and the standby to be Ready")
        self._done(progress, "repaired")
        return self._note("action", "REPAIR finished: nothing pending, the standby is Ready")

    async def rsync(self, progress: Progress | None = None) -> str:
        """``ipicsrsync run ipicsadmin`` on the primary, until its log says it finished."""
        primary = self.pair.primary
        if primary.data_dir is None:  # attached by address: its log is not to be read here
            raise ActionRefused(
                "the primary's files are not known here (attached by address): run ipicsrsync in its shell"
            )
        log_file = primary.data_dir / "logs" / "rsync.log"
        offset = log_file.stat().st_size if log_file.exists() else 0
        out, status = await self.shell("primary", RSYNC)
        if status != 0:
            raise ActionRefused(f"ipicsrsync refused: {out.strip()}")
        self._note("action", "ipicsrsync started on the primary", "primary")

        def finished():
            new = log_file.read_bytes()[offset:].decode(errors="replace") if log_file.exists() else ""
            if progress:
                progress(None, (new.strip().splitlines() or ["synchronizing files"])[-1][-80:])
            return new if "ipicsrsync finished" in new or "ERROR" in new else None

        new = await self._until(finished, LONG_JOB_S, "ipicsrsync to finish")
        if "ERROR" in new:
            raise ActionRefused(f"ipicsrsync failed: {new.strip().splitlines()[-1]} - run it again")
        self._done(progress, "files synchronized")
        return self._note("action", "ipicsrsync finished: " + new.strip().splitlines()[-1][-120:])

    async def unconfigure(self, server: str = "primary", progress: Progress | None = None) -> str:
        await self._post(server, "/api/v1/ha/unconfigure")
        self._note("action", f"Unconfigure on {server}", server)
        await self._watch(
            server,
            progress,
            "reconfiguring",
            lambda st: st.get("role") == "standalone",
            max(roles.RECONFIGURATION_PERIOD_S),
        )
        return self._note("role", f"{server}: HA unconfigured, the server stands alone", server)

    async def configure(self, progress: Progress | None = None) -> str:
        """Configure on the primary with the heartbeat settings it has; the trust is kept."""
        st = await self._status("primary")
        hb = st.get("heartbeat") or {}
        try:
            await self.pair.configure(hb.get("interval_s", 15), hb.get("missed_count", 5))
        except SetupError as exc:
            raise ActionRefused(str(exc)) from None
        self._note("action", "Configure on the primary", "primary")
        await self._watch(
            "primary",
            progress,
            "configuring",
            lambda st: st.get("role") == "active" and st.get("standby_server_status") == "Ready",
            LONGEST_TAKEOVER_S,
        )
        return self._note("role", "HA configured: the primary is active, the standby Ready", "primary")

    # ----------------------------------------------------------------- the shell
    async def shell(self, server: str, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        """Run one command in the emulated server shell over SSH, as the chapter's
        procedures do."""
        import asyncssh

        from ipics_server.shell.client import ShellLoginError

        try:
            return await self.pair.shell(self._server(server), command, user)
        except (ShellLoginError, asyncssh.Error, OSError) as exc:
            raise ActionRefused(f"the {server} server's shell is not available: {exc}") from None

    # ----------------------------------------------------------------- helpers
    def _server(self, name: str) -> ActionServer:
        for s in self.pair.servers:
            if s.name == name:
                return s
        raise ActionRefused(f"there is no {name!r} server: primary or secondary")

    def _owned(self, name: str) -> ActionServer:
        """The server, if this lab holds its process (it started it)."""
        s = self._server(name)
        if s.proc is None:
            raise ActionRefused(not_started_here(name))
        return s

    def _other(self, name: str) -> str:
        return "secondary" if name == "primary" else "primary"

    def _note(self, kind: str, text: str, server: str | None = None) -> str:
        if self.timeline is not None:
            self.timeline.add(kind, text, server)
        return text

    async def _status(self, server: str) -> dict:
        s = self._server(server)
        try:
            return await self.pair.status(s)
        except Unreachable:
            raise ActionRefused(f"the {server} server does not answer (powered off?)") from None

    async def _maybe_status(self, server: str) -> dict | None:
        try:
            return await self._status(server)
        except ActionRefused:
            return None

    async def _the_active(self) -> str:
        for name in ("primary", "secondary"):
            st = await self._maybe_status(name)
            if st and st.get("role") == "active":
                return name
        raise ActionRefused("no server is active")

    def _up_server(self, *names: str) -> str:
        for name in names:
            if _running(self._server(name)):
                return name
        raise ActionRefused("both servers are powered off")

    async def _fault(self, server: str, **fault) -> Any:
        s = self._server(server)
        if not _running(s):
            raise ActionRefused(f"the {server} server is powered off")
        try:
            reply = await self.pair.fault(s, **fault)
        except (Unreachable, SetupError, TimeoutError) as exc:
            raise ActionRefused(f"the {server} server did not take the fault: {exc}") from None
        if reply.status == 403:  # a server started without --lab-faults (not by a lab)
            raise ActionRefused(
                f"the {server} server refused: {_message(reply)} "
                "(it must run with --lab-faults, as the lab's servers do)"
            )
        if not reply.ok:
            raise ActionRefused(f"the {server} server refused: {_message(reply)}")
        return reply.body

    async def _admin(self, server: str):
        s = self._server(server)
        try:
            return s.client(await self.pair.any_admin_token(s))
        except (Unreachable, SetupError) as exc:
            raise ActionRefused(f"no administrator session on the {server} server: {exc}") from None

    async def _post(self, server: str, path: str) -> Reply:
        """An administrator's POST, with a session from whichever server grants one
        (a standby refuses logins but learns the active's sessions by replication, so a
        fresh token is retried until it arrives there: the server's own refusal, not
        "unknown session", is what the trainer must see)."""
        s = self._server(server)

        async def answered():
            async with await self._admin(server) as c:
                try:
                    reply = await c.post(path)
                except Unreachable:
                    raise ActionRefused(f"the {server} server does not answer (powered off?)") from None
            if reply.status != 401:
                return reply
            with contextlib.suppress(Unreachable, SetupError):  # a server taking logins itself
                self.pair._lab_token = await self.pair.login(s)
            return None

        reply = await self._until(
            answered, 0, f"the {server} server to know the administrator's session", real_s=TOKEN_WAIT_S
        )
        if not reply.ok:
            raise ActionRefused(f"{server}: {_message(reply)}")
        return reply

    async def _watch(
        self, server: str, progress: Progress | None, what: str, done: Callable[[dict], bool], emulated_max_s: float
    ) -> None:
        """Wait for ``done(status)``, reporting the server's transition (takeover,
        reconfiguration) as progress."""
        total: dict[str, float] = {}

        async def check():
            st = await self._maybe_status(server)
            if st is None:
                return False
            t = st.get("transition")
            if progress:
                if t:
                    total.setdefault(t["to"], max(t["remaining_s"], 1e-9))
                    left = t["remaining_s"]
                    progress(1 - left / total[t["to"]], f"{what}: {left:.0f} s left (emulated)")
                else:
                    progress(None, what)
            return done(st)

        await self._until(check, emulated_max_s, f"{server}: {what}")
        self._done(progress, f"{what}: done")

    async def _until(
        self, predicate: Callable[[], Awaitable[Any] | Any], emulated_s: float, what: str, real_s: float = SLACK_S
    ) -> Any:
        """Poll ``predicate`` until it is truthy.  Gives up once ``emulated_s`` have
        passed on the lab clock *and* ``real_s`` real seconds (process start-up and round
        trips do not speed up with the time scale): a change of time scale while it
        waits (the trainer's speed control) moves the deadline with it."""
        clock = self.pair.clock
        start_em, start_real = clock.monotonic(), time.monotonic()
        last: Any = None
        while True:
            last = await poll_once(predicate)
            if satisfied(last):
                return last
            if clock.monotonic() - start_em > emulated_s and time.monotonic() - start_real > real_s:
                raise ActionRefused(
                    f"gave up waiting for {what} after {clock.monotonic() - start_em:.0f} "
                    f"emulated seconds (last: {last!r})"
                )
            await asyncio.sleep(0.1)  # polling period, real seconds

    @staticmethod
    def _done(progress: Progress | None, text: str) -> None:
        if progress:
            progress(1.0, text)


def _running(s: ActionServer) -> bool:
    """Its process runs; a server this lab did not start may: its answer will say."""
    return s.proc is None or s.proc.poll() is None


def _message(reply: Reply) -> str:
    body = reply.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)[:200]
