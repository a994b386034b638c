"""The HA engine of one server (chapter: Configuring and Managing Cisco IPICS High
Availability)."""

from .engine import HAEngine, http_address

__all__ = ["HAEngine", "http_address"]
