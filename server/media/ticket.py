"""Push-to-talk tickets: what lets a device into the media router.

An IPICS server issues a ticket to a user it authenticated (``POST /api/v1/media/ticket``
for a console; its own link for the phones and telephones it serves); the router checks
it without asking any server, so push-to-talk keeps working while the servers fail
over.  A ticket names the user (the router stamps the audio with this name, never with
one a device gives), the talk groups the user has (channel and VTG ids), when it was
issued and when it expires, in real Unix seconds: a ticket protects real people, and
both servers and the router read the same wall clock whatever their time scale or
emulated NTP offset::

    ipt1.<payload: base64url of the JSON claims>.<base64url of HMAC-SHA256("ipt1.<payload>")>

The claims: ``sub`` (the user), ``kind`` (``user``, or ``service`` for a server's own
listening connection, which may join any group but never talk), ``groups``, ``iat``,
``exp`` and ``iss`` (the issuing server's name, for the router's log).

Why HMAC with one key shared by both servers and the router: the router verifies
offline in microseconds with the standard library, and both servers must issue tickets
the router accepts, so a failover does not cut push-to-talk.  A public-key signature
(Ed25519) would keep the router from minting tickets, but the router already carries
every talk group's audio: a forger on its host gains nothing it does not have.  The
key is 32 random bytes, hex, in a file only its owner may read (``load_key`` refuses
any other), given to each process by path; it is never on a command line or in a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeGuard

from ..adapters import secret_files
from .protocol import MAX_TICKET_BYTES, ProtocolError, validate_group, validate_who

PREFIX = "ipt1"
USER, SERVICE = "user", "service"
KEY_BYTES = 32
#: where the lab keeps the key shared by its servers and its router
KEY_FILE_NAME = "media-ticket.key"
#: real seconds a server's ticket is valid: longer than a failover at the chapter's
#: default heartbeat settings (5 x 15 s + 150-180 s) with room to spare, since a
#: console cannot get a new one while no server is active
TICKET_LIFETIME_S = 30 * 60.0
#: real seconds after which a holder asks the active server for a fresh ticket: a
#: failover that starts just before the next refresh still has 3/4 of the lifetime
REFRESH_AFTER_S = TICKET_LIFETIME_S / 4
#: the router refuses tickets claiming a longer life (and forgets a revocation after it)
MAX_TICKET_LIFETIME_S = 24 * 3600.0
#: a ticket issued this far in the future (clocks of two hosts apart) is still accepted
CLOCK_LEEWAY_S = 30.0
#: the talk groups one ticket may name: it must fit in one control message
MAX_TICKET_GROUPS = 256


class TicketError(ProtocolError):
    """A ticket the router does not accept: ``no_ticket``, ``bad_ticket`` or ``ticket_expired``.
    The message never repeats the ticket."""


class TicketKeyError(ValueError):
    """The key file is missing, unreadable, open to others or not a key."""


@dataclass(frozen=True, slots=True)
class Claims:
    who: str
    kind: str
    groups: frozenset[str]
    issued_at: float
    expires_at: float
    issuer: str = ""

    @property
    def service(self) -> bool:
        return self.kind == SERVICE

    def allows(self, group: str) -> bool:
        """May the holder join this talk group?  A server's listener joins any."""
        return self.service or group in self.groups

    def restricted_to(self, groups: frozenset[str]) -> Claims:
        return replace(self, groups=self.groups & groups)

    def payload(self) -> dict[str, Any]:
        return {
            "sub": self.who,
            "kind": self.kind,
            "groups": sorted(self.groups),
            "iat": self.issued_at,
            "exp": self.expires_at,
            "iss": self.issuer,
        }


# ------------------------------------------------------------------------- issue
def issue(
    key: bytes,
    who: str,
    groups: list[str] | frozenset[str] | set[str],
    *,
    kind: str = USER,
    issuer: str = "",
    now: float | None = None,
    lifetime_s: float = TICKET_LIFETIME_S,
) -> str:
    """A signed ticket.  ``ValueError`` for a name or group id the router would refuse,
    or more than ``MAX_TICKET_GROUPS`` groups."""
    validate_who(who, op=None)
    groups = frozenset(groups)
    if len(groups) > MAX_TICKET_GROUPS:
        raise ValueError(f"{who} has {len(groups)} talk groups: a ticket names at most {MAX_TICKET_GROUPS}")
    for group in groups:
        validate_group(group)
    issued = time.time() if now is None else now
    claims = Claims(who, kind, groups, issued, issued + lifetime_s, issuer)
    return sign(key, claims)


