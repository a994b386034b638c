"""IPICS HA Lab desktop: the Qt clients (IDC console, IP phone, mobile, trainer panel).

The client windows arrive with later issues; the client core stays free of widgets.
"""
