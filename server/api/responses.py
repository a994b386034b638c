"""What each operation of the client API answers: its success status and the shape of
its body (pydantic models, for the OpenAPI document only), and the refusals that only
that operation gives.  The refusals every route of a kind gives (no token, not the
active server, a bad body, ...) follow from the route table; ``routes.guard_refusals``
derives them.

The models describe the dicts the views already return; the document declares them
with ``additionalProperties: false``, so the API conformance check
(tests/pair/test_api_conformance.py) catches a field that the document does not name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: the default of a field a response may leave out (never sent as null)
OMITTED: Any = None

Role = Literal["active", "standby", "standalone", "transitioning"]
Designation = Literal["primary", "secondary"]
HA = Literal["unconfigured", "trusted", "configured"]
StandbyStatus = Literal["Ready", "Not Ready"]
UserRole = Literal["system_administrator", "operator", "dispatcher", "user"]


class Reply(BaseModel):
    # Attribute docstrings become the fields' descriptions in the document.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# ----------------------------------------------------------------- status, health
class HeartbeatSettings(Reply):
    port: int
    interval_s: int
    missed_count: int


class HeartbeatStatus(HeartbeatSettings):
    missed_now: int
    sent: int
    missed_total: int
    next_in_s: float | None


class Replication(Reply):
    pending: int
    transaction_log_used_percent: float
    transaction_log_capacity: int
    transaction_log_state: Literal["normal", "warning", "critical", "DDRBLOCK"]
    transaction_log_safeguard: bool
    last_seq: int
    acked_seq: int
    applied: tuple[str, int] | None
    """On the standby: the active's log position applied here, as [epoch, sequence]."""
    synchronized: bool | None


class SplitBrain(Reply):
    since: float
    duration_s: float
    duration: str
    recommended_method: int
    recommendation: str
    go_standby_on: Designation


class RepairProcess(Reply):
    table: str
    state: Literal["pending", "running", "failed", "done"]
    started_at: float | None


class RepairSummary(Reply):
    finished_at: float
    copied_to_active: int
    copied_to_standby: int
    replaced_on_standby: int
    failed: list[str]


class Repair(Reply):
    running: bool
    pending: list[RepairProcess]
    last: RepairSummary | None
    rsync_running: bool
    on: Literal["partner"] = OMITTED
    """The partner's REPAIR (it runs on the active), shown while it runs."""


class Message(Reply):
    at: float
    level: Literal["warning", "error", "info"]
    text: str


class Transition(Reply):
    to: Role
    remaining_s: float
    reason: str


class PeerLink(Reply):
    error: str | None
    cut_inbound: bool
    cut_outbound: bool


class Modes(Reply):
    """The modes the server was started with (IPICS: asynchronous, no witness)."""

    label: str
    """IPICS, or for example "synchronous (strict) + witness"."""
    replication: Literal["async", "synchronous"]
    synchronous_policy: Literal["strict", "fallback"] | None
    synchronous_fallback_after_s: float | None
    """Fallback policy: emulated seconds without a Ready standby before writes are
    acknowledged without it (null: the failover window)."""
    witness: str | None
    """The witness's address (null: no witness)."""


class Synchronous(Reply):
    """Synchronous replication as this server runs it now."""

    state: Literal["synchronous", "waiting", "suspended", "refusing", "idle"]
    """synchronous: writes wait for the standby; waiting: the standby is not Ready and
    writes wait up to the fallback deadline; suspended: writes are acknowledged without
    the standby; refusing: strict policy and no standby Ready, writes refused; idle: not
    the active server of a configured pair."""
    policy: Literal["strict", "fallback"]
    fallback_after_s: float | None
    standby_not_ready_for_s: float | None
    writes_waiting: int
    writes_refused: int
    """Writes refused (strict, no standby) or not acknowledged, since the process started."""
    acknowledged_without_standby: int
    ack_ms_p50: float | None
    """Real milliseconds a write waited for the standby: median of the last 10,000."""
    ack_ms_p99: float | None


class WitnessVoteEntry(Reply):
    at: float
    granted: bool
    holder: str | None
    reason: str
    asked_because: str


