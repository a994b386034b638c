"""The transaction log's fill level on the active: 75 %, 90 % (HA unconfigured
automatically), 100 % (DDRBLOCK, with the lab's safeguard off).

The thresholds and their messages are pure, in ``core.txlog``.

Chapter: Reestablishing HA Configuration After Prolonged Server Downtime.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.roles import HAState, Role
from ..core.txlog import MESSAGES as TXLOG_MESSAGES
from ..core.txlog import LogState, log_state
from ..core.txlog import percent as txlog_percent
from .node import NodeState

_LEVEL = {LogState.NORMAL: 0, LogState.WARNING: 1, LogState.CRITICAL: 2, LogState.DDRBLOCK: 3}


class TransactionLogWatch:
    """Acts on the transaction log's fill level: the messages, the automatic unconfigure."""

    def __init__(self, state: NodeState, *, set_role: Callable[[Role, str], None]):
        self.state = state
        self._set_role = set_role
        self.held = 0

    async def check(self) -> None:
        """Prolonged downtime: act on the transaction log's fill level (75/90/100 %)."""
        s = self.state
        if s.ha != HAState.CONFIGURED or s.role != Role.ACTIVE:
            held = 0
        else:
            held, _ = await s.store.log_stats()
        self.held = held
        state = log_state(held, s.capacity)
        # Witness mode: no automatic unconfigure.  This server would serve alone while
        # its partner, the link between them cut, assumes the active role with the
        # witness's vote: two servers taking writes, what the witness is there to stop.
        safeguard = s.txlog_safeguard and not s.cfg.modes.witness
        if state == LogState.DDRBLOCK and safeguard and s.ha == HAState.CONFIGURED:
            state = LogState.CRITICAL  # the safeguard acts at 90 %; it never gets to a block
        previous, s.txlog_state = s.txlog_state, state
        if state == previous:
            return
        pct = txlog_percent(held, s.capacity)
        if _LEVEL[state] > _LEVEL[previous]:  # a threshold crossed on the way up
            if state == LogState.CRITICAL and not safeguard:
                why = (
                    "is not done in witness mode (the standby would assume the active role with the "
                    "witness's vote while this server serves alone)"
                    if s.txlog_safeguard
                    else "is switched off in the lab"
                )
                s.message(
                    "error",
                    f"database transaction log at {pct:.0f}% of capacity (90% threshold); "
                    f"the automatic HA unconfigure {why}: at 100% "
                    "every database update will be blocked (DDRBLOCK)",
                )
            else:
                s.message("error", TXLOG_MESSAGES[state].format(p=pct))
        elif previous == LogState.DDRBLOCK:
            s.message("warning", "DDRBLOCK cleared: the transaction log has room again; database updates are accepted")
        if state == LogState.CRITICAL and safeguard and s.ha == HAState.CONFIGURED and s.role == Role.ACTIVE:
            await self.auto_unconfigure()

    async def auto_unconfigure(self, reason: str = "transaction log at 90% of capacity") -> None:
        """At 90 %: unconfigure HA so the log never blocks; the active keeps serving."""
        s = self.state
        s.ha = HAState.TRUSTED if s.partner else HAState.UNCONFIGURED
        s.serving_alone = True
        await s.store.set_local("serving_alone", True)
        await s.store.set_local("ha", s.ha.value)
        await s.store.trim_log(10**18)
        await s.set_standalone(True)
        self._set_role(Role.STANDALONE, f"HA unconfigured automatically: {reason}")
        self.held, s.txlog_state = 0, LogState.NORMAL
