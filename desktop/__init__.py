"""IPICS HA Lab desktop: the Qt clients (IDC console now; IP phone, mobile, trainer panel next).

``core`` is the client logic without widgets; ``qt`` the thin widgets over it.
"""
