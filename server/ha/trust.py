"""Trust: the one-time exchange of certificates between the two servers, and its deletion.

The HA Security tab's Save (on the primary) sends this server's certificate to the
partner with the partner's ipicsadmin password and pins the certificate it answers;
Delete removes the pins on both servers.  The peer link is then mutual TLS to exactly
that certificate.

Chapter: Overview (Remote Server Locations Using Secure Communication); Configuring
Cisco IPICS Servers for HA (HA Security tab); Resolving a Split Brain Scenario,
Method 2 (Delete trust with the secondary stopped).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..adapters.certs import CertificateError, ServerIdentity, inspect
from ..adapters.httpclient import ApiClient, Unreachable, normalize_address
from ..adapters.peer import PeerLink
from ..core.ha_config import HeartbeatSettings
from ..core.roles import HAState, Role, role_by_license
from ..errors import ApiError, conflict
from .deadlines import Deadlines
from .node import NodeState, Partner, partner_message
from .roles import Roles

log = logging.getLogger("ipics.ha")


class Trust:
    """HA Security: establish, accept, delete and forget the trust with the partner."""

    def __init__(
        self,
        state: NodeState,
        peer: PeerLink,
        identity: ServerIdentity,
        roles: Roles,
        deadlines: Deadlines,
        *,
        verify_password: Callable[[str, str, str], Awaitable[bool]],
    ):
        self.state = state
        #: the partner's client API answers trust calls within a call's deadline too
        self._deadlines = deadlines
        self.peer = peer
        self.identity = identity
        self.roles = roles
        self._verify_password = verify_password

    async def establish(self, address: str, username: str, password: str) -> Partner:
        """HA Security tab, Save: exchange certificates with the partner (primary side);
        the partner now trusted."""
        s = self.state
        if s.ha != HAState.UNCONFIGURED:
            raise conflict("trust with a partner already exists; delete it first")
        try:
            address = normalize_address(address)
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        if address == s.address:
            raise ApiError(400, "bad_request", "the partner address is this server's own address")
        async with ApiClient(address, timeout_s=self._deadlines.silence_s()) as client:
            try:
                reply = await client.post(
                    "/api/v1/ha/trust/exchange",
                    {
                        "username": username,
                        "password": password,
                        "certificate": self.identity.cert_pem,
                        "address": s.address,
                        "heartbeat_port": s.settings.port,
                    },
                )
            except Unreachable:
                raise ApiError(502, "partner_unreachable", f"the partner server at {address} does not answer") from None
        if reply.status == 401:
            raise ApiError(
                401,
                "partner_password_wrong",
                "the partner refused the ipicsadmin user name or password; nothing was stored",
            )
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused trust: {partner_message(reply.body)}")
        if not isinstance(reply.body, dict):
            raise ApiError(502, "not_ipics", f"{address} answered, but not as an IPICS server")
        pem = reply.body.get("certificate", "")
        try:
            info = inspect(pem)
        except CertificateError:
            raise ApiError(502, "partner_certificate", "the partner sent no valid certificate") from None
        if info.expired():
            raise ApiError(
                502,
                "partner_certificate_expired",
                f"the partner certificate expired on {info.not_after:%Y-%m-%d}; renew it first",
            )
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        partner = Partner(address=address, host=host, cert_pem=pem)
        await self._store(partner)
        return partner

    async def accept(self, body: dict[str, Any], client: str) -> dict[str, Any]:
        """Partner side of the exchange: check the ipicsadmin password, pin, answer our cert.
        ``client``: the caller's address, for the login throttle."""
        s = self.state
        if body["certificate"].strip() == self.identity.cert_pem.strip():
            # This server's own address under another name (localhost, say).
            raise ApiError(400, "bad_request", "the partner address is this server's own address")
        if body["username"] != "ipicsadmin" or not await self._verify_password("ipicsadmin", body["password"], client):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if s.ha != HAState.UNCONFIGURED and not self._stale_trust_of(body["certificate"]):
            raise conflict("this server already trusts a partner; delete that trust first")
        try:
            info = inspect(body["certificate"])
            address = normalize_address(body["address"])
        except (CertificateError, ValueError) as exc:
            raise ApiError(400, "bad_request", f"invalid trust request: {exc}") from None
        if info.expired():
            raise ApiError(400, "certificate_expired", f"your certificate expired on {info.not_after:%Y-%m-%d}")
        if s.ha != HAState.UNCONFIGURED:
            log.warning(
                "the trusted partner deleted its trust while this server was stopped: "
                "replacing the old trust and HA configuration"
            )
            await self._reset_after_partner_reset()
        host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        if body.get("heartbeat_port"):
            s.settings = HeartbeatSettings(body["heartbeat_port"], s.settings.interval_s, s.settings.missed_count)
            await s.store.set_local("heartbeat", s.settings.as_dict())
        await self._store(Partner(address=address, host=host, cert_pem=body["certificate"]))
        return {"certificate": self.identity.cert_pem}

    def _stale_trust_of(self, cert_pem: str) -> bool:
        """The same partner asks for trust again: it deleted its side (Method 2) while
        this server was stopped.  Only while this server does not hear that partner's
        heartbeats: a partner that still heartbeats has not deleted anything."""
        s = self.state
        return bool(
            s.partner
            and cert_pem.strip() == s.partner.cert_pem.strip()
            and (s.missed_now > 0 or s.partner_view is None or s.ha != HAState.CONFIGURED or s.suspended)
        )

    async def _reset_after_partner_reset(self) -> None:
        s = self.state
        self.roles.cancel_transition()
        await self.forget()
        s.set_awaiting_repair(False)
        s.synchronized = False
        s.missed_now = 0
        await s.set_standalone(False)
        self.roles.set_role(role_by_license(s.designation()), "trust replaced by the partner")

    async def _store(self, partner: Partner) -> None:
        s = self.state
        s.partner = partner
        s.ha = HAState.TRUSTED
        await s.store.set_local("partner", partner.to_json())
        await s.store.set_local("ha", s.ha.value)
        await self.peer.start(partner.cert_pem, partner.host, s.settings.port)
        log.warning(
            "HA partner %s trusted (certificate %s...)", partner.address, inspect(partner.cert_pem).fingerprint[:16]
        )
        s.kick()  # the HA Configuration tab shows at once whether the partner answers

    async def delete(self, password: str) -> str:
        """HA Security, Delete: needs the partner's password, removes the pins on both."""
        s = self.state
        if s.ha == HAState.CONFIGURED or s.role == Role.TRANSITIONING:
            raise conflict("unconfigure HA and wait for the reconfiguration before deleting the trust")
        if s.partner is None:
            raise conflict("there is no trust to delete")
        async with ApiClient(s.partner.address, timeout_s=self._deadlines.silence_s()) as client:
            try:
                reply = await client.post(
                    "/api/v1/ha/trust/remove",
                    {"username": "ipicsadmin", "password": password, "certificate": self.identity.cert_pem},
                )
            except Unreachable:
                raise ApiError(
                    502,
                    "partner_unreachable",
                    "the partner does not answer: the trust certificates cannot be removed there; "
                    "start it, or stop only its IPICS services (service ipics stop)",
                ) from None
        if reply.status == 503:
            # Method 2: the secondary is stopped (service ipics stop) while the primary
            # deletes its trust.  Delete here; the partner forgets this server when it is
            # configured again (a new trust from the same primary replaces the old one).
            await self.forget()
            return (
                "the partner does not answer: the trust was deleted on this server only; the partner "
                "drops it when HA is configured again"
            )
        if reply.status == 401:
            raise ApiError(401, "partner_password_wrong", "the partner refused the password; nothing was deleted")
        if not reply.ok:
            raise ApiError(502, "partner_refused", f"the partner refused: {partner_message(reply.body)}")
        await self.forget()
        return "the trust certificates were deleted on both servers"

    async def remove(self, body: dict[str, Any], client: str) -> None:
        """Partner side of Delete."""
        s = self.state
        # The certificate first: a stranger learns nothing about the password here.
        if s.partner is None or body["certificate"].strip() != s.partner.cert_pem.strip():
            raise ApiError(403, "forbidden", "only the trusted partner may delete the trust")
        if body["username"] != "ipicsadmin" or not await self._verify_password("ipicsadmin", body["password"], client):
            raise ApiError(401, "unauthorized", "wrong ipicsadmin user name or password")
        if s.ha == HAState.CONFIGURED:
            raise conflict("HA is configured here; unconfigure it first")
        await self.forget()

    async def forget(self) -> None:
        s = self.state
        await self.peer.stop()
        s.partner = None
        s.partner_view = None
        s.ha = HAState.UNCONFIGURED
        await s.store.set_local("partner", None)
        await s.store.set_local("ha", s.ha.value)
        log.warning("HA trust deleted; certificates removed")
