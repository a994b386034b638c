"""The HA engine of one server, one module per section of the chapter (Configuring and
Managing Cisco IPICS High Availability):

- ``node``: the state the parts share (role, HA state, partner, settings, ...) and the
  chapter's views of it (Standby Server Status, split brain, who is active).
- ``roles``: roles and the tick (Defining the Active and Standby Servers; Server
  Failover Due to Local Critical Process Failure / Lost Heartbeat Message).
- ``status``: the HA status every tool reads.
- ``heartbeats``: the heartbeat loop and exchange, the 30 s clock agreement
  (Synchronizing the Server Time on HA Servers).
- ``replication``, ``transaction_log``, ``adoption``: the transaction log shipped to
  the standby, its 75/90/100 % (Reestablishing HA Configuration After Prolonged Server
  Downtime), the standby adopting the active's data and the discarded log.
- ``file_replication``: the standby's file fetcher.
- ``trust``, ``configuration``, ``failover``: the procedures (Configuring Cisco IPICS
  Servers for HA; Unconfiguring HA; Performing a Manual Failover; Go Standby and
  ``service ipics stop|start``).
- ``repair``: Resolving a Split Brain Scenario, Method 1 (REPAIR, ipicsrsync).
- ``engine``: ``HAEngine``, the facade that wires the parts.

The pure rules are in ``core``; the peer link's views in ``api/peer_views.py``.
"""

from .engine import HAEngine
from .node import http_address

__all__ = ["HAEngine", "http_address"]
