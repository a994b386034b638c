"""HA Configuration tab values, their ranges, and the supported pairs of versions.

Chapter, Configuring Cisco IPICS Servers for HA, Step 8: Heartbeat Port (default 3444),
Heartbeat Interval between 5 and 600 seconds (default 15), Missed Heartbeat Count
from 5 to 30 (default 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

HEARTBEAT_PORT_DEFAULT = 3444
HEARTBEAT_PORT_RANGE = (1, 65535)
HEARTBEAT_INTERVAL_DEFAULT_S = 15
HEARTBEAT_INTERVAL_RANGE_S = (5, 600)
MISSED_HEARTBEAT_COUNT_DEFAULT = 5
MISSED_HEARTBEAT_COUNT_RANGE = (5, 30)


class ConfigurationError(ValueError):
    pass


#: each setting's label (as the HA Configuration tab names it) and range
_FIELDS = {
    "port": ("Heartbeat Port", HEARTBEAT_PORT_RANGE),
    "interval_s": ("Heartbeat Interval (seconds)", HEARTBEAT_INTERVAL_RANGE_S),
    "missed_count": ("Missed Heartbeat Count", MISSED_HEARTBEAT_COUNT_RANGE),
}


@dataclass(frozen=True)
class HeartbeatSettings:
    port: int = HEARTBEAT_PORT_DEFAULT
    interval_s: int = HEARTBEAT_INTERVAL_DEFAULT_S
    missed_count: int = MISSED_HEARTBEAT_COUNT_DEFAULT

    def __post_init__(self) -> None:
        for name, (label, bounds) in _FIELDS.items():
            _check(label, getattr(self, name), bounds)

    @classmethod
    def checked(cls, values: Mapping[str, object]) -> HeartbeatSettings:
        """Settings from values not known to be numbers (a form's fields, the text typed
        where it is not a whole number): ``ConfigurationError`` names the first wrong
        one and its range, as the constructor does."""
        port, interval_s, missed_count = (
            _check(label, values[name], bounds) for name, (label, bounds) in _FIELDS.items()
        )
        return cls(port, interval_s, missed_count)

    @property
    def failover_window_s(self) -> int:
        """How long the standby waits before assuming the active role (75 s by default)."""
        return self.interval_s * self.missed_count

    def as_dict(self) -> dict:
        return {"port": self.port, "interval_s": self.interval_s, "missed_count": self.missed_count}


def _check(name: str, value: object, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be from {low} to {high}; {value} is out of range")
    return value


# The lab's Cisco IPICS Compatibility Matrix: (primary version, secondary version).
SUPPORTED_HA_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("4.10(1)", "4.10(1)"),
        ("5.0(1)", "5.0(1)"),
        ("5.0(1)", "5.0(1a)"),
        ("5.0(1a)", "5.0(1)"),
        ("5.0(1a)", "5.0(1a)"),
    }
)
SOFTWARE_VERSION_DEFAULT = "5.0(1)"


def check_supported_pair(primary_version: str, secondary_version: str) -> None:
    if (primary_version, secondary_version) not in SUPPORTED_HA_PAIRS:
        raise ConfigurationError(
            f"primary {primary_version} with secondary {secondary_version} is not a supported "
            "HA configuration (see the Cisco IPICS Compatibility Matrix)"
        )
