"""The chapter's commands and paths, spelled once.

Whatever an administrator types in the chapter's procedures (and the lines they watch
for) is named here: the shell runs them, the lab's actions and the fault campaign type
them, the status text and the trainer panel show them.  Pure constants.
"""

from __future__ import annotations

# Synchronizing the Server Time on HA Servers
NTPSETUP = "ntpsetup"
NTPSETUP_ENABLE = "ntpsetup -s enable <ntp-server> <backup-ntp-server>"
NTPSETUP_CHECK = "ntpsetup -c"
NM_RESTART = "service ipics_nm restart"

# Method 1: the database and file system resynchronization
REPAIR_PROGRAM = "/opt/cisco/ipics/database/bin/ipicsedr_control_repl"
REPAIR = f"{REPAIR_PROGRAM} REPAIR"
HA_STATUS = "/sbin/service ipics ha-status"
#: the heading of ``service ipics ha-status`` under which the repair processes are listed
PENDING = "Pending Database Replication Synchronization Processes:"
RSYNC_PROGRAM = "/opt/cisco/ipics/database/bin/ipicsrsync"
RSYNC = f"{RSYNC_PROGRAM} run ipicsadmin"
RSYNC_LOG = "/opt/cisco/ipics/database/logs/rsync.log"
FILE_DIRECTORY = "/opt/cisco/ipics/conf/fileDirectory"
#: the audit trail (server/audit.py) as a file: one JSON object a line, for ipicsadmin;
#: readable when no session is (a server that went standby logged every session out)
AUDIT_LOG = "/opt/cisco/ipics/logs/audit.log"

# Method 2 and 3
SERVICE_IPICS = "service ipics"
SERVICE_NM = "service ipics_nm"
SHUTDOWN = "shutdown -h now"


def short(command: str) -> str:
    """The command without its folder, as the trainer panel shows it
    (``ipicsedr_control_repl REPAIR``)."""
    program, _, args = command.partition(" ")
    return " ".join(filter(None, (program.rsplit("/", 1)[-1], args)))
