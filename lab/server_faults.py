"""The loopback lab's network faults: the servers cut their own link (``--lab-faults``).

On loopback there is no network to drop packets on, so a cut is cooperative: the server
closes its listener and its client (``ipics_server.adapters.peer``), and the other side
sees refused connections at once.  The names are those of the sites topology's kernel
faults (``netfaults.KernelFaults``); what loopback cannot make it refuses with a reason.
"""

from __future__ import annotations

from typing import Any, Protocol

from .netfaults import LINK_DIRECTIONS, CannotMake

SITES_ONLY = "start the lab with --topology sites (as root) for faults the kernel makes"


class _Pair(Protocol):
    @property
    def servers(self) -> tuple[Any, Any]: ...
    async def fault(self, server: Any, **fault: Any) -> Any: ...


class ServerFaults:
    def __init__(self, pair: _Pair):
        self.pair = pair
        self._cut: set[str] = set()

    def describe(self) -> list[str]:
        return [f"{name}: link cut (by the server)" for name in sorted(self._cut)]

    async def cut_link(self, server: str, direction: str = "both") -> str:
        if direction not in LINK_DIRECTIONS:
            raise CannotMake(f"the link is cut {', '.join(LINK_DIRECTIONS)}, not {direction!r}")
        await self._fault(server, fault="cut-link", direction=direction)
        self._cut.add(server)
        return {"both": "both ways", "outbound": "outbound", "inbound": "inbound"}[direction]

    async def heal_link(self, server: str) -> None:
        await self._fault(server, fault="heal-link")
        self._cut.discard(server)

    async def packet_loss(self, a: str, b: str, percent: float) -> None:
        raise CannotMake(f"the loopback lab cannot drop packets at a rate: {SITES_ONLY}")

    async def isolate_clients(self, server: str) -> None:
        raise CannotMake(f"the loopback lab has no clients' site to isolate: {SITES_ONLY}")

    async def heal(self) -> None:
        for name in sorted(self._cut):
            await self.heal_link(name)

    async def _fault(self, name: str, **fault: Any) -> Any:
        server = next((s for s in self.pair.servers if s.name == name), None)
        if server is None:
            raise CannotMake(f"there is no server {name!r}: primary or secondary")
        reply = await self.pair.fault(server, **fault)
        if not reply.ok:
            body = reply.body
            raise CannotMake(body.get("message", str(body)) if isinstance(body, dict) else str(body))
        return reply
