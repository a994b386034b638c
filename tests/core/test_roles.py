"""The reconcile decision and the transition table, as tables."""

import pytest

from ipics_server.core.roles import (
    Action,
    HAState,
    Observations,
    Role,
    ServerDesignation,
    TransitionError,
    boot_role,
    check_transition,
    decide,
)

P, S = ServerDesignation.PRIMARY, ServerDesignation.SECONDARY


def obs(**kw):
    base = dict(
        server=S,
        role=Role.STANDBY,
        ha=HAState.CONFIGURED,
        missed_now=0,
        missed_count=5,
        partner_role=Role.ACTIVE,
        synchronized=True,
        transition_due=False,
    )
    base.update(kw)
    return Observations(**base)


@pytest.mark.parametrize(
    "o, action, words",
    [
        (obs(), Action.NONE, "partner healthy"),
        (obs(missed_now=4, partner_role=None), Action.NONE, "4 of 5"),
        (obs(missed_now=5, partner_role=None), Action.BEGIN_TAKEOVER, "5 heartbeats missed"),
        (obs(missed_now=30, missed_count=30, partner_role=None), Action.BEGIN_TAKEOVER, "limit 30"),
        (obs(missed_now=29, missed_count=30, partner_role=None), Action.NONE, "29 of 30"),
        (obs(synchronized=False), Action.REQUEST_SYNC, "synchronizing"),
        (
            obs(server=P, partner_role=Role.STANDBY, synchronized=False),
            Action.BEGIN_TAKEOVER,
            "both servers are standby",
        ),
        # The active rebooted quickly and came back as standby: the Ready standby takes over.
        (obs(server=P, partner_role=Role.STANDBY, synchronized=True), Action.BEGIN_TAKEOVER, "holds the active's data"),
        (obs(server=S, partner_role=Role.STANDBY, synchronized=True), Action.BEGIN_TAKEOVER, "holds the active's data"),
        (
            obs(server=S, partner_role=Role.STANDBY, synchronized=True, partner_ready=True),
            Action.NONE,
            "partner is standby",
        ),
        (
            obs(server=P, partner_role=Role.STANDBY, synchronized=False, partner_ready=True),
            Action.NONE,
            "partner is standby",
        ),
        (obs(server=S, partner_role=Role.STANDBY, synchronized=False), Action.NONE, "partner is standby"),
        # Just handed the active role over (a crashed tomcat): a heartbeat from before the
        # takeover still shows the partner standby and not Ready; no taking the role back.
        (
            obs(server=P, partner_role=Role.STANDBY, synchronized=False, handed_over=True),
            Action.NONE,
            "waiting for the partner to take it",
        ),
        (
            obs(server=S, partner_role=Role.STANDBY, synchronized=True, handed_over=True),
            Action.NONE,
            "waiting for the partner to take it",
        ),
        # ...but the partner going silent meanwhile is a failure like any other.
        (
            obs(server=P, partner_role=None, missed_now=5, handed_over=True),
            Action.BEGIN_TAKEOVER,
            "5 heartbeats missed",
        ),
        (obs(role=Role.ACTIVE, server=P, partner_role=None, missed_now=9), Action.NONE, "transaction log"),
        (
            obs(
                role=Role.ACTIVE,
                server=P,
                partner_role=Role.STANDBY,
                failed_critical_service="tomcat",
                partner_ready=True,
            ),
            Action.HAND_OVER,
            "critical process tomcat failed",
        ),
        (
            obs(
                role=Role.ACTIVE,
                server=P,
                partner_role=Role.STANDBY,
                failed_critical_service="tomcat",
                partner_ready=False,
            ),
            Action.NONE,
            "not ready",
        ),
        (
            obs(role=Role.ACTIVE, server=P, partner_role=None, failed_critical_service="database"),
            Action.NONE,
            "not ready and reachable",
        ),
        (obs(role=Role.ACTIVE, server=P, partner_role=Role.ACTIVE), Action.NONE, "split brain"),
        (obs(role=Role.ACTIVE, server=P, partner_role=Role.STANDBY, partner_ready=False), Action.NONE, "Not Ready"),
        (
            obs(role=Role.ACTIVE, server=P, partner_role=Role.STANDBY, partner_ready=True),
            Action.NONE,
            "partner healthy",
        ),
        # After Go Standby the standby keeps its data for REPAIR: no adoption.
        (obs(synchronized=False, awaiting_repair=True), Action.NONE, "waiting for ipicsedr_control_repl REPAIR"),
        (obs(awaiting_repair=True, missed_now=5, partner_role=None), Action.BEGIN_TAKEOVER, "5 heartbeats missed"),
        (obs(role=Role.TRANSITIONING, transition_due=False, partner_role=None), Action.NONE, "under way"),
        (obs(role=Role.TRANSITIONING, transition_due=True), Action.FINISH_TRANSITION, "time is up"),
        (obs(ha=HAState.TRUSTED, missed_now=99, partner_role=None), Action.NONE, "HA is trusted"),
        (obs(ha=HAState.UNCONFIGURED, missed_now=99, partner_role=None), Action.NONE, "HA is unconfigured"),
    ],
)
def test_decide(o, action, words):
    d = decide(o)
    assert d.action == action
    assert words in d.reason


@pytest.mark.parametrize(
    "frm, to, ok",
    [
        (Role.STANDBY, Role.TRANSITIONING, True),
        (Role.TRANSITIONING, Role.ACTIVE, True),
        (Role.ACTIVE, Role.STANDBY, True),
        (Role.TRANSITIONING, Role.STANDALONE, True),
        (Role.STANDALONE, Role.ACTIVE, True),
        (Role.ACTIVE, Role.STANDALONE, True),
        (Role.STANDBY, Role.STANDALONE, False),
        (Role.ACTIVE, Role.ACTIVE, True),
    ],
)
def test_transitions(frm, to, ok):
    if ok:
        check_transition(frm, to)
    else:
        with pytest.raises(TransitionError):
            check_transition(frm, to)


@pytest.mark.parametrize(
    "ha, standalone, server, role",
    [
        # Defining the Active and Standby Servers: the licenses decide the first role.
        (HAState.UNCONFIGURED, False, P, Role.ACTIVE),
        (HAState.UNCONFIGURED, False, S, Role.STANDBY),
        (HAState.UNCONFIGURED, False, None, Role.STANDALONE),
        (HAState.TRUSTED, False, P, Role.ACTIVE),
        # Unconfigured (by hand or at 90 % of the transaction log): standalone after a reboot.
        (HAState.TRUSTED, True, P, Role.STANDALONE),
        (HAState.UNCONFIGURED, True, S, Role.STANDALONE),
        # No failback: a configured server always comes back as the standby.
        (HAState.CONFIGURED, False, P, Role.STANDBY),
        (HAState.CONFIGURED, True, P, Role.STANDBY),
    ],
)
def test_boot_role(ha, standalone, server, role):
    assert boot_role(ha, standalone, server) == role
