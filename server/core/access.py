"""Who may see and do what through the client API: the IPICS user roles.

The roles' jobs (the Cisco IPICS guides; ``reference/ipphone-xml.md``, "IPICS roles"):
a system administrator runs servers, licenses and HA; an operator manages users and
their access (channel assignments, dial logins); a dispatcher sets up VTGs and
incidents, chooses their participants and monitors them; a user talks on the channels
and VTGs he is given and works in the incidents he takes part in.  Like the real
``ipicsadmin``, the lab's system administrator holds every role.

This module is the one place that says it: the route guard (``api/routes.py``), the
listings (``data.py``) and the pushes built from them follow it; docs/server.md shows
it as a table.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import Enum
from typing import Any


class UserRole(str, Enum):
    SYSTEM_ADMINISTRATOR = "system_administrator"
    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    USER = "user"


_ADMIN, _OPERATOR, _DISPATCHER = (
    UserRole.SYSTEM_ADMINISTRATOR.value,
    UserRole.OPERATOR.value,
    UserRole.DISPATCHER.value,
)

#: who may call a route, by the job the route belongs to (``Route.auth``)
MAY: dict[str, frozenset[str]] = {
    "admin": frozenset({_ADMIN}),  # servers, licenses, HA, lab faults
    "operator": frozenset({_ADMIN, _OPERATOR}),  # users, channels and who has them
    "dispatcher": frozenset({_ADMIN, _DISPATCHER}),  # VTGs, incidents, their participants
    "user": frozenset(r.value for r in UserRole),  # his own channels, VTGs, incidents
}

#: who sees every record of a listing; everyone else sees only what he is given
SEES_EVERY: dict[str, frozenset[str]] = {
    "channels": MAY["operator"],  # to give them to users
    "assignments": MAY["operator"],
    "vtgs": MAY["dispatcher"],  # to set them up and monitor them
    "incidents": MAY["dispatcher"],  # and the files uploaded to them
}

#: the roles a user of each role may give a new user: only a system administrator
#: makes another one (an operator who could would be one himself)
MAY_GRANT: dict[str, frozenset[str]] = {
    _ADMIN: frozenset(r.value for r in UserRole),
    _OPERATOR: frozenset(r.value for r in UserRole) - {_ADMIN},
}

User = Mapping[str, Any]


def sees_every(user: User, listing: str) -> bool:
    return user["role"] in SEES_EVERY[listing]


def sees_channel(user: User, channel_id: str, assigned: Collection[str]) -> bool:
    """``assigned``: the ids of the channels assigned to this user."""
    return sees_every(user, "channels") or channel_id in assigned


def sees_vtg(user: User, vtg: Mapping[str, Any]) -> bool:
    return sees_every(user, "vtgs") or user["username"] in vtg["members"]


def sees_incident(user: User, incident: Mapping[str, Any]) -> bool:
    """An incident and every file uploaded to it: listing, reading, uploading, downloading."""
    return sees_every(user, "incidents") or user["username"] in incident["participants"]


def may_grant(user: User, role: str) -> bool:
    return role in MAY_GRANT.get(user["role"], frozenset())
