"""Faults made by the kernel in the sites topology: nftables rules in the sites' namespaces.

Each rule drops packets silently (``drop``, never ``reject``): the other side sees what a
real partition shows, a connect that hangs, a request never answered, a WebSocket gone
quiet, never a refused connection.  The fault names are the loopback lab's:

- ``cut_link(server, direction)``: "outbound", the server no longer reaches its partner
  (its connections to the partner vanish; the partner's connections to it still work),
  "inbound" the other way round, "both" every packet between them.  One way is made by
  connection tracking (``ct direction original``), so the replies of the connections
  the other side opens still flow: the kernel's version of the loopback lab's cut.
- ``packet_loss(a, b, percent)``: each packet between sites ``a`` and ``b`` dropped at
  random with that probability, each way (``numgen random``).
- ``isolate_clients(server)``: the clients' site no longer reaches that server, nor it
  them; the servers still hear each other.
- ``unplug(site)``: the site's cable pulled, nothing in or out for anyone (a server
  silent to its partner and to every client at once).
- ``heal_link(server)`` ends that server's link faults; ``heal()`` every fault of the
  lab.  Nothing is restarted: the rules go, the packets flow again.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sites import FAULT_KINDS, FAULT_TABLE, SERVER_SITES, Sites, nft

LINK_DIRECTIONS = ("both", "outbound", "inbound")


class CannotMake(ValueError):
    """A fault this topology cannot make, or one asked for wrongly: ``str()`` says why."""


@dataclass(frozen=True)
class ActiveFault:
    kind: str  # link, loss, isolation
    site: str  # the namespace whose rules make it
    description: str


class KernelFaults:
    def __init__(self, sites: Sites):
        self.sites = sites
        self.active: list[ActiveFault] = []

    def describe(self) -> list[str]:
        return [f.description for f in self.active]

    async def cut_link(self, server: str, direction: str = "both") -> str:
        self._server(server)
        partner = self._partner(server)
        if direction not in LINK_DIRECTIONS:
            raise CannotMake(f"the link is cut {', '.join(LINK_DIRECTIONS)}, not {direction!r}")
        rules = []
        if direction == "both":
            rules = [("in", f"ip saddr {partner.address} drop"), ("out", f"ip daddr {partner.address} drop")]
        if direction == "outbound":  # what this server opens to its partner
            rules = [("out", f"ip daddr {partner.address} ct direction original drop")]
        if direction == "inbound":  # what its partner opens to it
            rules = [("in", f"ip saddr {partner.address} ct direction original drop")]
        what = {"both": "both ways", "outbound": "outbound", "inbound": "inbound"}[direction]
        await self._add("link", server, rules, f"{server}: link to {partner.name} cut {what} (kernel)")
        return what

    async def packet_loss(self, a: str, b: str, percent: float) -> None:
        site_a, site_b = self._site(a), self._site(b)
        if site_a == site_b:
            raise CannotMake("packet loss is between two different sites")
        if not isinstance(percent, int | float) or not 0 < percent <= 100:
            raise CannotMake("packet loss is a percentage greater than 0 and at most 100")
        # numgen gives 0-9999: the rate to a hundredth of a percent
        below = round(percent * 100)
        rules = [
            ("in", f"ip saddr {site_b.address} numgen random mod 10000 < {below} drop"),
            ("out", f"ip daddr {site_b.address} numgen random mod 10000 < {below} drop"),
        ]
        await self._add("loss", a, rules, f"{percent:g} % packet loss between {a} and {b} (kernel)")

    async def isolate_clients(self, server: str) -> None:
        self._server(server)
        clients = self.sites["clients"].address
        rules = [("in", f"ip saddr {clients} drop"), ("out", f"ip daddr {clients} drop")]
        await self._add("isolation", server, rules, f"the clients' site isolated from {server} (kernel)")

    async def unplug(self, site: str) -> None:
        """The site's network cable pulled: nothing in or out of it, for anyone; its
        processes run on (loopback inside it still works)."""
        self._site(site)
        rules = [("in", 'iifname "eth0" drop'), ("out", 'oifname "eth0" drop')]
        await self._add("isolation", site, rules, f"{site}: unplugged from the network (kernel)")

    async def heal_link(self, server: str) -> None:
        self._server(server)
        await self._flush(server, "link")

    async def heal(self) -> None:
        """Every fault in every site gone, whoever made it (the lab, its panel, a panel
        attached to it, a scenario); nothing restarted."""
        flush = "".join(
            f"flush chain inet {FAULT_TABLE} {kind}_{way}\n" for kind in FAULT_KINDS for way in ("in", "out")
        )
        for site in self.sites.sites.values():  # an attached lab's file may name fewer
            await nft(site.netns, flush)
        self.active = []

    # -- rules ------------------------------------------------------------------------
    async def _add(self, kind: str, site: str, rules: list[tuple[str, str]], description: str) -> None:
        # One nft transaction: all of a fault's rules, or none of them.
        script = "".join(f"add rule inet {FAULT_TABLE} {kind}_{way} {rule}\n" for way, rule in rules)
        await nft(self.sites[site].netns, script)
        self.active.append(ActiveFault(kind, site, description))

    async def _flush(self, site: str, kind: str) -> None:
        script = f"flush chain inet {FAULT_TABLE} {kind}_in\nflush chain inet {FAULT_TABLE} {kind}_out\n"
        await nft(self.sites[site].netns, script)
        self.active = [f for f in self.active if not (f.site == site and f.kind == kind)]

    def _site(self, name: str):
        if name not in self.sites.sites:
            raise CannotMake(f"there is no site {name!r}: {', '.join(self.sites.sites)}")
        return self.sites[name]

    def _server(self, name: str):
        if name not in SERVER_SITES:
            raise CannotMake(f"there is no server {name!r}: primary or secondary")
        return self.sites[name]

    def _partner(self, name: str):
        return self.sites[SERVER_SITES[1 - SERVER_SITES.index(name)]]
