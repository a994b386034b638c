"""What the trainer panel can offer on this lab, and why not the rest.

A fault or action the lab cannot make is greyed out on the panel with its reason, the
same sentence ``Actions`` would refuse it with.  Three things decide:

- the topology: packet loss and isolating the clients' site are made by the kernel,
  in the sites topology only (``netfaults``); loopback has no network to drop on;
- who holds the processes: power off and on need the server's process, which only the
  lab that started it holds (a panel attached to a pair it did not start has none);
- what this process can reach: the kernel's rules of an attached sites lab need root
  and its namespaces; REPAIR and rsync need each server's SSH port and host key (a
  lab file names them, a bare address does not); the time scale is the owner's.
"""

from __future__ import annotations

from dataclasses import dataclass

#: faults that need the server's process (kill -9, a new start)
PROCESS_FAULTS = ("power_off", "power_on")
#: faults of the network between the sites (``pair.network``)
NETWORK_FAULTS = ("cut_link", "heal_link", "packet_loss", "isolate_clients", "heal_network")
#: of those, the ones only the kernel makes (the sites topology)
KERNEL_ONLY_FAULTS = ("packet_loss", "isolate_clients")
#: the administrator's actions run in the server's shell over SSH (and rsync's log)
SHELL_ACTIONS = ("repair", "rsync")

SITES_ONLY = "start the lab with --topology sites (as root)"
LOOPBACK_CANNOT = {
    "packet_loss": f"the loopback lab cannot drop packets at a rate: {SITES_ONLY}",
    "isolate_clients": f"the loopback lab has no clients' site to isolate: {SITES_ONLY}",
}


def not_started_here(server: str) -> str:
    """Why a lab that did not start ``server`` cannot power it off or on."""
    return f"this lab did not start the {server}: it cannot power it off or on"


@dataclass(frozen=True)
class Offers:
    """What one lab can make; ``why_not(what, server)`` is None or the reason."""

    #: loopback, sites, or unknown (a pair attached by address off this host's loopback)
    topology: str = "loopback"
    #: False: this lab did not start the servers (attached to them)
    owns_processes: bool = True
    #: why this process cannot make the kernel's faults (None: it can, or loopback says why)
    kernel: str | None = None
    #: why REPAIR and rsync cannot run from here (None: they can)
    shell: str | None = None
    #: why the time scale is not this panel's to change (None: it is)
    time_scale: str | None = None
    #: why scenarios and devices are not offered (None: they are)
    lab_data: str | None = None

    def why_not(self, what: str, server: str | None = None) -> str | None:
        if what in PROCESS_FAULTS and not self.owns_processes:
            return not_started_here(server or "server")
        if what in KERNEL_ONLY_FAULTS and self.topology != "sites":
            return self.kernel or LOOPBACK_CANNOT[what]
        if what in NETWORK_FAULTS and self.topology == "sites" and self.kernel:
            return self.kernel
        if what in SHELL_ACTIONS and self.shell:
            return self.shell
        if what == "time_scale" and self.time_scale:
            return self.time_scale
        if what in ("scenario", "devices") and self.lab_data:
            return self.lab_data
        return None
