"""The server's side of push-to-talk tickets: who gets one, naming which talk groups.

A user's talk groups are what the API lists for him: his channels and his VTGs
(``DataService.channels_for`` and ``vtgs_for``), so a console can talk on every row
it shows and on nothing else.  The server's own link to the router (phones and
telephones, which cannot talk to the router themselves) holds a service ticket to
listen, and tickets it issues for the users it authenticated by their PIN.

``affected_users`` reads a data change: the users who may have lost a talk group by
it, whose current tickets the link sends to the router as a revocation ("supersede").
Additions need no push: the holder's next ticket names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import ticket as tickets
from .protocol import ProtocolError, validate_who

if TYPE_CHECKING:
    from ..data import DataService

#: every user: a change whose victims are not known from the event alone
EVERYONE = None


@dataclass(frozen=True)
class Issued:
    ticket: str
    claims: tickets.Claims


class TooManyTalkGroups(ValueError):
    pass


class TicketIssuer:
    """Issues tickets signed with ``key`` under this server's ``name``."""

    def __init__(self, key: bytes, data: DataService, name: str):
        self._key, self.data, self.name = key, data, name
        try:  # the listening connection's name: only in the router's log
            self._service_name = validate_who(f"ipics-server {name}", op=None)
        except ProtocolError:
            self._service_name = "ipics-server"

    async def talk_groups(self, user: dict) -> list[str]:
        return [c["id"] for c in await self.data.channels_for(user)] + [v["id"] for v in await self.data.vtgs_for(user)]

    async def for_user(self, user: dict) -> Issued:
        """``user``: a session's or a user record's ``username`` and ``role``.
        ``TooManyTalkGroups`` if they do not fit in a ticket."""
        groups = await self.talk_groups(user)
        if len(groups) > tickets.MAX_TICKET_GROUPS:
            raise TooManyTalkGroups(
                f"{user['username']} has {len(groups)} channels and VTGs: a push-to-talk "
                f"ticket names at most {tickets.MAX_TICKET_GROUPS}"
            )
        ticket = tickets.issue(self._key, user["username"], groups, issuer=self.name)
        return Issued(ticket, tickets.peek(ticket))

    async def for_username(self, username: str) -> str:
        """The ticket of a user the server authenticated itself (a phone's or a
        telephone's PIN); a user no longer there gets one with no talk group."""
        record = await self.data.store.get("users", username)
        if record is None or record.deleted:
            return tickets.issue(self._key, username, [], issuer=self.name)
        return (await self.for_user(record.live_value)).ticket

    def for_service(self) -> str:
        """The server's listening connection: any group, never the floor."""
        return tickets.issue(self._key, self._service_name, [], kind=tickets.SERVICE, issuer=self.name)

    async def usernames(self) -> list[str]:
        return [u["username"] for u in await self.data.users()]


def affected_users(event: dict[str, Any]) -> set[str] | None:
    """The users who may have lost a talk group by this data change (an event of the
    server's bus); ``EVERYONE`` when the event does not say whom; an empty set when no
    one lost anything."""
    if event.get("type") != "record":
        return set()
    table, key, gone = event.get("table"), str(event.get("key", "")), bool(event.get("deleted"))
    if table == "assignments" and gone:
        return {key.split(":", 1)[1]} if ":" in key else EVERYONE
    if (table == "channels" and gone) or table == "vtgs":  # a VTG's members may have changed
        return EVERYONE
    return set()
