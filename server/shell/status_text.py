"""``service ipics ha-status``: the status JSON as the text an administrator reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.commands import NTPSETUP, PENDING, REPAIR, short
from ..modes_text import (
    synchronous_policy_words,
    synchronous_words,
    vote_words,
    witness_holder_words,
    witness_lease_words,
    witness_reach_words,
)

#: the witness's changes shown (the status keeps the last 20)
VOTES_SHOWN = 5


def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ha_status_text(st: dict[str, Any], name: str) -> str:
    hb = st["heartbeat"]
    rep = st["replication"]
    partner = st["partner"] or "-"
    if st["partner"]:
        partner += f" ({st['partner_role'] or 'not answering'})"
    lines = [
        f"Cisco IPICS HA status: {name} ({st['server'] or 'no server license'})",
        f"  Time                         : {_utc(st['time'])}",
        f"  Role                         : {st['role']}"
        + ("  [IPICS services stopped]" if st["ipics_stopped"] else ""),
        f"  HA                           : {st['ha']}",
        f"  Modes                        : {st['modes']['label']}",
        f"  Partner                      : {partner}",
        f"  Standby Server Status        : {st['standby_server_status'] or '-'}",
        f"  Heartbeat                    : port {hb['port']}, every {hb['interval_s']} s, "
        f"{hb['missed_now']} of {hb['missed_count']} missed",
        "  Clock skew to partner        : "
        + ("-" if st["clock_skew_s"] is None else f"{st['clock_skew_s']:+.1f} s (limit 30 s)"),
        f"  NTP servers                  : {', '.join(st['ntp_servers']) or f'none ({NTPSETUP} -s enable)'}",
        "  Services                     : " + ", ".join(f"{k} {v}" for k, v in st["services"].items()),
        f"  Transaction log              : {rep['transaction_log_used_percent']:.1f}% of "
        f"{rep['transaction_log_capacity']} entries ({rep['transaction_log_state']})",
    ]
    lines += _modes_lines(st)
    if st["transition"]:
        t = st["transition"]
        lines.append(f"  Transitioning to {t['to']:<12}: {t['remaining_s']:.0f} s left ({t['reason']})")
    split = st["split"]
    if split:
        lines += [
            f"  SPLIT BRAIN                  : both servers active since {_utc(split['since'])} ({split['duration']})",
            f"  Recommended                  : {split['recommendation']}",
        ]
    else:
        lines.append("  Split brain                  : no")
    if st["awaiting_repair"]:
        lines.append(f"  Waiting for                  : {short(REPAIR)} (run as informix)")
    lines.append(f"  Decision                     : {st['decision']}")
    if st["messages"]:
        lines.append("Messages:")
        lines += [f"  {_utc(m['at'])} {m['level'].upper()}: {m['text']}" for m in st["messages"][-10:]]
    lines.append(PENDING)
    pending = st["repair"]["pending"]
    if pending:
        lines += [f"  repair {p['table']:<12} {p['state']:<8} started {_utc(p['started_at'])}" for p in pending]
    else:
        lines.append("  none")
    last = st["repair"].get("last")
    if last and not pending:
        lines.append(
            f"  last REPAIR finished {_utc(last['finished_at'])}: {last['copied_to_active']} records "
            f"copied to the active, {last['copied_to_standby']} to the standby, "
            f"{last['replaced_on_standby']} replaced by the primary's"
        )
    return "\n".join(lines) + "\n"


def _modes_lines(st: dict[str, Any]) -> list[str]:
    """Synchronous replication and the witness, when the pair runs them (none in IPICS mode)."""
    lines = []
    sync = st.get("synchronous")
    if sync:
        lines += [
            f"  Synchronous replication      : {synchronous_words(sync)}",
            f"  Synchronous policy           : {synchronous_policy_words(sync)}",
            f"  Writes refused               : {sync['writes_refused']}, acknowledged without the standby: "
            f"{sync['acknowledged_without_standby']}, waiting now: {sync['writes_waiting']}",
        ]
    witness = st.get("witness")
    if witness:
        lines += [
            f"  Witness                      : {witness['address']} ({witness_reach_words(witness)})",
            f"  Witness's vote held by       : {witness_holder_words(witness, st['server'])}",
            f"  Lease                        : {witness_lease_words(witness)}",
            f"  Votes                        : {witness['votes_granted']} granted, {witness['votes_refused']} "
            f"refused, {witness['unreachable']} unanswered",
        ]
        votes = witness["votes"][-VOTES_SHOWN:]
        lines += [f"    {_utc(v['at'])} {vote_words(v, st['server'])}" for v in votes]
    return lines
