"""The client API's TLS: the server's certificate and key as an ``ssl`` context.

Off loopback a server's client API, its Administration Console and its pushes are
served over HTTPS (``--tls-cert``, ``--tls-key``); the peer link has its own mutual TLS
(``certs.py``).  The key is refused when others may read it, as the media ticket key
is, and never shown: a refusal names the file, not its content.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from .secret_files import owner_only_refusal


class TlsError(ValueError):
    """What is wrong with the certificate or key, in one sentence."""


def check_owner_only(path: Path, what: str) -> None:
    """``path`` is a file only its owner may read; ``TlsError`` otherwise."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    refusal = owner_only_refusal(mode, what, path)
    if refusal:
        raise TlsError(refusal)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The HTTPS listener's context: ``cert`` (PEM, the issuing CA's certificates may
    follow it) and its ``key``; ``TlsError`` saying what is wrong."""
    check_owner_only(key, "the TLS key")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise TlsError(f"cannot read {exc.filename or cert}: no such file") from None
    except ssl.SSLError as exc:
        raise TlsError(
            f"the TLS certificate {cert} and key {key} cannot be used ({exc.reason or exc}): "
            "give a PEM certificate and the unencrypted PEM key it was issued for"
        ) from None
    except OSError as exc:
        raise TlsError(f"cannot read the TLS certificate or key: {exc.strerror or exc}") from None
    return ctx
