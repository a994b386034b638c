"""The fault campaign's hands on the pair: its clock and the pair as an operator reaches it.

``CampaignClock`` says how long the campaign has run and turns emulated seconds into
real ones; ``CampaignPair`` names the two servers, reads their HA status, runs shell
commands on them and calls the lab's fault API with an administrator token valid there
(``lab/campaign.py`` runs the campaign; the faults, the recovery and the history it
keeps are beside it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ipics_lab.netfaults import KernelFaults
from ipics_lab.server_faults import SITES_ONLY
from ipics_lab.supervisor import LabPair, ServerProcess, SetupError, wait_until
from ipics_server.adapters.httpclient import Reply, Unreachable


class CampaignError(RuntimeError):
    pass


class CampaignClock:
    """Real seconds since the campaign started, emulated seconds in real ones, and the
    log with the time in front."""

    def __init__(self, time_scale: float, log: Callable[[str], None]):
        self.time_scale = time_scale
        self._log = log
        self._t0 = time.monotonic()

    def start(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def emulated(self, seconds: float) -> float:
        """Real seconds for that many emulated seconds."""
        return seconds * self.time_scale

    def log(self, text: str) -> None:
        self._log(f"[{self.now():7.2f}s] {text}")

    def say(self, text: str) -> None:
        """A line without the time (the campaign's head and summary)."""
        self._log(text)


class CampaignPair:
    """The campaign's pair (made when the run begins): its servers by name, their
    status, their shell, and the lab's fault calls with the lab's tokens."""

    def __init__(self) -> None:
        self._pair: LabPair | None = None
        self._tokens: list[str] = []

    def start(self, pair: LabPair) -> None:
        self._pair = pair

    @property
    def started(self) -> bool:
        return self._pair is not None

    @property
    def pair(self) -> LabPair:
        """The campaign's pair, made when ``run`` begins."""
        if self._pair is None:
            raise CampaignError("the campaign has not started: it has no pair yet")
        return self._pair

    def server(self, name: str) -> ServerProcess:
        return self.pair.primary if name == "primary" else self.pair.secondary

    @staticmethod
    def other(name: str) -> str:
        return "secondary" if name == "primary" else "primary"

    def name_of(self, url: str | None) -> str | None:
        for s in self.pair.servers:
            if s.url == url:
                return s.name
        return None

    async def status(self, name: str) -> dict | None:
        try:
            return await self.pair.status(self.server(name))
        except Unreachable:
            return None

    async def statuses(self) -> tuple[dict | None, dict | None]:
        return await asyncio.gather(self.status("primary"), self.status("secondary"))

    async def shell(self, name: str, command: str, user: str = "ipicsadmin") -> tuple[str, int]:
        return await self.pair.shell(self.server(name), command, user)

    # --------------------------------------------------------------- lab fault calls
    async def cut_link(self, name: str, direction: str) -> None:
        """The link cut at that server: by the kernel in the sites topology, else by the
        server itself through the lab's fault API."""
        if self.pair.sites is not None:
            await self.kernel_faults().cut_link(name, direction)
        else:
            await self.lab_fault(name, fault="cut-link", direction=direction)

    async def heal_link(self, name: str) -> None:
        if self.pair.sites is not None:
            await self.kernel_faults().heal_link(name)
        else:
            await self.lab_fault(name, fault="heal-link")

    def kernel_faults(self) -> KernelFaults:
        """The sites topology's faults; a campaign on loopback cannot make them."""
        network = self.pair.network
        if not isinstance(network, KernelFaults):
            raise CampaignError(f"the loopback lab cannot make this fault: {SITES_ONLY}")
        return network

    async def lab_fault(self, name: str, timeout_s: float = 20, **fault) -> Reply:
        """``POST /api/v1/lab/faults`` on that server with an administrator token valid
        there: one of the lab's tokens (sessions replicate), or a new one."""
        server = self.server(name)

        async def attempt():
            async with server.client() as c:
                for token in reversed(self._tokens):
                    c.token = token
                    reply = await c.post("/api/v1/lab/faults", fault, timeout_s=3)
                    if reply.status != 401:
                        if not reply.ok:
                            raise CampaignError(f"fault {fault} refused by the {name}: {reply.body}")
                        return reply
            await self.mint_token(prefer=name)
            return None

        return await wait_until(attempt, timeout_s, f"the {name} to take the lab fault {fault}")

    async def mint_token(self, prefer: str) -> str | None:
        for name in (prefer, self.other(prefer)):
            try:
                token = await self.pair.login(self.server(name))
            except (SetupError, Unreachable):
                continue
            self._tokens.append(token)
            del self._tokens[:-20]
            return token
        return None

    async def fresh_token_everywhere(self, timeout_s: float = 20) -> None:
        """After a recovery: a token minted on the active, once valid on the standby too
        (Configure logs administrators out; sessions expire)."""
        p = await self.status("primary")
        active = "primary" if p and p.get("role") == "active" else "secondary"
        token = await self.mint_token(prefer=active)
        if token is None:
            return
        standby = self.server(self.other(active))
        async with standby.client(token) as c:

            async def valid():
                return (await c.get("/api/v1/ha/discarded", timeout_s=3)).status != 401

            await wait_until(valid, timeout_s, "the lab token to reach the standby")