class Witness(Reply):
    """The witness as this server sees it."""

    address: str
    reachable: bool | None
    holds_vote: bool
    """This server holds the witness's vote (its lease has not run out)."""
    lease_remaining_s: float | None
    holder: str | None
    """Who holds the vote, as the witness last said (primary, secondary, or null)."""
    last_answer: str | None
    votes_granted: int
    votes_refused: int
    unreachable: int
    votes: list[WitnessVoteEntry]
    """The changes: votes given, refused, handed back (newest last)."""


class HaStatus(Reply):
    """The contract's fields (DESIGN.md) and the lab's view of the HA engine."""

    server: Designation | None
    role: Role
    ha: HA
    standby_server_status: StandbyStatus | None
    split_brain: bool
    split: SplitBrain | None
    awaiting_repair: bool
    repair: Repair
    clock_skew_s: float | None
    ntp_servers: list[str]
    messages: list[Message]
    ipics_stopped: bool
    partner: str | None
    partner_role: Role | None
    address: str
    active: str | None
    heartbeat: HeartbeatStatus
    replication: Replication
    transition: Transition | None
    services: dict[str, Literal["running", "stopped", "failed"]]
    """Each emulated service (tomcat, ipics_nm, database) and its state."""
    peer_link: PeerLink
    modes: Modes
    synchronous: Synchronous | None
    """Null unless replication is synchronous."""
    witness: Witness | None
    """Null unless the pair has a witness."""
    decision: str
    time: float
    time_scale: float
    software_version: str


class HealthActive(Reply):
    active: bool
    role: Role


class HealthCheck(Reply):
    """A monitoring check's answer, 200 when it passes and 503 when it does not."""

    ok: bool
    role: Role
    ha: HA
    standby_server_status: StandbyStatus | None
    tomcat: Literal["running", "stopped", "failed"]


class ServerEntry(Reply):
    address: str
    server: Designation | None
    role: Role | Literal["unreachable"]


class Servers(Reply):
    servers: list[ServerEntry]
    active: str | None


class OpenApiDocument(Reply):
    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# ------------------------------------------------------------------ users, sessions
class User(Reply):
    username: str
    role: UserRole
    full_name: str
    dial_id: str = OMITTED
    """The numeric user ID of the phone service and the dial engine, once set."""


class Users(Reply):
    users: list[User]


class Session(Reply):
    username: str
    role: UserRole
    created_at: float


class LoggedIn(Reply):
    token: str
    user: User
    server: str
    role: Role


class MediaTicket(Reply):
    ticket: str
    """For the media router's hello: it names the caller and his talk groups."""
    user: str
    groups: list[str]
    """The ids of the channels and VTGs the caller has."""
    issuer: str
    issued_at: float
    expires_at: float
    expires_in_s: float
    refresh_after_s: float
    """Ask for a new ticket after this many seconds, and when the channels or VTGs change."""


class LoggedOut(Reply):
    logged_out: Literal[True]


class Deleted(Reply):
    deleted: Literal[True]


# ------------------------------------------------------------- channels, VTGs
class Channel(Reply):
    id: str
    name: str
    description: str


class Channels(Reply):
    channels: list[Channel]


class ChannelAssignment(Reply):
    channel_id: str
    username: str


class Assignments(Reply):
    assignments: list[ChannelAssignment]


class DialOutParticipant(Reply):
    number: str
    status: Literal["connected", "disconnected"]
    """Whether this server's dial engine has the telephone in the VTG now."""


class Vtg(Reply):
    id: str
    name: str
    channels: list[str]
    members: list[str]
    dial_out: list[DialOutParticipant] = OMITTED
    """The telephones invited into the VTG, once there is one."""


class Vtgs(Reply):
    vtgs: list[Vtg]


# --------------------------------------------------------------- incidents, files
class FileInfo(Reply):
    id: str
    incident_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: float
    available: bool
    """False: the content did not reach this server before a failover; upload it again
    (PUT .../files/{file_id})."""
    restored_by: str = OMITTED
    restored_at: float = OMITTED


class Incident(Reply):
    id: str
    name: str
    description: str
    participants: list[str]
    created_at: float


class IncidentWithFiles(Incident):
    files: list[FileInfo]


