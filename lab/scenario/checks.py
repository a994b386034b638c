"""Checking an expectation against the real lab: the servers' status, the consoles,
who is heard on a channel.  Each check returns whether it holds and what was seen,
in words for the report ("role standby, standby_server_status Not Ready")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ipics_lab.scenario.clients import ScenarioClient
from ipics_lab.scenario.model import Expectation
from ipics_lab.supervisor import LabPair
from ipics_server.adapters.httpclient import Unreachable

#: real seconds a status request may take before the server counts as not answering
STATUS_TIMEOUT_S = 2.0


@dataclass
class Context:
    """What the checks look at: the pair, the consoles, the channel ids the lab knows,
    and what was there before (messages when the run began, audio heard when the step
    began), so an old message or an earlier talk does not pass a new check."""

    pair: LabPair
    clients: dict[str, ScenarioClient]
    channel_ids: dict[str, str]
    old_messages: dict[str, set[tuple[Any, str]]] = field(default_factory=dict)
    heard_before: dict[str, Counter] = field(default_factory=dict)

    async def status(self, server: str) -> dict | None:
        s = self.pair.primary if server == "primary" else self.pair.secondary
        try:
            async with s.client() as c:
                reply = await c.get("/api/v1/ha/status", timeout_s=STATUS_TIMEOUT_S)
        except (Unreachable, TimeoutError):
            return None
        return reply.body if reply.ok and isinstance(reply.body, dict) else None

    async def remember_messages(self) -> None:
        for server in ("primary", "secondary"):
            st = await self.status(server)
            self.old_messages[server] = {(m.get("at"), m.get("text")) for m in (st or {}).get("messages", [])}

    def remember_heard(self) -> None:
        self.heard_before = {user: Counter(c.heard) for user, c in self.clients.items()}


async def check(exp: Expectation, ctx: Context) -> tuple[bool, str]:
    """(holds, what was seen)."""
    if exp.subject == "server":
        return await _server(exp, ctx)
    client = ctx.clients.get(exp.who)
    if client is None:
        return False, f"{exp.who} has no console (never logged in)"
    if exp.subject == "client":
        return _client(exp, client)
    return _listener(exp, client, ctx)


async def _server(exp: Expectation, ctx: Context) -> tuple[bool, str]:
    st = await ctx.status(exp.who)
    checks = exp.checks
    if st is None:
        ok = checks.get("reachable") is False and len(checks) == 1
        return ok, "not answering (powered off?)"
    seen, ok = [], True
    for key, wanted in checks.items():
        if key == "reachable":
            ok &= wanted is True
            seen.append("answering")
        elif key == "message":
            new = [
                m.get("text", "")
                for m in st.get("messages", [])
                if (m.get("at"), m.get("text")) not in ctx.old_messages.get(exp.who, set())
            ]
            ok &= any(wanted in text for text in new)
            seen.append("new messages: " + ("; ".join(repr(t) for t in new[-3:]) if new else "none"))
        elif key == "txlog_percent":
            used = float((st.get("replication") or {}).get("transaction_log_used_percent", 0.0))
            ok &= used >= wanted
            seen.append(f"transaction log at {used:g} %")
        else:
            value = st.get(key)
            ok &= value == wanted
            seen.append(f"{key} {word(value)}")
    return ok, ", ".join(seen)


def _client(exp: Expectation, client: ScenarioClient) -> tuple[bool, str]:
    seen, ok = [], True
    for key, wanted in exp.checks.items():
        if key == "state":
            ok &= client.session.state.value == wanted
            seen.append(client.describe())
        elif key == "on":
            ok &= client.server_name == wanted
            seen.append(f"on the {client.server_name}" if client.server_name else "on no server")
        elif key in ("channels_contain", "channels_lack"):
            names = client.channel_names()
            present = [n in names for n in wanted]
            ok &= all(present) if key == "channels_contain" else not any(present)
            seen.append(f"channels {', '.join(names) or 'none'}")
        elif key == "notice":
            texts = [n.text for n in client.session.notices]
            ok &= any(wanted in t for t in texts)
            seen.append("last notice: " + (repr(client.name_servers(texts[-1])) if texts else "none"))
    return ok, ", ".join(dict.fromkeys(seen))  # a key seen twice (state + on) is said once


def _listener(exp: Expectation, client: ScenarioClient, ctx: Context) -> tuple[bool, str]:
    talker, channel = exp.checks["hears"], exp.checks["channel"]
    if client.floor is None:
        return False, "no media router in this lab"
    group = client.channel_id(channel)  # a console listens to the channels it shows
    if group is None:
        return False, f"{client.user}'s console has no channel {channel}"
    now = client.floor.talker(group)
    frames = client.heard[(group, talker)] - ctx.heard_before.get(client.user, Counter())[(group, talker)]
    ok = now == talker and frames > 0
    return ok, f"{client.user}'s console shows {now or 'nobody'} talking on {channel}, {frames} frames from {talker}"


def word(value: Any) -> str:
    """A value as a report says it: none, true, false, or its text."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
