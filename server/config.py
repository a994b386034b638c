"""The one configuration loader of a server process: command line plus environment.

Secrets never come on the command line (visible in ``ps``): the initial ``ipicsadmin``
password comes from the systemd credential ``admin-password`` (the file
``$CREDENTIALS_DIRECTORY/admin-password``, see ``server/systemd/``) or else the
environment variable ``IPICS_ADMIN_PASSWORD``, the key that signs push-to-talk tickets
from a file only its owner may read (``--media-ticket-key-file``, or the credential
``media-ticket-key``), the client API's TLS key the same way (``--tls-key``, or the
credential ``tls-key``), and the lab's fault-injection switch from ``--lab-faults``.

Off loopback the client API is served over HTTPS only: a server whose ``--host`` is
not a loopback address refuses to start without ``--tls-cert`` and a key.

Started with credentials (``$CREDENTIALS_DIRECTORY`` set: a systemd unit), or with its
stderr going to the journal, a server has no terminal to show a generated first-start
password on: it then refuses to start without one rather than write it to the journal.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .core.ha_config import HEARTBEAT_PORT_DEFAULT, SOFTWARE_VERSION_DEFAULT
from .core.modes import PairModes, ReplicationMode, SynchronousPolicy
from .logsetup import stderr_is_journal

ADMIN_PASSWORD_ENV = "IPICS_ADMIN_PASSWORD"
#: the systemd credentials (``LoadCredential=ID:FILE``) a server reads, by ID
ADMIN_PASSWORD_CREDENTIAL = "admin-password"
MEDIA_TICKET_KEY_CREDENTIAL = "media-ticket-key"
TLS_KEY_CREDENTIAL = "tls-key"


@dataclass
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    #: the shell's SSH port (0: a free one; None: no SSH server)
    ssh_port: int | None = 0
    heartbeat_port: int = HEARTBEAT_PORT_DEFAULT
    name: str = "ipics"
    time_scale: float = 1.0
    clock_epoch: float | None = None
    #: emulated UTC at ``clock_epoch`` (None: the epoch itself); after the lab changed
    #: the time scale, a restarted server is anchored where its partner's clock is
    clock_anchor_emulated: float | None = None
    software_version: str = SOFTWARE_VERSION_DEFAULT
    licenses: list[Path] = field(default_factory=list)
    ntp_servers: list[str] = field(default_factory=list)
    clean_install: bool = False
    lab_faults: bool = False
    transaction_log_capacity: int = 100_000
    max_upload_bytes: int = 20 * 1024 * 1024
    file_replication_delay_s: float = 10.0
    port_file: Path | None = None
    admin_password: str | None = None
    #: the lab's telephone network (numbers of dial-out participants); None: no dial-out
    pstn_directory: Path | None = None
    #: the media router (ws://host:port/media) for phones and telephones' push-to-talk
    media_router: str | None = None
    #: the key push-to-talk tickets are signed with, shared with the partner and the router
    media_ticket_key_file: Path | None = None
    #: the client API's certificate (PEM, its chain after it) and key: HTTPS when given
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: the CA this server trusts when it calls its partner's client API over HTTPS
    #: (besides the system's)
    ca_file: Path | None = None
    #: a plain-HTTP port that only redirects (308) to the HTTPS client API
    http_redirect_port: int | None = None
    #: replication and witness modes beyond IPICS (``core/modes.py``); IPICS by default
    modes: PairModes = field(default_factory=PairModes)
    #: the key (mode 600) this server shows the witness, shared with it and the partner
    witness_key_file: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def ssh_port_file(port_file: Path) -> Path:
    """Where a server started with ``--port-file`` writes its SSH port: ``primary.port``
    stays the API port alone (as before), ``primary.ssh-port`` holds the SSH port."""
    return port_file.with_suffix(".ssh-port")


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, required=True, help="this server's data directory")
    p.add_argument("--host", default="127.0.0.1", help="address of this server (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="client API port (0: a free one)")
    p.add_argument(
        "--ssh-port", type=int, default=0, help="SSH port of the server shell (0: a free one; -1: no SSH server)"
    )
    p.add_argument(
        "--heartbeat-port",
        type=int,
        default=HEARTBEAT_PORT_DEFAULT,
        help="HA heartbeat port until HA configuration sets one (default 3444)",
    )
    p.add_argument("--name", default="ipics", help="host name shown in logs and certificates")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="real seconds per emulated second (0.02 runs 50x faster)"
    )
    p.add_argument(
        "--clock-epoch",
        type=float,
        default=None,
        help="shared real Unix time the emulated clocks of a pair are anchored on",
    )
    p.add_argument(
        "--clock-anchor-emulated",
        type=float,
        default=None,
        help="emulated UTC at --clock-epoch (default: the epoch itself); the lab passes "
        "it after a time scale change so a restarted server agrees with its partner",
    )
    p.add_argument("--software-version", default=SOFTWARE_VERSION_DEFAULT)
    p.add_argument(
        "--license",
        dest="licenses",
        type=Path,
        action="append",
        default=[],
        help="install this license file at start (repeatable)",
    )
    p.add_argument(
        "--ntp",
        dest="ntp_servers",
        action="append",
        default=[],
        help="NTP server (repeatable): the emulated ntpsetup -s enable",
    )
    p.add_argument(
        "--clean-install",
        action="store_true",
        help="wipe this server's data first, so nothing is merged at HA configuration",
    )
    p.add_argument("--lab-faults", action="store_true", help="enable the lab's fault injection API")
    p.add_argument("--transaction-log-capacity", type=int, default=100_000)
    p.add_argument("--max-upload-bytes", type=int, default=20 * 1024 * 1024)
    p.add_argument(
        "--file-replication-delay",
        dest="file_replication_delay_s",
        type=float,
        default=10.0,
        help="emulated seconds an upload waits before it replicates (lower priority)",
    )
    p.add_argument(
        "--media-router",
        default=None,
        metavar="URL",
        help="the media router (ws://host:port/media) that carries push-to-talk",
    )
    p.add_argument(
        "--media-ticket-key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the key (mode 600, shared with the partner and the media router) this server "
        "signs push-to-talk tickets with; without it the server issues none",
    )
    p.add_argument(
        "--tls-cert",
        type=Path,
        default=None,
        metavar="FILE",
        help="serve the client API, the Administration Console and the pushes over HTTPS with this "
        "certificate (PEM; required when --host is not a loopback address)",
    )
    p.add_argument(
        "--tls-key",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"the key of --tls-cert (mode 600), or the credential {TLS_KEY_CREDENTIAL}",
    )
    p.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the CA certificate this server trusts when it calls its partner's client API over "
        "HTTPS (default: the system's CAs)",
    )
    p.add_argument(
        "--http-redirect-port",
        type=int,
        default=None,
        metavar="PORT",
        help="with --tls-cert: also listen for plain HTTP on PORT and redirect (308) every request to HTTPS",
    )
    add_mode_arguments(p)
    p.add_argument(
        "--pstn-directory",
        type=Path,
        default=None,
        help="the lab's telephone network file, to call dial-out participants",
    )
    p.add_argument(
        "--port-file",
        type=Path,
        default=None,
        help="write the bound client API port here once listening; the SSH port goes "
        "to the same name with the suffix .ssh-port, written first",
    )


def add_mode_arguments(p: argparse.ArgumentParser) -> None:
    """The modes beyond IPICS (``core/modes.py``); the lab passes the same to both servers."""
    p.add_argument(
        "--replication",
        choices=[m.value for m in ReplicationMode],
        default=ReplicationMode.ASYNC.value,
        help="async (IPICS, the default): a write is acknowledged once committed on the active; "
        "synchronous: only once the standby has applied it",
    )
    p.add_argument(
        "--synchronous-policy",
        choices=[m.value for m in SynchronousPolicy],
        default=SynchronousPolicy.FALLBACK.value,
        help="synchronous replication with the standby gone: strict refuses writes; fallback (the "
        "default) acknowledges without it after --synchronous-fallback-after",
    )
    p.add_argument(
        "--synchronous-fallback-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fallback policy: emulated seconds without a Ready standby before writes are acknowledged "
        "without it (default: the failover window, Heartbeat Interval x Missed Heartbeat Count)",
    )
    p.add_argument(
        "--witness",
        default=None,
        metavar="URL",
        help="the witness (python -m ipics_server witness): a standby assumes the active role after "
        "missed heartbeats only with its vote; an active that loses partner and witness steps down",
    )
    p.add_argument(
        "--witness-key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the key (mode 600) shared with the witness and the partner; required with --witness",
    )


def modes_from_args(ns: argparse.Namespace) -> PairModes:
    """The modes, checked: one sentence for what is wrong."""
    fallback = ns.synchronous_fallback_after
    if fallback is not None and not (math.isfinite(fallback) and 0 <= fallback <= 86400):
        raise SystemExit("--synchronous-fallback-after must be 0 to 86400 emulated seconds")
    witness = ns.witness
    if witness is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(witness)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit("--witness must be an http(s) URL, e.g. https://198.18.1.14:3445")
        if ns.witness_key_file is None:
            raise SystemExit("--witness needs --witness-key-file: the witness gives its vote to key holders only")
        from .adapters.secret_files import KeyFileError, load_key

        try:
            load_key(ns.witness_key_file, "the witness key", 32)
        except KeyFileError as exc:
            raise SystemExit(f"--witness-key-file: {exc}") from None
        witness = witness.rstrip("/")
    return PairModes(
        replication=ReplicationMode(ns.replication),
        synchronous_policy=SynchronousPolicy(ns.synchronous_policy),
        synchronous_fallback_after_s=fallback,
        witness=witness,
    )


def _media_url(url: str | None) -> str | None:
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SystemExit("--media-router must be a ws:// URL, e.g. ws://127.0.0.1:7000/media")
    return url


def config_from_args(ns: argparse.Namespace) -> ServerConfig:
    if ns.transaction_log_capacity < 10:
        raise SystemExit("--transaction-log-capacity must be at least 10")
    if not 0 < ns.time_scale <= 10:
        raise SystemExit("--time-scale must be greater than 0 and at most 10")
    for option, value in (("--clock-epoch", ns.clock_epoch), ("--clock-anchor-emulated", ns.clock_anchor_emulated)):
        if value is not None and not math.isfinite(value):
            raise SystemExit(f"{option} must be a finite Unix time")
    if ns.clock_anchor_emulated is not None and ns.clock_epoch is None:
        raise SystemExit("--clock-anchor-emulated needs --clock-epoch (the real time it is the emulated time of)")
    credentials = _credentials_directory()
    key_file = ns.media_ticket_key_file
    if key_file is None and credentials is not None and (credentials / MEDIA_TICKET_KEY_CREDENTIAL).exists():
        key_file = credentials / MEDIA_TICKET_KEY_CREDENTIAL
    if ns.media_router is not None and key_file is None:
        raise SystemExit("--media-router needs --media-ticket-key-file: the router admits ticket holders only")
    tls_cert, tls_key = _tls(ns, credentials)
    return ServerConfig(
        data_dir=ns.data_dir.expanduser().resolve(),
        host=ns.host,
        port=ns.port,
        ssh_port=None if ns.ssh_port < 0 else ns.ssh_port,
        heartbeat_port=ns.heartbeat_port,
        name=ns.name,
        time_scale=ns.time_scale,
        clock_epoch=ns.clock_epoch,
        clock_anchor_emulated=ns.clock_anchor_emulated,
        software_version=ns.software_version,
        licenses=list(ns.licenses),
        ntp_servers=list(ns.ntp_servers),
        clean_install=ns.clean_install,
        lab_faults=ns.lab_faults,
        transaction_log_capacity=ns.transaction_log_capacity,
        max_upload_bytes=ns.max_upload_bytes,
        file_replication_delay_s=ns.file_replication_delay_s,
        port_file=ns.port_file,
        pstn_directory=ns.pstn_directory,
        media_router=_media_url(ns.media_router),
        media_ticket_key_file=key_file,
        tls_cert=tls_cert,
        tls_key=tls_key,
        ca_file=_ca_file(ns.ca_file),
        http_redirect_port=ns.http_redirect_port,
        modes=modes_from_args(ns),
        witness_key_file=ns.witness_key_file,
        admin_password=_admin_password(credentials),
    )


def _tls(ns: argparse.Namespace, credentials: Path | None) -> tuple[Path | None, Path | None]:
    """The client API's certificate and key, checked (a key others may read is refused);
    none on loopback without ``--tls-cert``, a refusal off it."""
    from .adapters.httpclient import is_loopback
    from .adapters.tls import TlsError, server_context

    key = ns.tls_key
    if key is None and credentials is not None and (credentials / TLS_KEY_CREDENTIAL).exists():
        key = credentials / TLS_KEY_CREDENTIAL
    if ns.tls_cert is None:
        if ns.tls_key is not None or ns.http_redirect_port is not None:
            raise SystemExit("--tls-key and --http-redirect-port need --tls-cert (the server's certificate)")
        if not is_loopback(ns.host):
            raise SystemExit(
                f"--host {ns.host} is not a loopback address: off loopback the client API is served over "
                "HTTPS only; give --tls-cert FILE and --tls-key FILE, a certificate for that address and its "
                "key (ipics-lab ca issue makes them)"
            )
        return None, None
    if key is None:
        raise SystemExit(f"--tls-cert needs its key: --tls-key FILE, or the credential {TLS_KEY_CREDENTIAL}")
    if ns.http_redirect_port is not None and not 0 <= ns.http_redirect_port <= 65535:
        raise SystemExit("--http-redirect-port must be a port number, 0 to 65535")
    try:
        server_context(ns.tls_cert, key)
    except TlsError as exc:
        raise SystemExit(str(exc)) from None
    return ns.tls_cert, key


def _ca_file(path: Path | None) -> Path | None:
    from .adapters.httpclient import trust_ca_file

    if path is not None:
        try:
            trust_ca_file(path)  # checked here, so a bad file stops the start with one sentence
        except ValueError as exc:
            raise SystemExit(f"--ca-file: {exc}") from None
    return path


def _credentials_directory() -> Path | None:
    """``$CREDENTIALS_DIRECTORY``: where systemd put the unit's credentials (None: no unit's)."""
    value = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(value) if value else None


def _admin_password(credentials: Path | None) -> str | None:
    """The initial ``ipicsadmin`` password: the ``admin-password`` credential when started
    with credentials (it must be there), else ``IPICS_ADMIN_PASSWORD``; a server whose
    stderr is the journal must have one (a generated one would be logged)."""
    if credentials is not None:
        path = credentials / ADMIN_PASSWORD_CREDENTIAL
        try:
            # one line; a trailing newline (echo, an editor) is not part of the password
            password = path.read_text(encoding="utf-8").rstrip("\r\n")
        except FileNotFoundError:
            raise SystemExit(
                f"no ipicsadmin password: the credential {ADMIN_PASSWORD_CREDENTIAL} is not in {credentials}; "
                f"give the unit LoadCredential={ADMIN_PASSWORD_CREDENTIAL}:FILE with the password in FILE "
                "(owned by root, mode 600)"
            ) from None
        except OSError as exc:
            raise SystemExit(f"cannot read the ipicsadmin password credential {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SystemExit(f"the ipicsadmin password credential {path} is not UTF-8 text") from None
        if not password:
            raise SystemExit(f"the ipicsadmin password credential {path} is empty: write the password into its file")
        return password
    from_env = os.environ.get(ADMIN_PASSWORD_ENV) or None
    if from_env is None and stderr_is_journal():
        raise SystemExit(
            f"no ipicsadmin password: logging to the journal, this server needs one from the credential "
            f"{ADMIN_PASSWORD_CREDENTIAL} (LoadCredential=) or from {ADMIN_PASSWORD_ENV} in a root-only "
            "EnvironmentFile="
        )
    return from_env
