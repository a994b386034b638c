"""The HA engine of one server (chapter: Configuring and Managing Cisco IPICS High
Availability)."""

from .engine import HAEngine
from .node import http_address

__all__ = ["HAEngine", "http_address"]
