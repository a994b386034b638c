"""The Qt-free, I/O-free rules of an IPICS HA server, tested with tables."""
