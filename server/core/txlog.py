"""The transaction log's fill level and what the chapter does at each threshold.

Chapter, Reestablishing HA Configuration After Prolonged Server Downtime: an error
message at 75 % of capacity, another at 90 % when HA is also unconfigured
automatically; at 100 % (only reachable with that safeguard off) the DDRBLOCK state
blocks every database update until cleared.
"""

from __future__ import annotations

from enum import Enum

WARN_PERCENT = 75.0
UNCONFIGURE_PERCENT = 90.0
BLOCK_PERCENT = 100.0


class LogState(str, Enum):
    NORMAL = "normal"
    WARNING = "warning"  # at or above 75 %
    CRITICAL = "critical"  # at or above 90 %
    DDRBLOCK = "DDRBLOCK"  # full: updates blocked


def percent(held: int, capacity: int) -> float:
    return 100.0 * held / capacity


def log_state(held: int, capacity: int) -> LogState:
    p = percent(held, capacity)
    if p >= BLOCK_PERCENT:
        return LogState.DDRBLOCK
    if p >= UNCONFIGURE_PERCENT:
        return LogState.CRITICAL
    if p >= WARN_PERCENT:
        return LogState.WARNING
    return LogState.NORMAL


MESSAGES = {
    LogState.WARNING: "database transaction log at {p:.0f}% of capacity (75% threshold): the partner "
    "server has been down a long time; bring it back or unconfigure HA",
    LogState.CRITICAL: "database transaction log at {p:.0f}% of capacity (90% threshold): HA is "
    "unconfigured automatically to prevent a DDRBLOCK; reconfigure HA on the active "
    "server when the partner is back",
    LogState.DDRBLOCK: "database transaction log full (100%): DDRBLOCK state, every database update is "
    "blocked until the log is cleared (partner back and caught up, or HA unconfigured)",
}
