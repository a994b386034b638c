"""Emulated license files, and what the installed licenses make of a server.

Chapter, Defining the Active and Standby Servers: the *IPICS Base server* and
*Policy Engine Base* licenses make the primary (which starts active); the *High
Availability* license alone makes the secondary (which starts standby).  The HA license
"should never be installed on the primary server".

A license file is a few ``KEY=value`` lines (see the lab's samples in ``lab/data/licenses``):

    FEATURE=IPICS_BASE_SERVER
    VERSION=5.0
    SERIAL=LAB-0001
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .roles import ServerDesignation

MAX_LICENSE_FILE_BYTES = 4096
_KEYS = {"FEATURE", "VERSION", "SERIAL", "ISSUED", "EXPIRES"}


class Feature(str, Enum):
    IPICS_BASE_SERVER = "IPICS_BASE_SERVER"
    POLICY_ENGINE_BASE = "POLICY_ENGINE_BASE"
    HIGH_AVAILABILITY = "HIGH_AVAILABILITY"


FEATURE_TITLES = {
    Feature.IPICS_BASE_SERVER: "IPICS Base server",
    Feature.POLICY_ENGINE_BASE: "Policy Engine Base",
    Feature.HIGH_AVAILABILITY: "High Availability",
}


class LicenseError(ValueError):
    """A license file that cannot be read or may not be installed here."""


@dataclass(frozen=True)
class License:
    feature: Feature
    serial: str
    version: str

    @property
    def title(self) -> str:
        return FEATURE_TITLES[self.feature]


def parse_license(data: bytes) -> License:
    if len(data) > MAX_LICENSE_FILE_BYTES:
        raise LicenseError(f"license file is larger than {MAX_LICENSE_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LicenseError("license file is not UTF-8 text") from None
    fields: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().upper()
        if not sep or key not in _KEYS:
            raise LicenseError(f"license file line {number} is not one of {', '.join(sorted(_KEYS))}=value")
        fields[key] = value.strip()
    if "FEATURE" not in fields:
        raise LicenseError("license file names no FEATURE")
    try:
        feature = Feature(fields["FEATURE"])
    except ValueError:
        known = ", ".join(f.value for f in Feature)
        raise LicenseError(f"unknown license feature {fields['FEATURE']!r}; known: {known}") from None
    serial = fields.get("SERIAL", "")
    if not serial or len(serial) > 64:
        raise LicenseError("license file needs a SERIAL of 1 to 64 characters")
    return License(feature=feature, serial=serial, version=fields.get("VERSION", ""))


def check_install(installed: set[Feature], new: Feature) -> None:
    """Refuse combinations the chapter forbids; raise LicenseError with the reason."""
    base = {Feature.IPICS_BASE_SERVER, Feature.POLICY_ENGINE_BASE}
    if new == Feature.HIGH_AVAILABILITY and installed & base:
        raise LicenseError(
            "The High Availability license must not be installed on a server that has the "
            "IPICS Base server or Policy Engine Base license: install it only on the secondary server"
        )
    if new in base and Feature.HIGH_AVAILABILITY in installed:
        raise LicenseError(
            f"The {FEATURE_TITLES[new]} license cannot be installed on a server that has the "
            "High Availability license: this server is a secondary server"
        )


def designation(installed: set[Feature]) -> ServerDesignation | None:
    """Primary with Base + Policy Engine, secondary with HA only, otherwise undecided."""
    if {Feature.IPICS_BASE_SERVER, Feature.POLICY_ENGINE_BASE} <= installed:
        return ServerDesignation.PRIMARY
    if installed == {Feature.HIGH_AVAILABILITY}:
        return ServerDesignation.SECONDARY
    return None


def missing_for_primary(installed: set[Feature]) -> list[str]:
    need = [Feature.IPICS_BASE_SERVER, Feature.POLICY_ENGINE_BASE]
    return [FEATURE_TITLES[f] for f in need if f not in installed]
