"""The long fault campaign: a real HA pair, clients writing and uploading, faults at random.

    .venv/bin/python bench/campaign.py [--seed N] [--duration 120] [--time-scale 0.01]
                                       [--faults kill,pause,...] [--clients 3] [--out PATH] [--keep]
                                       [--topology loopback|sites] [--report FILE]

Prints the seed first (a run is reproduced with ``--seed``: the same fault schedule;
what the servers make of it depends on timing), then one line per fault and recovery,
then the counts per class.  Writes ``bench/campaign_results.json`` (in the sites
topology, as root, ``bench/campaign_sites_results.json``: the cuts are the kernel's,
silent, and packets between the servers are lost at 5 % or 30 %):

    {"date", "machine", "seed", "duration_s", "time_scale", "ok",
     "counts": {class: n}, "faults_injected": {kind: n}, "faults": [...], "recoveries": [...],
     "invariants": {...},
     "unexplained": [...], "documented_losses": {class: [examples]}, "run_times_s": {...}, ...}

The campaign is ``ipics_lab.campaign``, the classes and invariants
``ipics_lab.checker``.  ``--report FILE``: the campaign's after-action report (HTML, the
PDF beside it; docs/reports.md) from a recording of its faults, recoveries and the
checker's account of the writes, kept beside it (FILE with .ipicsrec).  Exit status 0
only if the checker accounts for every acknowledged write and every invariant holds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ipics_lab import sites
from ipics_lab.campaign import FAULT_KINDS, Campaign
from ipics_lab.report.cli import recording_beside, report_option, say_written
from ipics_lab.sites import TOPOLOGIES

HERE = Path(__file__).resolve().parent
EXAMPLES = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None, help="the campaign seed (default: a random one, printed)")
    p.add_argument("--duration", type=float, default=120.0, help="real seconds of faults (default 120)")
    p.add_argument("--time-scale", type=float, default=0.01, help="real seconds per emulated second (0.01)")
    p.add_argument(
        "--faults",
        default=None,
        help=f"comma-separated faults to draw from (default: every fault of the topology: {','.join(FAULT_KINDS)}, "
        "and packet-loss in the sites topology)",
    )
    p.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="loopback",
        help="loopback (default), or sites (as root): the servers in network namespaces of their own, "
        "the cuts and packet loss made by the kernel",
    )
    p.add_argument("--clients", type=int, default=3, help="concurrent clients (default 3)")
    p.add_argument("--out", type=Path, default=HERE / "campaign_results.json")
    p.add_argument("--keep", action="store_true", help="keep the servers' data directories and logs")
    report_option(p)
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> dict:
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    root = Path(tempfile.mkdtemp(prefix=f"ipics-campaign-{seed}-"))
    started_at = time.time()
    try:
        campaign = Campaign(
            root,
            seed,
            args.duration,
            args.time_scale,
            faults=[f for f in args.faults.split(",") if f] if args.faults else None,
            clients=args.clients,
            topology=args.topology,
        )
        report = await campaign.run()
    finally:
        if args.keep:
            print(f"data directories and logs kept in {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
    r = report.to_json()
    if args.report is not None:
        await write_campaign_report(r, args.report, started_at, args.topology)
    kinds: dict[str, int] = {}
    for f in r["faults"]:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "seed": seed,
        "duration_s": args.duration,
        "time_scale": args.time_scale,
        "topology": args.topology,
        "ok": r["ok"],
        "counts": r["counts"],
        "acknowledged_writes": sum(r["counts"].values()),
        "faults_injected": kinds,
        "faults": r["faults"],
        "recoveries": r["recoveries"],
        "invariants": r["invariants"],
        "unexplained_total": len(r["unexplained"]),
        "unexplained": r["unexplained"][: EXAMPLES * 5],
        "documented_losses": {k: v[:EXAMPLES] for k, v in r["documented_losses"].items()},
        "clients": r["clients"],
        "info": r["info"],
        "run_times_s": r["run_times_s"],
        "notes": r["notes"],
    }


async def write_campaign_report(r: dict, html: Path, started_at: float, topology: str) -> None:
    from ipics_lab.report import write_report_async
    from ipics_lab.report.campaign import write_campaign_recording

    try:
        recording = await write_campaign_recording(recording_beside(html), r, started_at=started_at, topology=topology)
        say_written(await write_report_async(recording, html), sys.stdout)
    except OSError as exc:
        print(f"no report: {html} cannot be written ({exc.strerror or exc})", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    refusal = sites.topology_refusal(args)
    if refusal:  # said before anything starts, as ipics-lab up says it
        print(f"--topology sites: {refusal}", file=sys.stderr)
        return 2
    if args.out == HERE / "campaign_results.json" and args.topology == "sites":
        args.out = HERE / "campaign_sites_results.json"  # the loopback figure stays beside it
    results = asyncio.run(run(args))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", flush=True)
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
