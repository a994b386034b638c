"""The server's certificate, the partner's pinned certificate, and mutual-TLS contexts.

Chapter, Remote Server Locations Using Secure Communication: at trust the servers
exchange certificates once; from then on the peer link accepts only the pinned partner
certificate.  A self-signed certificate is made at first start, valid three years like
IPICS's defaults.  The private key file is readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_VALIDITY = dt.timedelta(days=3 * 365)


class CertificateError(ValueError):
    pass


def generate(
    common_name: str,
    host: str,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key, both PEM."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    not_before = not_before or now - dt.timedelta(minutes=5)
    not_after = not_after or not_before + CERT_VALIDITY
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IPICS HA Lab"),
        ]
    )
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass(frozen=True)
class CertInfo:
    fingerprint: str
    not_after: dt.datetime
    subject: str

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or dt.datetime.now(dt.UTC)) >= self.not_after


def inspect(pem: bytes | str) -> CertInfo:
    if isinstance(pem, str):
        pem = pem.encode()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise CertificateError("not a PEM certificate") from None
    der = cert.public_bytes(serialization.Encoding.DER)
    return CertInfo(
        fingerprint=hashlib.sha256(der).hexdigest(),
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
    )


class ServerIdentity:
    """This server's certificate and key in ``<data-dir>/certs``, made at first start."""

    def __init__(self, directory: Path, common_name: str, host: str):
        self.directory = directory
        self.cert_path = directory / "server.pem"
        self.key_path = directory / "server.key"
        if not self.cert_path.exists() or not self.key_path.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            cert, key = generate(common_name, host)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            self.cert_path.write_bytes(cert)
        self.cert_pem = self.cert_path.read_text()
        self.info = inspect(self.cert_pem)

    def server_context(self, partner_pem: str) -> ssl.SSLContext:
        """The peer listener: demands a client certificate, and only the pinned one."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_path, self.key_path)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=partner_pem)
        return ctx

    def client_context(self, partner_pem: str) -> ssl.SSLContext:
        """Connecting to the partner: present ours, accept only the pinned one.

        The partner's self-signed certificate is the only trust anchor, so nothing else
        verifies; host names are not checked because the pin is the identity.
        """
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_cert_chain(self.cert_path, self.key_path)
        ctx.load_verify_locations(cadata=partner_pem)
        return ctx


def explain_tls_failure(exc: BaseException) -> str:
    """A sentence an administrator can act on, from an SSL failure on the peer link."""
    text = str(exc).lower()
    verify = getattr(exc, "verify_message", "") or ""
    verify = verify.lower()
    if "expired" in verify or "expired" in text:
        return "partner certificate has expired: delete the HA trust and establish it again with renewed certificates"
    if (
        "self-signed" in verify
        or "self signed" in verify
        or "unable to get local issuer" in verify
        or "certificate verify failed" in text
    ):
        return "partner presented an unknown certificate, not the one pinned at trust"
    if "alert" in text and ("unknown ca" in text or "bad certificate" in text or "certificate" in text):
        return "partner refused this server's certificate (it does not trust it any more)"
    return f"TLS failure on the peer link: {exc}"
