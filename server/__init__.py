"""IPICS HA Lab server: one emulated Cisco IPICS server of an HA pair, and the media router."""

from .about import version as _version

__version__ = _version()