class Incidents(Reply):
    incidents: list[IncidentWithFiles]


# ------------------------------------------------------------------------- errors
class Problem(Reply):
    field: str
    problem: str


#: the fields a refusal always carries with its code
ERROR_FIELDS = {
    "not_active": ("role", "active"),
    "not_licensed": ("role", "active"),
    "transitioning": ("role", "active"),
    "invalid_body": ("problems",),
    "too_many_attempts": ("retry_after_s",),
    "file_missing": ("file",),
}


class Error(Reply):
    """Every refusal."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"error": {"const": code}}, "required": ["error"]},
                    "then": {"required": list(fields)},
                }
                for code, fields in ERROR_FIELDS.items()
            ]
        }
    )

    error: str
    """A stable code: not_active, invalid_body, too_many_attempts, ..."""
    message: str
    """What happened and what to do, in a sentence for a person."""
    problems: list[Problem] = OMITTED
    """With invalid_body: each field and what is wrong with it."""
    role: Role = OMITTED
    """With not_active, not_licensed and transitioning: this server's role."""
    active: str | None = OMITTED
    """With not_active, not_licensed and transitioning: the active server's address, where a
    client goes (null when none is known)."""
    retry_after_s: int = OMITTED
    """With too_many_attempts: seconds until the next try is taken (also Retry-After)."""
    file: FileInfo = OMITTED
    """With file_missing: the file's record, to upload it again."""


# ---------------------------------------------------------------------------- HA
class LicenseEntry(Reply):
    feature: str
    title: str
    serial: str
    version: str


class Licenses(Reply):
    licenses: list[LicenseEntry]
    server: Designation | None


class NtpServers(Reply):
    ntp_servers: list[str]


class HaConfig(Reply):
    server_status: Literal["Trusted", "Not Trusted"]
    partner: str | None
    primary_address: str | None
    secondary_address: str | None
    heartbeat: HeartbeatSettings
    ha: HA
    standby_server_status: StandbyStatus | None
    ntp_servers: list[str]
    certificate_fingerprint: str
    certificate_not_after: str


class Trusted(Reply):
    server_status: Literal["Trusted"]
    partner: str


class TrustDeleted(Reply):
    server_status: Literal["Not Trusted"]
    message: str


class TrustExchanged(Reply):
    certificate: str


class TrustRemoved(Reply):
    server_status: Literal["Not Trusted"]


class SettingsUpdated(Reply):
    heartbeat: HeartbeatSettings


class Configured(Reply):
    ha: Literal["configured"]
    logged_out: Literal[True]
    message: str


class Unconfigured(Reply):
    ha: HA
    role: Literal["transitioning"]
    message: str


class FailedOver(Reply):
    role: Role
    message: str


class WentStandby(Reply):
    role: Role
    logged_out: Literal[True]
    message: str


class DiscardedEntry(Reply):
    at: float
    table: str
    key: str
    description: str
    updated_at: float
    reason: str


class Discarded(Reply):
    discarded: list[DiscardedEntry]


class AuditEntry(Reply):
    at: float
    """Emulated UTC."""
    action: str
    """In the scenario format's words: go-standby, failover-now, configure, unconfigure,
    repair, rsync, service-ipics-stop, ntpsetup, update-settings, establish-trust, ...;
    login: a person's login (not a system administrator's) by the API (an IDC, a mobile
    client) or by the phone's Dial Login; reconnect: a person's device back with no user
    action after losing its server: an IDC or a mobile client taking its session back
    (``via`` api, ``result`` "console reconnected by itself (...)" or "mobile client ..."),
    an IP phone brought here by the new active's push (``via`` phone)."""
    via: Literal["console", "api", "shell", "phone"]
    user: str
    ok: bool
    """Done (true), or refused (false)."""
    result: str
    """The server's sentence: what was done, or why not."""
    command: str | None
    """The shell's command line (null for the console and the API)."""


class Audit(Reply):
    actions: list[AuditEntry]


class ReplicationLag(Reply):
    lag_ms: list[float]


# --------------------------------------------------------------------------- lab
class FaultInjected(Reply):
    fault: str
    message: str = OMITTED
    service: str = OMITTED
    services: dict[str, str] = OMITTED
    direction: str = OMITTED
    seconds: float = OMITTED
    capacity: int = OMITTED
    enabled: bool = OMITTED


