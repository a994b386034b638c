"""Request bodies.  Strict: wrong types and unknown fields are refused, never coerced."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..core.access import UserRole
from ..core.ha_config import (
    HEARTBEAT_INTERVAL_DEFAULT_S,
    HEARTBEAT_INTERVAL_RANGE_S,
    HEARTBEAT_PORT_DEFAULT,
    HEARTBEAT_PORT_RANGE,
    MISSED_HEARTBEAT_COUNT_DEFAULT,
    MISSED_HEARTBEAT_COUNT_RANGE,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Login(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Password


class NewUser(Body):
    username: Username
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    role: Literal["system_administrator", "operator", "dispatcher", "user"] = UserRole.USER.value
    full_name: Annotated[str, StringConstraints(max_length=100)] = ""


class DialLogin(Body):
    """Numeric, as a phone keypad or telephone tones enter them."""

    user_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")]
    pin: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,10}$")]


class DialOut(Body):
    number: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,15}$")]


class NewChannel(Body):
    name: Name
    description: Text = ""


class Assignment(Body):
    username: Username


class NewVtg(Body):
    name: Name
    channels: Annotated[list[Id], Field(max_length=100)] = []
    members: Annotated[list[Username], Field(max_length=1000)] = []


class NewIncident(Body):
    name: Name
    description: Text = ""
    participants: Annotated[list[Username], Field(max_length=1000)] = []


class Participants(Body):
    participants: Annotated[list[Username], Field(max_length=1000)]


class Ntp(Body):
    servers: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:-]{1,255}$")]], Field(min_length=1, max_length=2)
    ]


class Trust(Body):
    """HA Security tab: the partner's address and its ipicsadmin password."""

    partner_address: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    username: Literal["ipicsadmin"] = "ipicsadmin"
    password: Password


class TrustExchange(Body):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Password
    certificate: Annotated[str, StringConstraints(max_length=20000)]
    address: Annotated[str, StringConstraints(max_length=255)]
    heartbeat_port: int | None = None


class TrustDelete(Body):
    password: Password


class TrustRemove(Body):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Password
    certificate: Annotated[str, StringConstraints(max_length=20000)]


def documented_range(bounds: tuple[int, int]):
    """The chapter's range in the OpenAPI document; the core checks it, so the refusal
    names the field and the range in the chapter's words (``core.ha_config``)."""
    low, high = bounds
    return Field(json_schema_extra={"minimum": low, "maximum": high})


class HeartbeatSettingsBody(Body):
    """HA Configuration tab."""

    port: Annotated[int, documented_range(HEARTBEAT_PORT_RANGE)] = HEARTBEAT_PORT_DEFAULT
    interval_s: Annotated[int, documented_range(HEARTBEAT_INTERVAL_RANGE_S)] = HEARTBEAT_INTERVAL_DEFAULT_S
    missed_count: Annotated[int, documented_range(MISSED_HEARTBEAT_COUNT_RANGE)] = MISSED_HEARTBEAT_COUNT_DEFAULT


class Fault(Body):
    fault: Literal[
        "power-off", "crash-service", "cut-link", "heal-link", "clock-offset", "txlog-capacity", "txlog-safeguard"
    ]
    service: Literal["tomcat", "ipics_nm", "database"] | None = None
    direction: Literal["both", "outbound", "inbound"] | None = None
    seconds: Annotated[float, Field(ge=-10 * 365 * 86400, le=10 * 365 * 86400)] | None = None
    capacity: Annotated[int, Field(ge=10, le=10_000_000)] | None = None
    enabled: bool | None = None


class TimeScale(Body):
    """The trainer's time-scale control: real seconds per emulated second, from the real
    Unix time ``at`` on (default: now).  The lab tells both servers the same ``at``."""

    time_scale: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
    at: Annotated[float, Field(allow_inf_nan=False)] | None = None


class License(Body):
    content: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
