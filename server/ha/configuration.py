"""HA configuration: Configure (the merge), Unconfigure, the heartbeat settings' Update, NTP.

Configure, on the primary, checks the prerequisites (licenses, NTP on both servers,
a supported pair of versions), merges both servers' data and tells the secondary to
be the standby.  Unconfigure sends both servers through the reconfiguration to
standalone; a partner that unconfigured HA while this server was away is followed.

Chapter: Configuring Cisco IPICS Servers for HA (HA Configuration tab: Configure,
Update); Unconfiguring HA; Synchronizing the Server Time on HA Servers (ntpsetup).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from ..adapters.httpclient import Reply, Unreachable
from ..adapters.peer import PeerLink
from ..core import roles
from ..core.ha_config import ConfigurationError, HeartbeatSettings, check_supported_pair
from ..core.records import Record, merge_on_configure
from ..core.roles import HAState, Role, ServerDesignation
from ..errors import ApiError, conflict
from .file_replication import FileReplication
from .node import NodeState, partner_message
from .roles import Roles

log = logging.getLogger("ipics.ha")


class Configuration:
    """The HA Configuration tab's procedures, on this server and as the partner."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        roles: Roles,
        files: FileReplication,
        *,
        logout: Callable[[bool], Awaitable[None]],
        auto_unconfigure: Callable[[str], Coroutine[Any, Any, None]],
    ):
        self.state = state
        self.peer = peer
        self.roles = roles
        self.files = files
        self._logout = logout
        self._auto_unconfigure = auto_unconfigure
        self._configure_lock = asyncio.Lock()

    async def set_ntp(self, servers: list[str]) -> None:
        """The emulated ``ntpsetup -s enable``."""
        s = self.state
        s.ntp_servers = list(servers)
        await s.store.set_local("ntp", s.ntp_servers)

    def own_info(self) -> dict[str, Any]:
        s = self.state
        d = s.designation()
        return {
            "server": d.value if d else None,
            "ntp_servers": list(s.ntp_servers),
            "software_version": s.cfg.software_version,
            "role": s.role.value,
            "ha": s.ha.value,
        }

    async def partner_info(self) -> dict[str, Any]:
        try:
            reply = await self.peer.call("GET", "/peer/info")
        except Unreachable as exc:
            raise ApiError(
                502, "partner_unreachable", f"the partner does not answer on the peer link: {self.peer.error or exc}"
            ) from None
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {partner_message(reply.body)}")
        return reply.body

    async def _control(self, message: dict[str, Any]) -> Reply:
        try:
            return await self.peer.call("POST", "/peer/control", message)
        except Unreachable as exc:
            raise ApiError(
                502, "partner_unreachable", f"the partner does not answer on the peer link: {self.peer.error or exc}"
            ) from None

    # ------------------------------------------------------------------ Configure
    async def configure(self, on_done: Callable[[], Awaitable[None]], keep_accounts: Iterable[str] = ()) -> None:
        """HA Configuration, Configure: merge both servers' data, start HA (primary side).
        ``keep_accounts``: user names whose record this server's copy wins in the merge
        (``core.records.merge_on_configure``)."""
        s = self.state
        if s.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if s.ha == HAState.CONFIGURED:
            raise conflict("HA is already configured")
        # A second Configure (a double click) while the first is still checking or merging
        # would merge and trim the log twice. Taken without a pause: no await in between.
        if self._configure_lock.locked():
            raise conflict("HA configuration is already running")
        async with self._configure_lock:
            await self._configure_checked(on_done, frozenset(keep_accounts))

    async def _configure_checked(self, on_done: Callable[[], Awaitable[None]], keep_accounts: frozenset[str]) -> None:
        s = self.state
        if s.role == Role.TRANSITIONING:
            raise conflict("this server is still reconfiguring; wait and try again")
        mine, theirs = self.own_info(), await self.partner_info()
        if mine["server"] != ServerDesignation.PRIMARY.value:
            raise conflict(
                "configure HA on the primary server (IPICS Base server + Policy Engine Base "
                "licenses); this server is the secondary. For this server to become the primary "
                "and the original primary the secondary, new licenses are required: the secondary "
                "needs a High Availability license"
            )
        if theirs["server"] != ServerDesignation.SECONDARY.value:
            raise conflict(
                "the partner is not a secondary server: the secondary role needs a High "
                "Availability license (install only that license there); a server that changes "
                "to the secondary role needs new HA licenses"
            )
        missing = [name for name, info in (("this server", mine), ("the partner", theirs)) if not info["ntp_servers"]]
        if missing:
            raise conflict(
                f"HA configuration failed: NTP is not configured on {' and '.join(missing)} "
                "(ntpsetup -s enable <ntp-server> <backup-ntp-server>)"
            )
        try:
            check_supported_pair(mine["software_version"], theirs["software_version"])
        except ConfigurationError as exc:
            raise conflict(str(exc)) from None

        # Merge existing data from both servers: per record the newest timestamp wins.
        # No write may land between the snapshot and the merge's replace: refuse them.
        s.configuring = True
        try:
            await self._configure_merged(on_done, keep_accounts)
        finally:
            s.configuring = False

    async def _configure_merged(self, on_done: Callable[[], Awaitable[None]], keep_accounts: frozenset[str]) -> None:
        s = self.state
        try:
            reply = await self.peer.call("GET", "/peer/snapshot")
        except Unreachable as exc:
            raise ApiError(
                502, "partner_unreachable", f"the partner does not answer on the peer link: {self.peer.error or exc}"
            ) from None
        if not reply.ok:
            raise ApiError(502, "partner_refused", "the partner did not send its data for the merge")
        local, _ = await s.store.snapshot()
        merged = await asyncio.to_thread(
            _merge, local, reply.body["records"], keep_accounts, s.clock.now(), ServerDesignation.PRIMARY.value
        )
        await s.store.replace_all(merged.values())
        files_from_partner = [
            r for r in merged.values() if r.table == "files" and r.value and not s.files.exists(r.key)
        ]
        for r in files_from_partner:
            await self.files.copy_from_partner(r.key)

        # Configured here before the partner hears of it: its first heartbeat must find
        # this server configured, or it would think HA was unconfigured meanwhile.  And
        # its heartbeats from before it applies the configuration (still trusted) are not
        # an unconfigure to follow, until it has been heard configured.
        s.set_partner_heard_configured(False)
        s.ha = HAState.CONFIGURED
        s.serving_alone = False
        try:
            reply = await self._control({"command": "configure", "settings": s.settings.as_dict()})
        except ApiError:
            s.ha = HAState.TRUSTED
            raise
        if not reply.ok:
            s.ha = HAState.TRUSTED
            raise conflict(f"the partner refused the configuration: {partner_message(reply.body)}")
        await s.store.set_local("ha", s.ha.value)
        await s.store.set_local("serving_alone", False)
        await s.store.set_local("standalone", False)
        await s.store.trim_log(10**18)
        s.reset_acked()
        if s.role != Role.ACTIVE:
            self.roles.set_role(Role.ACTIVE, "HA configured: the primary server is active")
        log.warning(
            "HA configured: heartbeat port %d, interval %d s, %d missed heartbeats",
            s.settings.port,
            s.settings.interval_s,
            s.settings.missed_count,
        )
        s.kick()
        await on_done()

    async def on_partner_configure(self, settings: HeartbeatSettings) -> None:
        """The primary configured HA: this secondary is the standby from now on."""
        s = self.state
        s.set_partner_heard_configured(False)
        s.settings = settings
        await s.store.set_local("heartbeat", s.settings.as_dict())
        s.ha = HAState.CONFIGURED
        s.serving_alone = False
        await s.store.set_local("serving_alone", False)
        await s.store.set_local("ha", s.ha.value)
        await s.set_standalone(False)
        if s.transition:
            self.roles.cancel_transition()
            s.role = Role.STANDBY
        if s.role != Role.STANDBY:
            self.roles.set_role(Role.STANDBY, "HA configured: the secondary server is standby")
        s.synchronized = False
        s.missed_now = 0
        await self._logout(True)
        s.kick()

    # ------------------------------------------------------------- the settings
    async def update_settings(self, settings: HeartbeatSettings) -> None:
        """HA Configuration tab, Update: both servers take the settings, or neither.
        Trusted but not yet configured too: the peer link (and Configure) needs both on
        one Heartbeat Port."""
        s = self.state
        if s.ha == HAState.UNCONFIGURED:
            raise conflict("establish trust with the partner first (HA Security tab)")
        if why := self._cannot_take(settings):
            raise conflict(f"{why}; nothing was changed")
        reply = await self._control({"command": "settings", "settings": settings.as_dict()})
        if not reply.ok:
            raise conflict(f"the partner refused the settings: {partner_message(reply.body)}; nothing was changed")
        await self.apply_settings(settings)

    def on_partner_settings(self, settings: HeartbeatSettings) -> str | None:
        """The partner's Update: why this server cannot take ``settings``, or None once
        they are taken (just after the answer: a new port restarts the listener the
        request came in on)."""
        if why := self._cannot_take(settings):
            return why
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.apply_settings(settings)))
        return None

    def _cannot_take(self, settings: HeartbeatSettings) -> str | None:
        """A new Heartbeat Port this server cannot listen on (in use, say) is refused
        rather than breaking the link; the port in force is fine."""
        if settings.port == self.state.settings.port:
            return None
        return self.peer.cannot_listen_on(settings.port)

    async def apply_settings(self, settings: HeartbeatSettings) -> None:
        s = self.state
        port_changed = settings.port != s.settings.port
        s.settings = settings
        await s.store.set_local("heartbeat", settings.as_dict())
        if port_changed and s.partner:
            await self.peer.start(s.partner.cert_pem, s.partner.host, settings.port)
        s.kick()  # the loop's wait was computed with the old interval

    # ---------------------------------------------------------------- Unconfigure
    async def unconfigure(self) -> None:
        """HA Configuration, Unconfigure: both return to standalone after reconfiguring."""
        s = self.state
        if s.ha != HAState.CONFIGURED:
            raise conflict("HA is not configured")
        if s.role != Role.ACTIVE:
            raise conflict("unconfigure HA from the active server")
        try:
            await self.peer.call("POST", "/peer/control", {"command": "unconfigure"})
        except Unreachable:
            if s.cfg.modes.witness:
                raise conflict(
                    "witness mode: the standby does not answer, so it would not hear the Unconfigure and "
                    "would assume the active role with the witness's vote while this server serves alone; "
                    "bring the standby back (or heal the link) and Unconfigure again"
                ) from None
            log.warning("partner did not answer the unconfigure; it will be standalone when it returns")
        await self.apply_unconfigure()

    async def on_partner_unconfigure(self) -> None:
        if self.state.ha == HAState.CONFIGURED:
            await self.apply_unconfigure()

    async def apply_unconfigure(self) -> None:
        s = self.state
        s.ha = HAState.TRUSTED if s.partner else HAState.UNCONFIGURED
        await s.store.set_local("ha", s.ha.value)
        # Standalone from now on, as far as a reboot is concerned: powered off during the
        # reconfiguration, the server comes back standalone, not active by its licenses
        # (seen in the fault campaign: an active primary with HA unconfigured beside a
        # secondary serving alone, a state no recovery step knew).
        await s.set_standalone(True)
        await s.store.trim_log(10**18)
        self.roles.begin_transition(Role.STANDALONE, roles.RECONFIGURATION_PERIOD_S, "HA unconfigured: reconfiguring")

    def follow_partner_unconfigure(self, view: dict[str, Any]) -> None:
        """A partner that unconfigured HA while this server was away (by hand, or at 90 %
        of the transaction log) is followed when it is heard again.  A standby goes
        through the reconfiguration; an active one (both were active: a split brain)
        keeps serving on its own and says the data must be reconciled."""
        s = self.state
        if view.get("ha") == HAState.CONFIGURED.value:
            s.set_partner_heard_configured(True)
            return
        if not (
            s.ha == HAState.CONFIGURED
            and s.partner_heard_configured  # not a partner still applying Configure
            and view.get("ha") in (HAState.TRUSTED.value, HAState.UNCONFIGURED.value)
            and view.get("role") in (Role.STANDALONE.value, Role.TRANSITIONING.value)
        ):
            return
        if s.role == Role.STANDBY:
            log.warning("the partner unconfigured HA while this server was away: unconfiguring here too")
            s.ha = HAState.TRUSTED  # at once, so the next heartbeat does not start another
            s.spawn(self.apply_unconfigure())
        elif s.role == Role.ACTIVE:
            s.ha = HAState.TRUSTED
            s.message(
                "error",
                "the partner unconfigured HA while both servers were active (split brain): "
                "both now serve on their own; reconcile the data and configure HA again "
                "(Method 2)",
            )
            s.spawn(self._auto_unconfigure("the partner unconfigured HA during a split brain"))


def _merge(
    local: list[Record], theirs_json: list[dict], keep_accounts: frozenset[str], now: float, origin: str
) -> dict:
    return merge_on_configure(
        local,
        (Record.from_json(r) for r in theirs_json),
        keep_local=[("users", name) for name in keep_accounts],
        now=now,
        origin=origin,
    )
