"""IPICS HA Lab server: one emulated Cisco IPICS server of an HA pair, and the lab supervisor."""

__version__ = "0.1.0"