class TimeScaleSet(Reply):
    time_scale: float
    at: float
    time: float


# ------------------------------------------------------------ answers by operation
#: a body that is not JSON: (media type, schema)
BINARY = ("*/*", {"type": "string", "format": "binary"})
#: ``/metrics``: Prometheus's text exposition format (its version 0.0.4)
PROMETHEUS_TEXT = ("text/plain", {"type": "string"})


@dataclass(frozen=True)
class Answers:
    """An operation's success answers (status -> model, or ``BINARY``, or None for no
    body) and the refusals only it gives (status -> why), beyond the guard's."""

    success: dict[int, Any]
    refusals: dict[int, str] = field(default_factory=dict)
    headers: dict[str, tuple[str, dict]] = field(default_factory=dict)
    """Headers a success answer always carries: name -> (description, JSON schema)."""
    refusal_bodies: dict[int, type[Reply]] = field(default_factory=dict)
    """The body of a refusal that is not an ``Error``."""


def _check(fails: str) -> Answers:
    return Answers({200: HealthCheck}, {503: fails + " (the body says its state)"}, refusal_bodies={503: HealthCheck})


WRITE = {503: "database_down: the database service is not running on this server"}
THROTTLED = {
    429: "too_many_attempts: too many failed passwords from this address for this user name; "
    "try again after Retry-After seconds"
}
PARTNER = {
    502: "partner_unreachable or partner_refused: the partner server did not answer or refused; nothing was changed"
}

