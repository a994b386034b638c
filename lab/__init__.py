"""The lab tooling: real server processes supervised as an HA pair (``supervisor``), the
demo data, the fault campaign and its checker, the trainer's Qt-free core (``trainer``),
scenarios, the lab's commands (``cli``) and the pytest plugin.  Uses the server's and
the clients' packages; never the desktop's (Qt).
"""
