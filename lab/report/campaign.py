"""A fault campaign's run as a recording, so it has an after-action report too.

A campaign (``ipics_lab.campaign``) keeps no timeline of its own: what it records is
its faults (when injected, when healed), its recoveries (each step of the documented
procedure) and, at the end, the checker's account of every acknowledged write.  The
recording holds exactly that, at the times the campaign measured (real seconds since
it started; emulated seconds through the time scale): minimal, but nothing made up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipics_lab.checker import DOCUMENTED_LOSSES, UNEXPLAINED
from ipics_lab.recording import Header, RecordingWriter
from ipics_lab.trainer.timeline import Event

SERVERS = ("primary", "secondary")


def _words(cls: str) -> str:
    return cls.replace("_", " ")


def campaign_events(report: dict[str, Any]) -> list[tuple[float, str, str, str | None]]:
    """(real seconds, kind, text, server) of each fault, heal and recovery step, in time order."""
    out: list[tuple[float, str, str, str | None]] = []
    for f in report.get("faults", []):
        target = f.get("target")
        server = target if target in SERVERS else None
        params = ", ".join(f"{k} {v}" for k, v in (f.get("params") or {}).items())
        what = f"fault {f.get('index')}: {f.get('kind')} on the {target}" + (f" ({params})" if params else "")
        out.append((float(f["at_s"]), "fault", what, server))
        if f.get("healed_at_s") is not None:
            out.append((float(f["healed_at_s"]), "fault", f"fault {f.get('index')} healed", server))
    for r in report.get("recoveries", []):
        out.append((float(r["at_s"]), "action", f"recovery {r.get('why', '')}: started", None))
        for step in r.get("steps", []):
            at = step.get("at_s", step.get("from_s"))
            words = "; ".join(f"{k}: {v}" for k, v in step.items() if k not in ("at_s", "from_s", "to_s"))
            if at is not None:
                out.append((float(at), "action", f"recovery {r.get('why', '')}: {words}", None))
        if r.get("done_at_s") is not None:
            out.append((float(r["done_at_s"]), "action", f"recovery {r.get('why', '')}: {r.get('outcome')}", None))
    return sorted(out, key=lambda e: e[0])


def campaign_result(report: dict[str, Any]) -> dict[str, Any]:
    """The writes as the checker accounted for them; lost: the documented losses and the unexplained."""
    counts: dict[str, int] = report.get("counts", {})
    losses = [*DOCUMENTED_LOSSES, UNEXPLAINED]
    examples = {**report.get("documented_losses", {}), UNEXPLAINED: report.get("unexplained", [])}
    why = []
    for cls in losses:
        if counts.get(cls):
            first: dict[str, Any] = next(iter(examples.get(cls) or []), {})
            example = (
                f" (e.g. {first.get('op')} {first.get('name') or first.get('key')}: {first['reason']})"
                if first.get("reason")
                else ""
            )
            why.append(f"{counts[cls]} {_words(cls)}{example}")
    refused = (report.get("clients") or {}).get("refused") or {}
    failed = [name for name, inv in (report.get("invariants") or {}).items() if not inv.get("ok")]
    outcome = (
        f"Fault campaign seed {report.get('seed')}: {'OK' if report.get('ok') else 'FAILED'}: "
        f"{len(report.get('faults', []))} faults, {sum(counts.values())} acknowledged writes, "
        f"{counts.get(UNEXPLAINED, 0)} unexplained"
        + (f"; invariants broken: {', '.join(failed)}" if failed else "; every invariant held")
    )
    return {
        "passed": bool(report.get("ok")),
        "outcome": outcome,
        "writes": {
            "acknowledged": sum(counts.values()),
            "lost": sum(counts.get(cls, 0) for cls in losses),
            "lost_why": why,
            "refused": sum(refused.values()) if isinstance(refused, dict) else refused,
        },
    }


async def write_campaign_recording(
    path: Path, report: dict[str, Any], *, started_at: float, topology: str = "loopback"
) -> Path:
    """``report``: the campaign's ``Report.to_json()``."""
    scale = float(report["time_scale"])
    details = {
        "seed": report.get("seed"),
        "duration_s": report.get("duration_s"),
        "invariants": {k: v.get("detail", v.get("ok")) for k, v in (report.get("invariants") or {}).items()},
    }
    writer = RecordingWriter(
        path, Header("campaign", f"seed {report.get('seed')}", started_at, scale, topology, details=details)
    )
    end = 0.0
    for at, kind, text, server in campaign_events(report):
        writer.event(Event(round(at, 3), at / scale, kind, text, server))
        end = max(end, at)
    end = max(end, float((report.get("run_times_s") or {}).get("total", end)))
    writer.result(campaign_result(report), round(end, 3), end / scale)
    await writer.close()
    return path
