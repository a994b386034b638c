"""The lab's small certificate authority: HTTPS for servers off loopback.

Off loopback a server's client API is served over HTTPS (``--tls-cert``, ``--tls-key``)
and its clients verify it.  The lab makes one CA in its folder, issues each server a
certificate for its address (an IP address SAN and a DNS name), and hands clients the
CA's certificate (``--ca-file``, or ``ca_file`` in the lab file).  For two real hosts:

    ipics-lab ca init DIR
    ipics-lab ca issue DIR --ip 198.18.0.11 --name primary

Keys are written mode 600 and never printed or logged; only paths are.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_NAME = "ca.pem"
CA_KEY_NAME = "ca.key"
CA_VALIDITY = dt.timedelta(days=10 * 365)
#: a server certificate: at most 825 days, what browsers accept for a private CA
SERVER_VALIDITY = dt.timedelta(days=825)
_ORGANIZATION = "IPICS HA Lab"


class CaError(RuntimeError):
    """What is wrong with the CA folder or a request, in one sentence."""


@dataclass(frozen=True)
class Issued:
    """A server's certificate (followed by the CA's) and its key."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """``data`` in ``path``, readable by its owner only from the first byte on."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def init_ca(directory: Path, *, name: str = "IPICS HA Lab CA") -> Path:
    """A new CA in ``directory`` (its certificate ``ca.pem``, its key ``ca.key`` mode
    600), or the one already there; the certificate's path."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / CA_CERT_NAME, directory / CA_KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT_NAME, directory / CA_KEY_NAME
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise CaError(f"{directory} holds no lab CA: run ipics-lab ca init {directory} first") from None
    except (OSError, ValueError, TypeError) as exc:
        raise CaError(f"the lab CA in {directory} cannot be read: {type(exc).__name__}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaError(f"the lab CA key in {directory} is not an EC key")
    return cert, key


def issue(directory: Path, *, ip: str, name: str) -> Issued:
    """A server certificate for ``ip`` (and the DNS name ``name``), signed by the CA in
    ``directory``: ``NAME.pem`` (the certificate, then the CA's) and ``NAME.key`` (600)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise CaError(f"--ip {ip!r} is not an IP address") from None
    if not name or not all(part.isalnum() or part in "-." for part in name) or name.startswith(("-", ".")):
        raise CaError(f"--name {name!r} is not a host name (letters, digits, hyphens and dots)")
    ca_cert, ca_key = _load_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(address), x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    issued = Issued(directory / f"{name}.pem", directory / f"{name}.key")
    _write_private(issued.key, _key_pem(key))
    # The chain after the certificate: a client that trusts the CA verifies it, and
    # Chromium's SPKI list can name the CA's key.
    issued.cert.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return issued


def spki_sha256(cert_pem: bytes) -> str:
    """The base64 SHA-256 of a certificate's public key (its first one in ``cert_pem``),
    as Chromium's ``--ignore-certificate-errors-spki-list`` takes it."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


# ------------------------------------------------------------------ ipics-lab ca
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="ca_command", required=True)
    p_init = sub.add_parser("init", help="make a CA in DIR (ca.pem, and ca.key readable by you only)")
    p_init.add_argument("dir", type=Path)
    p_issue = sub.add_parser(
        "issue", help="issue a server certificate for an IP address: DIR/NAME.pem and DIR/NAME.key"
    )
    p_issue.add_argument("dir", type=Path)
    p_issue.add_argument("--ip", required=True, help="the server's IP address (its --host)")
    p_issue.add_argument("--name", required=True, help="the server's host name, also the files' name")


def run(ns: argparse.Namespace) -> int:
    directory = ns.dir.expanduser().resolve()
    try:
        if ns.ca_command == "init":
            cert = init_ca(directory)
            print(f"lab CA: {cert} (give it to clients and servers as --ca-file); its key stays in {directory}")
        else:
            issued = issue(directory, ip=ns.ip, name=ns.name)
            print(f"server certificate: {issued.cert}\nits key (mode 600): {issued.key}")
            print(f"start the server with --host {ns.ip} --tls-cert {issued.cert} --tls-key {issued.key}")
    except (CaError, OSError) as exc:
        print(f"ipics-lab ca: {exc}", file=sys.stderr)
        return 2
    return 0