ANSWERS: dict[str, Answers] = {
    # status and health
    "status": Answers({200: HaStatus}),
    "health_active": Answers(
        {200: HealthActive},
        {503: "not the active server, or it serves no clients now (the body says its role)"},
        refusal_bodies={503: HealthActive},
    ),
    "openapi": Answers({200: OpenApiDocument}),
    # monitoring
    "metrics": Answers({200: PROMETHEUS_TEXT}),
    "primary": _check("not the active server, or it serves no clients now"),
    "standby": _check("not a standby, or its Standby Server Status is Not Ready"),
    "health": _check("tomcat is not running, or IPICS is stopped on this server"),
    "liveness": Answers({200: HealthCheck}),
    "servers": Answers({200: Servers}),
    # sessions
    "login": Answers(
        {200: LoggedIn},
        {
            401: "unauthorized: wrong user name or password",
            409: "not_active: this server is not the active one (`active` names it); not_licensed: a standalone "
            "secondary serves no users",
            503: "transitioning, configuring or ddrblock: try again shortly; database_down",
            **THROTTLED,
        },
    ),
    "logout": Answers({200: LoggedOut}),
    "me": Answers({200: Session}),
    "events": Answers({101: None}, {400: "not a WebSocket upgrade request"}),
    "media_ticket": Answers(
        {200: MediaTicket},
        {
            409: "too_many_talk_groups: more channels and VTGs than one ticket may name",
            503: "no_media_tickets: this server was started without a ticket key",
        },
    ),
    # data
    "list_users": Answers({200: Users}),
    "create_user": Answers(
        {201: User},
        {
            403: "forbidden: only a system administrator creates a system administrator",
            409: "conflict: a user of that name exists (names are not case-sensitive)",
            **WRITE,
        },
    ),
    "set_dial_login": Answers({200: User}, {409: "conflict: the user ID is another user's dial login", **WRITE}),
    "list_channels": Answers({200: Channels}),
    "create_channel": Answers({201: Channel}, {409: "conflict: a channel of that name exists", **WRITE}),
    "delete_channel": Answers({200: Deleted}, WRITE),
    "assign_channel": Answers({201: ChannelAssignment}, {404: "no such channel or user", **WRITE}),
    "unassign_channel": Answers({200: Deleted}, WRITE),
    "list_assignments": Answers({200: Assignments}),
    "list_vtgs": Answers({200: Vtgs}),
    "create_vtg": Answers({201: Vtg}, {404: "a channel or member does not exist", **WRITE}),
    "dial_out": Answers({200: Vtg}, {409: "conflict: the VTG has the most dial-out participants it may have", **WRITE}),
    "list_incidents": Answers({200: Incidents}),
    "create_incident": Answers({201: Incident}, {404: "a participant does not exist", **WRITE}),
    "get_incident": Answers({200: IncidentWithFiles}),
    "set_participants": Answers({200: IncidentWithFiles}, {404: "a participant does not exist", **WRITE}),
    "upload_file": Answers({201: FileInfo}, WRITE),
    "restore_file": Answers(
        {200: FileInfo}, {409: "conflict: not the content that was uploaded (its SHA-256 differs)", **WRITE}
    ),
    "download_file": Answers(
        {200: BINARY},
        {404: "file_missing: the content did not reach this server before a failover (`file` is its record)"},
        headers={"Content-Disposition": ("attachment, with the file's name", {"type": "string"})},
    ),
    # HA
    "list_licenses": Answers({200: Licenses}),
    "install_license": Answers(
        {201: LicenseEntry}, {400: "license_refused: not a license file, or one this server may not hold"}
    ),
    "set_ntp": Answers({200: NtpServers}),
    "get_config": Answers({200: HaConfig}),
    "establish_trust": Answers(
        {200: Trusted},
        {
            400: "bad_request: the address is not a server address, or it is this server's own",
            401: "partner_password_wrong: the partner refused the ipicsadmin password; nothing was stored",
            409: "conflict: trust with a partner already exists",
            **PARTNER,
        },
    ),
    "delete_trust": Answers(
        {200: TrustDeleted},
        {
            401: "partner_password_wrong: the partner refused the password; nothing was deleted",
            409: "conflict: HA is configured, or there is no trust",
            **PARTNER,
        },
    ),
    "trust_exchange": Answers(
        {200: TrustExchanged},
        {
            400: "bad_request or certificate_expired: the certificate or address is not usable",
            401: "unauthorized: wrong ipicsadmin user name or password",
            409: "conflict: this server already trusts a partner",
            **THROTTLED,
        },
    ),
    "trust_remove": Answers(
        {200: TrustRemoved},
        {
            401: "unauthorized: wrong ipicsadmin user name or password",
            403: "forbidden: the certificate is not the trusted partner's",
            409: "conflict: HA is configured here",
            **THROTTLED,
        },
    ),
    "update_settings": Answers(
        {200: SettingsUpdated},
        {
            400: "out_of_range: a value outside the chapter's range, named with its range",
            409: "conflict: no trust yet, the port is not usable, or the partner refused the settings",
            **PARTNER,
        },
    ),
    "configure": Answers(
        {200: Configured},
        {409: "conflict: a precondition of Configure does not hold (the message says which)", **PARTNER},
    ),
    "unconfigure": Answers(
        {200: Unconfigured}, {409: "conflict: HA is not configured, or this is not the active server"}
    ),
    "failover_now": Answers(
        {200: FailedOver},
        {
            409: "conflict: not configured, not the active server, the "
            "Standby Server Status is Not Ready, or the standby "
            "refused",
            **PARTNER,
        },
    ),
    "go_standby": Answers({200: WentStandby}, {409: "conflict: not a split brain"}),
    "discarded": Answers({200: Discarded}),
    "audit": Answers({200: Audit}, {400: "bad_request: since is not a time"}),
    "replication_lag": Answers({200: ReplicationLag}),
    # lab
    "inject_fault": Answers(
        {200: FaultInjected, 202: FaultInjected},
        {
            400: "bad_request: the fault needs a parameter it did not get",
            403: "forbidden: this server was not started by the lab",
        },
    ),
    "set_time_scale": Answers(
        {200: TimeScaleSet},
        {
            400: "bad_request: `at` is too far from this server's real time",
            403: "forbidden: this server was not started by the lab",
        },
    ),
}

#: the headers a refusal always carries, by status: name -> (description, JSON schema)
REFUSAL_HEADERS = {429: {"Retry-After": ("seconds until the next try is taken", {"type": "integer"})}}

#: what a success answer says, by status
SUCCESS = {200: "OK", 201: "Created", 202: "Accepted: done in a moment", 101: "Switching Protocols: the WebSocket"}