def sign(key: bytes, claims: Claims) -> str:
    body = _b64(json.dumps(claims.payload(), separators=(",", ":")).encode())
    signed = f"{PREFIX}.{body}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------------ verify
def verify(key: bytes, ticket: Any, *, now: float | None = None, op: str | None = "hello") -> Claims:
    """The claims of a ticket this key signed, unexpired; ``TicketError`` otherwise."""
    if ticket is None:
        raise TicketError(
            "no_ticket",
            'the router admits only ticket holders: send "ticket", from POST /api/v1/media/ticket on the active server',
            op=op,
        )
    signed, mac = _split(ticket, op)
    try:
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        given = b""
    if not hmac.compare_digest(given, _mac(key, signed)):
        raise TicketError("bad_ticket", "this ticket was not issued by this lab's IPICS servers", op=op)
    claims = _claims(signed, op)
    now = time.time() if now is None else now
    if claims.issued_at > now + CLOCK_LEEWAY_S:
        raise TicketError("bad_ticket", "this ticket is issued in the future: check the clocks", op=op)
    if claims.expires_at <= now:
        raise TicketError(
            "ticket_expired", f"{claims.who}'s ticket expired: get a new one from the active server", op=op
        )
    return claims


def peek(ticket: str) -> Claims:
    """The claims as written, signature unchecked: for a holder reading its own ticket
    (whose name it is, when it expires).  ``TicketError`` if it is not a ticket."""
    signed, _mac_part = _split(ticket, None)
    return _claims(signed, None)


def _split(ticket: Any, op: str | None) -> tuple[str, str]:
    if not isinstance(ticket, str) or not ticket.isascii():
        raise TicketError("bad_ticket", '"ticket" must be the string the server issued', op=op)
    if len(ticket) > MAX_TICKET_BYTES:
        raise TicketError("bad_ticket", f"a ticket is at most {MAX_TICKET_BYTES} bytes", op=op)
    parts = ticket.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TicketError("bad_ticket", f"not a push-to-talk ticket ({PREFIX}.<claims>.<signature>)", op=op)
    return f"{parts[0]}.{parts[1]}", parts[2]


def _is_unix_time(t: object) -> TypeGuard[float]:
    return isinstance(t, (int, float)) and not isinstance(t, bool)


def _claims(signed: str, op: str | None) -> Claims:
    def bad(why: str) -> TicketError:
        return TicketError("bad_ticket", f"malformed ticket: {why}", op=op)

    try:
        data = json.loads(_unb64(signed.split(".", 1)[1]))
    except (binascii.Error, ValueError, RecursionError):
        raise bad("its claims are not base64url JSON") from None
    if not isinstance(data, dict):
        raise bad("its claims are not a JSON object")
    kind, groups, issued, expires = data.get("kind"), data.get("groups"), data.get("iat"), data.get("exp")
    if kind not in (USER, SERVICE):
        raise bad(f'"kind" is {USER} or {SERVICE}')
    if not isinstance(groups, list) or len(groups) > MAX_TICKET_GROUPS:
        raise bad(f'"groups" is a list of at most {MAX_TICKET_GROUPS} talk group ids')
    if not (_is_unix_time(issued) and _is_unix_time(expires)):
        raise bad('"iat" and "exp" are Unix times')
    if not 0 < expires - issued <= MAX_TICKET_LIFETIME_S:
        raise bad(f"a ticket lives more than 0 and at most {MAX_TICKET_LIFETIME_S:g} s")
    issuer = data.get("iss", "")
    try:
        who = validate_who(data.get("sub"), op=op)
        checked = frozenset(validate_group(g, op) for g in groups)
    except ProtocolError as exc:
        raise bad(exc.message) from None
    return Claims(who, kind, checked, float(issued), float(expires), issuer if isinstance(issuer, str) else "")


# ------------------------------------------------------------------------- keys
def create_key_file(path: Path) -> Path:
    """A new random key in ``path``, readable by its owner only; an existing key file
    is kept (two processes of one lab share it)."""
    return secret_files.create_key_file(path, KEY_BYTES)


def load_key(path: Path) -> bytes:
    """The key in ``path``; ``TicketKeyError`` saying what is wrong (never its content)."""
    try:
        return secret_files.load_key(path, "the media ticket key", KEY_BYTES)
    except secret_files.KeyFileError as exc:
        raise TicketKeyError(str(exc)) from None
