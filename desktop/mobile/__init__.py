"""The IPICS mobile client window and ``ipics-lab mobile``."""
