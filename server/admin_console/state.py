"""What the High Availability tabs show and which buttons they enable.

One function of the server's state, used for the first render of a page and for the
script that keeps it current, so the two never disagree.  The engine stays the
authority: a button shown enabled may still be refused, with the engine's sentence.
"""

from __future__ import annotations

from typing import Any

from ..core.roles import HAState, Role, ServerDesignation, StandbyServerStatus
from ..modes_text import (
    SYNCHRONOUS_STATE_KIND,
    synchronous_policy_words,
    synchronous_words,
    vote_outcome,
    vote_words,
    witness_holder_words,
    witness_lease_words,
    witness_reach_words,
)

ROLE_WORDS = {
    Role.ACTIVE: "Active",
    Role.STANDBY: "Standby",
    Role.STANDALONE: "Standalone",
    Role.TRANSITIONING: "Transitioning",
}


#: the witness's last votes the tabs list
VOTES_SHOWN = 5


#: said beside Configure before it is clicked (core.records.merge_on_configure)
CONFIGURE_NOTE = (
    "both servers' data is merged, the newer copy of each record kept; your account, "
    "ipicsadmin and informix keep this server's passwords on both servers: log in again "
    "with the password you used here"
)


def _action(enabled: bool, why: str, note: str = "") -> dict[str, Any]:
    """A button: enabled (with a note the page shows beside it), or disabled with the
    reason shown there instead."""
    return {"enabled": enabled, "why": note if enabled else why}


async def ha_tabs(server) -> dict[str, Any]:
    """The HA Security and HA Configuration tabs of ``server`` (an ``IpicsServer``)."""
    engine = server.engine
    st = await engine.status()
    partner = engine.partner.address if engine.partner else None
    designation = st["server"]
    # Each server's role as this one knows it: the chapter has the administrator verify
    # "the primary server is in active state and the secondary server is in standby state".
    own_role = ROLE_WORDS[engine.role]
    partner_role = ROLE_WORDS[Role(st["partner_role"])] if st["partner_role"] else "not answering" if partner else None
    primary: str | None
    secondary: str | None
    primary_role: str | None
    secondary_role: str | None
    if designation == ServerDesignation.PRIMARY.value:
        primary, secondary = engine.address, partner
        primary_role, secondary_role = own_role, partner_role
    elif designation == ServerDesignation.SECONDARY.value:
        primary, secondary = partner, engine.address
        primary_role, secondary_role = partner_role, own_role
    else:
        primary = secondary = primary_role = secondary_role = None
    trusted = engine.partner is not None
    configured = engine.ha == HAState.CONFIGURED
    role = engine.role
    transitioning = role == Role.TRANSITIONING
    ready = engine.standby_server_status == StandbyServerStatus.READY
    tomcat = server.services.running("tomcat")
    return {
        "server": designation,
        "address": engine.address,
        "role": role.value,
        "role_word": ROLE_WORDS[role],
        "active": engine.active_address(),
        "serving": engine.accepts_writes,
        "tomcat": tomcat,
        "trusted": trusted,
        "server_status": "Trusted" if trusted else "Not Trusted",
        "partner": partner,
        "partner_role": st["partner_role"],
        "primary_address": primary,
        "secondary_address": secondary,
        "primary_role": primary_role,
        "secondary_role": secondary_role,
        "ha": engine.ha.value,
        "ha_word": {
            HAState.UNCONFIGURED: "Not configured",
            HAState.TRUSTED: "Not configured (partner trusted)",
            HAState.CONFIGURED: "Configured",
        }[engine.ha],
        "heartbeat": engine.settings.as_dict(),
        "standby_server_status": st["standby_server_status"],
        "split_brain": engine.in_split_brain,
        "transition": st["transition"],
        "messages": st["messages"][-3:],
        **modes_fields(st),
        "actions": {
            "save": _action(not trusted, "trust with a partner already exists; delete it first"),
            # The page enables Delete once the partner's password is typed, as well.
            "delete": _action(
                trusted and not configured and not transitioning,
                "no trust to delete"
                if not trusted
                else "unconfigure HA and wait for the reconfiguration before deleting the trust",
            ),
            "update": _action(
                trusted and not transitioning,
                "wait for the reconfiguration to finish" if trusted else "establish trust with the partner first",
            ),
            "configure": _action(
                engine.ha == HAState.TRUSTED and not transitioning and designation == ServerDesignation.PRIMARY.value,
                "HA is configured"
                if configured
                else "wait for the reconfiguration to finish"
                if transitioning
                else "configure HA on the primary server",
                CONFIGURE_NOTE,
            ),
            "unconfigure": _action(
                configured and role == Role.ACTIVE,
                "HA is not configured" if not configured else "unconfigure HA from the active server",
            ),
            "failover": _action(
                configured and role == Role.ACTIVE and ready,
                "HA is not configured"
                if not configured
                else "Failover Now is done on the active server"
                if role != Role.ACTIVE
                else "the Standby Server Status is Not Ready",
            ),
            "go_standby": _action(
                engine.in_split_brain,
                "enabled only when both servers are active and communicating again",
                "the chapter does this on the secondary server; this is the primary"
                if designation == ServerDesignation.PRIMARY.value
                else "",
            ),
        },
    }


def modes_fields(st: dict[str, Any]) -> dict[str, Any]:
    """The modes beyond IPICS as the tabs show them, flat so the script keeps each
    element current by its ``data-field``; ``synchronous`` and ``witness`` say whether
    the pair runs them (the pages show their sections only then)."""
    sync, witness, server = st["synchronous"], st["witness"], st["server"]
    fields: dict[str, Any] = {"modes_label": st["modes"]["label"], "synchronous": sync is not None}
    if sync is not None:
        fields |= {
            "synchronous_state": sync["state"],
            "synchronous_kind": SYNCHRONOUS_STATE_KIND.get(sync["state"], ""),
            "synchronous_words": synchronous_words(sync),
            "synchronous_policy": synchronous_policy_words(sync),
            "writes_refused": sync["writes_refused"],
        }
    fields["witness"] = witness is not None
    if witness is not None:
        fields |= {
            "witness_address": witness["address"],
            "witness_reachable": witness_reach_words(witness),
            "witness_holder": witness_holder_words(witness, server),
            "witness_lease": witness_lease_words(witness),
            # newest first, as the messages
            "witness_votes": [
                {"at": v["at"], "outcome": vote_outcome(v), "text": vote_words(v, server)}
                for v in reversed(witness["votes"][-VOTES_SHOWN:])
            ],
        }
    return fields
