"""The IPICS Dispatch Console (IDC): login dialog, console window, the IDC that ties them, ``ipics-lab console``."""
