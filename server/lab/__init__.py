"""The lab: supervisor of real server processes, demo data, and the ``ipics-lab`` commands."""
