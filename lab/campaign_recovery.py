"""The fault campaign's documented recovery, as an operator runs it, and convergence.

``pair_state`` reads both servers' HA status and says what to do next; ``Recovery``
does it until one server is active and the Standby Server Status is Ready: Method 1
for a split brain (Go Standby, REPAIR, ipicsrsync), REPAIR after a Go Standby,
Configure again after HA was unconfigured at 90 % of the transaction log, Unconfigure
then Configure when only the primary is still configured.  After each recovery the
standby must fetch every file the active holds; at the end both databases must become
identical (``converge``).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ipics_lab import checker
from ipics_lab.campaign_history import History
from ipics_lab.campaign_pair import CampaignClock, CampaignError, CampaignPair
from ipics_lab.supervisor import wait_until
from ipics_server.core.commands import HA_STATUS, PENDING, REPAIR, RSYNC, RSYNC_LOG

#: emulated seconds (server/core/roles.py, server/config.py)
RECONFIGURATION_S = 120.0
FILE_REPLICATION_DELAY_S = 10.0


def pair_state(p: dict | None, s: dict | None) -> tuple[str, str]:
    """What the recovery should do next: ``ready``, ``split_brain`` (Method 1),
    ``repair_pending`` (Go Standby done, REPAIR not), ``configure`` (HA unconfigured,
    configure it again from the primary), ``unconfigure`` (the primary still configured
    but the secondary not), or ``flux`` (wait: something is under way)."""
    if p is None or s is None:
        return "flux", "a server does not answer"
    for name, st in (("primary", p), ("secondary", s)):
        if st["role"] == "transitioning":
            return "flux", f"the {name} is transitioning"
        down = [k for k, v in st["services"].items() if v != "running"]
        if down:
            return "flux", f"{', '.join(down)} not running on the {name}"
    if p["ha"] == "configured" and s["ha"] == "configured":
        roles = (p["role"], s["role"])
        if roles == ("active", "active"):
            if p["split_brain"] and s["split_brain"]:
                return "split_brain", "both servers active and communicating"
            return "flux", "both active, not hearing each other yet"
        if "active" in roles and "standby" in roles:
            act, sb = (p, s) if p["role"] == "active" else (s, p)
            if sb["awaiting_repair"]:
                if act["repair"]["running"] or sb["repair"]["running"]:
                    return "flux", "REPAIR running"
                return "repair_pending", "Go Standby done, REPAIR not run"
            if act["standby_server_status"] == "Ready" and sb["standby_server_status"] == "Ready":
                return "ready", f"the {'primary' if act is p else 'secondary'} is active, the standby Ready"
            return "flux", "the standby is synchronizing"
        return "flux", f"roles {roles[0]}/{roles[1]}"
    if p["ha"] != "configured" and p["role"] == "standalone":
        if s["ha"] == "configured" and s["role"] == "standby":
            return "flux", "the secondary follows the primary's unconfigure"
        return "configure", f"HA {p['ha']} on the primary (standalone), {s['ha']} on the secondary"
    if p["ha"] == "configured" and s["ha"] != "configured":
        if p["role"] == "active":
            return "unconfigure", "the primary is configured and active, the secondary is not configured"
        return "flux", "the primary follows the secondary's unconfigure"
    return "flux", f"HA {p['ha']}/{s['ha']}, roles {p['role']}/{s['role']}"


@dataclass
class Recovery:
    """The documented recovery and the waits for the standby to catch up; ``recoveries``
    and ``file_checks`` say what each did."""

    clock: CampaignClock
    servers: CampaignPair
    history: History
    notes: list[str]
    interval_s: int
    missed_count: int
    recoveries: list[dict] = field(default_factory=list)
    file_checks: list[dict] = field(default_factory=list)
    converge_detail: str = ""

    async def recover(self, why: str, timeout_s: float = 120) -> bool:
        """The documented recovery, as an operator would run it, until one server is
        active and the Standby Server Status is Ready."""
        entry: dict[str, Any] = {"why": why, "at_s": round(self.clock.now(), 2), "steps": []}
        self.recoveries.append(entry)
        deadline = time.monotonic() + timeout_s
        last_state = None
        actions = {
            "split_brain": self.method_1,
            "repair_pending": self.repair,
            "configure": self.configure,
            "unconfigure": self.unconfigure,
        }
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no recovery within {timeout_s:g} s; last state {last_state}")

                async def actionable():
                    nonlocal last_state
                    p, s = await self.servers.statuses()
                    last_state = pair_state(p, s)
                    return last_state if last_state[0] != "flux" else None

                state, detail = await wait_until(actionable, remaining, "an actionable pair state", interval_s=0.05)
                if state == "ready":
                    break
                entry["steps"].append({"state": state, "detail": detail, "at_s": round(self.clock.now(), 2)})
                self.clock.log(f"recovery ({why}): {state}: {detail}")
                try:
                    await actions[state](entry)
                except Exception as exc:  # noqa: BLE001 - refused or timed out: look at the pair again
                    entry["steps"].append({"failed": f"{type(exc).__name__}: {exc}"})
                    self.notes.append(
                        f"recovery ({why}) step {state} failed, looking again: {type(exc).__name__}: {exc}"
                    )
                    self.clock.log(f"recovery ({why}): {state} failed: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(self.clock.emulated(self.interval_s))  # retry delay
            await self.servers.fresh_token_everywhere()
            await self.check_file_replication(why)
        except TimeoutError as exc:
            entry["outcome"] = f"FAILED: {exc}"
            p, s = await self.servers.statuses()
            entry["final_roles"] = {"primary": p and p["role"], "secondary": s and s["role"]}
            self.clock.log(f"recovery ({why}) failed: {exc}")
            return False
        entry["outcome"] = (
            "Ready"
            if not entry["steps"]
            else "Ready after " + ", ".join(st["state"] for st in entry["steps"] if "state" in st)
        )
        entry["done_at_s"] = round(self.clock.now(), 2)
        self.history.collect_discarded()
        return True

    async def method_1(self, entry: dict) -> None:
        """Method 1: Go Standby on the secondary, REPAIR as informix, ipicsrsync."""
        async with await self.servers.pair.admin(self.servers.pair.secondary) as s:
            reply = await s.post("/api/v1/ha/go-standby")
        if not reply.ok:
            entry["steps"].append({"go_standby_refused": reply.body})
            return  # the state changed meanwhile: look again
        await self.servers.pair.wait_status(self.servers.pair.primary, 20, partner_role="standby")
        await self.repair(entry)
        await self.rsync(entry)

    async def repair(self, entry: dict) -> None:
        """``ipicsedr_control_repl REPAIR`` as informix (on the secondary; either works),
        watched with ``service ipics ha-status`` until nothing is pending and the
        standby is Ready; run again if a repair process failed."""
        for _attempt in range(3):

            async def started():
                out, status = await self.servers.shell("secondary", REPAIR, user="informix")
                if status == 0 or "already running" in out:
                    return out
                self.notes.append(f"REPAIR refused, trying again: {out.strip()}")
                return None

            await wait_until(started, 30, "ipicsedr_control_repl REPAIR to start", interval_s=0.2)

            async def repaired():
                text, _ = await self.servers.shell("primary", HA_STATUS, user="informix")
                pending = text.split(PENDING)[1].strip()
                if pending.startswith("repair") and " failed " in pending:
                    return "failed"
                return (
                    text
                    if pending.startswith("none")
                    and "last REPAIR finished" in text
                    and "Standby Server Status        : Ready" in text
                    else None
                )

            text = await wait_until(
                repaired, 60, "the repair processes to finish and the standby to be Ready", interval_s=0.1
            )
            if text != "failed":
                entry["steps"].append({"repair": text.split(PENDING)[1].strip().splitlines()[-1].strip()})
                return
            self.notes.append("a REPAIR process failed: running REPAIR again")
        raise CampaignError("REPAIR failed three times")

    async def rsync(self, entry: dict) -> None:
        log_file = self.servers.pair.primary.data_dir / "logs" / "rsync.log"
        offset = log_file.stat().st_size if log_file.exists() else 0
        for _ in range(3):
            out, status = await self.servers.shell("primary", RSYNC)
            if status != 0:
                raise CampaignError(f"ipicsrsync refused: {out.strip()}")

            async def finished(offset=offset):
                # the chapter's monitoring, and this run's part of the log (earlier runs
                # finished too)
                tail, _ = await self.servers.shell("primary", f"tail -n 50 {RSYNC_LOG}")
                new = log_file.read_text()[offset:] if log_file.exists() else ""
                if "ipicsrsync finished" in new or "ERROR" in new:
                    return tail, new
                return None

            tail, new = await wait_until(finished, 60, "ipicsrsync to finish", interval_s=0.1)
            if "ERROR" not in new:
                deleted = len(checker.RSYNC_DELETED.findall(new))
                entry["steps"].append(
                    {
                        "rsync": f"finished, {deleted} deleted on the secondary",
                        "deleted_on_secondary": deleted,
                        "at_s": round(self.clock.now(), 2),
                        "tail": tail.strip().splitlines()[-1],
                    }
                )
                return
            offset = log_file.stat().st_size
            self.notes.append(f"ipicsrsync failed, run again: {new.strip().splitlines()[-1]}")
        raise CampaignError("ipicsrsync failed three times")

    async def configure(self, entry: dict) -> None:
        """HA unconfigured (at 90 % of the transaction log): configure it again from the
        primary; the trust still exists."""
        start = self.clock.now()
        try:
            await self.servers.pair.configure(self.interval_s, self.missed_count)
        finally:
            entry["steps"].append(
                {
                    "configure": "HA configured again from the primary",
                    "from_s": round(start, 3),
                    "to_s": round(self.clock.now(), 3),
                }
            )
        await self.servers.mint_token(prefer="primary")

    async def unconfigure(self, entry: dict) -> None:
        """The primary still configured and active, the secondary not: Unconfigure on the
        primary, wait for the reconfiguration, then Configure."""
        async with await self.servers.pair.admin(self.servers.pair.primary) as p:
            reply = await p.post("/api/v1/ha/unconfigure")
        if not reply.ok:
            raise CampaignError(f"Unconfigure refused: {reply.body}")
        await self.servers.pair.wait_status(
            self.servers.pair.primary, self.clock.emulated(RECONFIGURATION_S) + 20, role="standalone"
        )

    # --------------------------------------------------------------- convergence
    async def wait_progress(self, remaining, what: str, max_s: float = 120) -> tuple[bool, str]:
        """Wait until ``remaining()`` (work left, a number) is 0, failing when it has not
        gone down for a while: a standby catching up on a backlog may take long, one
        that is stuck never gets there."""
        stall_s = 3 + self.clock.emulated(3 * (FILE_REPLICATION_DELAY_S + self.interval_s))
        start = best_at = time.monotonic()
        best = None
        while True:
            left = await remaining()
            if left == 0:
                return True, f"{what}: done after {time.monotonic() - start:.1f}s"
            now = time.monotonic()
            if best is None or left < best:
                best, best_at = left, now
            if now - best_at > stall_s or now - start > max_s:
                return False, (f"{what}: {left} left, no progress for {now - best_at:.1f}s (after {now - start:.1f}s)")
            await asyncio.sleep(0.1)  # polling period

    async def check_file_replication(self, why: str) -> None:
        """After a recovery: the standby must fetch every file the active holds now
        (file replication is slower than records, but must not stop)."""
        p, s = await self.servers.statuses()
        if not p or not s:
            return
        act = self.servers.pair.primary if p["role"] == "active" else self.servers.pair.secondary
        sb = self.servers.pair.secondary if act is self.servers.pair.primary else self.servers.pair.primary
        records = checker.read_records(act.data_dir / "ipics.sqlite3")
        live = {k for (t, k), v in records.items() if t == "files" and v[0] is not None}
        target = live & set(os.listdir(act.data_dir / "files"))

        async def missing():
            return len(target - set(os.listdir(sb.data_dir / "files")))

        ok, detail = await self.wait_progress(missing, f"{len(target)} files of the {act.name} to reach the {sb.name}")
        self.file_checks.append({"why": why, "at_s": round(self.clock.now(), 2), "ok": ok, "detail": detail})
        if not ok:
            self.clock.log(f"file replication stalled: {detail}")

    async def converge(self) -> bool:
        """Clients stopped: wait until both databases are identical and the standby has
        fetched every file the active has."""

        async def left():
            p, s = await self.servers.statuses()
            if not p or not s:
                return 10**9
            prim = checker.read_server(
                "primary", self.servers.pair.primary.host, self.servers.pair.primary.data_dir, status=p
            )
            sec = checker.read_server(
                "secondary", self.servers.pair.secondary.host, self.servers.pair.secondary.data_dir, status=s
            )
            db = checker.databases_identical(prim, sec)["differing"]
            files = checker.files_follow_rules(prim, sec)[0]
            return db + (0 if files["ok"] else int(files.get("missing_on_standby", 1)))

        ok, self.converge_detail = await self.wait_progress(left, "both servers to converge")
        return ok
