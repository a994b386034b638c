"""The long fault campaign: a real HA pair, clients writing and uploading, faults at random.

    .venv/bin/python bench/campaign.py [--seed N] [--duration 120] [--time-scale 0.01]
                                       [--faults kill,pause,...] [--clients 3] [--out PATH] [--keep]
                                       [--topology loopback|sites] [--modes MODES] [--report FILE]
    .venv/bin/python bench/campaign.py --compare [--seeds 101,102,...] [--duration 40] [--modes-compared ...]

Prints the seed first (a run is reproduced with ``--seed``: the same fault schedule;
what the servers make of it depends on timing), then one line per fault and recovery,
then the counts per class.  Writes ``bench/campaign_results.json`` (in the sites
topology, as root, ``bench/campaign_sites_results.json``: the cuts are the kernel's,
silent, and packets between the servers are lost at 5 % or 30 %):

    {"date", "machine", "seed", "duration_s", "time_scale", "ok",
     "counts": {class: n}, "faults_injected": {kind: n}, "faults": [...], "recoveries": [...],
     "invariants": {...},
     "unexplained": [...], "documented_losses": {class: [examples]}, "run_times_s": {...}, ...}

``--modes`` runs the pair in other modes than IPICS's (``ipics_lab.modes``); the
results then say what the run measured in them (``measures``: acknowledged writes lost,
split brains entered, time without an active, writes refused by answer) and whether
the modes' ``goals`` were met.

``--compare`` runs the same seeds in each mode of ``ipics_lab.modes.COMPARED`` (per
seed, every mode in turn) and writes ``bench/campaign_modes_results.json``: one row per
run, the distribution of each measure per mode over the seeds, and the goals checked on
the seeds where IPICS mode both lost acknowledged writes and entered a split brain:

    {"date", "machine", "seeds", "duration_s", "time_scale", "modes",
     "runs": [{"seed", "modes", "ok", "measures", "goals", ...}],
     "per_mode": {mode: {measure: {"min", "median", "mean", "max", "per_seed"}}},
     "seeds_where_ipics_lost_and_split": [...],
     "goals": {mode: {goal: {"met_on", "of", "missed_on"}}}}

The campaign is ``ipics_lab.campaign``, the classes and invariants
``ipics_lab.checker``.  ``--report FILE``: the campaign's after-action report (HTML, the
PDF beside it; docs/reports.md) from a recording of its faults, recoveries and the
checker's account of the writes, kept beside it (FILE with .ipicsrec).  Exit status 0
only if the checker accounts for every acknowledged write, every invariant holds and
every goal of the modes is met (with ``--compare``: in every run).
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
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ipics_lab import sites
from ipics_lab.campaign import FAULT_KINDS, Campaign
from ipics_lab.modes import COMPARED, LabModes, ModesError, add_modes_option
from ipics_lab.report.cli import recording_beside, report_option, write_run_report
from ipics_lab.scenario.cli import on_interrupt
from ipics_lab.sites import TOPOLOGIES

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
EXAMPLES = 10
#: --compare's defaults: 4 modes x 6 seeds x 40 s of faults take about 20 minutes on 2
#: cores (a run adds the pair's start, the recovery and the check: 5-10 s); every one of
#: these seeds draws a kill and a cut of the link longer than the failover window early
COMPARE_SEEDS = (101, 102, 103, 104, 105, 106)
COMPARE_DURATION_S = 40.0
#: the measures whose distribution per mode --compare reports
DISTRIBUTED = (
    "acknowledged_writes",
    "acknowledged_writes_lost",
    "acknowledged_writes_lost_unexplained",
    "acknowledged_file_contents_lost",
    "acknowledged_records_lost",
    "split_brains_entered",
    "without_active_real_s",
    "without_active_emulated_s",
    "writes_refused",
    "writes_not_acknowledged",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None, help="the campaign seed (default: a random one, printed)")
    p.add_argument("--duration", type=float, default=None, help="real seconds of faults (default 120; --compare: 40)")
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
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default bench/campaign_results.json (--compare: bench/campaign_modes_results.json)",
    )
    p.add_argument("--keep", action="store_true", help="keep the servers' data directories and logs")
    add_modes_option(p)
    p.add_argument(
        "--compare",
        action="store_true",
        help="run the same seeds in each mode compared and report the distribution per mode "
        f"(default seeds {','.join(map(str, COMPARE_SEEDS))}, {COMPARE_DURATION_S:g} s each)",
    )
    p.add_argument("--seeds", type=_seeds, default=COMPARE_SEEDS, help="--compare: comma-separated seeds")
    p.add_argument(
        "--modes-compared",
        type=_modes_list,
        default=COMPARED,
        help=f"--compare: comma-separated modes (default {','.join(COMPARED)})",
    )
    report_option(p)
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = COMPARE_DURATION_S if args.compare else 120.0
    if args.duration <= 0:
        p.error("--duration must be positive")
    return args


def _seeds(value: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds are integers separated by commas, not {value!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def _modes_list(value: str) -> tuple[str, ...]:
    names = []
    for spec in (v for v in value.split(",") if v.strip()):
        try:
            names.append(LabModes.parse(spec).name)
        except ModesError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if not names:
        raise argparse.ArgumentTypeError("give at least one mode")
    return tuple(names)


async def run(args: argparse.Namespace) -> dict:
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    return await run_seed(args, seed, args.modes)


async def run_seed(args: argparse.Namespace, seed: int, modes: LabModes) -> dict:
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
            modes=modes,
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
        "date": _now(),
        "machine": _machine(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "seed": seed,
        "duration_s": args.duration,
        "time_scale": args.time_scale,
        "topology": args.topology,
        "ok": r["ok"],
        "modes": r["modes"],
        "measures": r["measures"],
        "goals": r["goals"],
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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


# ------------------------------------------------------------------------ --compare
def flat_measures(row: dict) -> dict[str, float]:
    """One run's measures as the numbers --compare distributes."""
    m = row["measures"]
    writes = m.get("writes", {})
    return {
        "acknowledged_writes": m.get("acknowledged_writes", 0),
        "acknowledged_writes_lost": m.get("acknowledged_writes_lost", {}).get("total", 0),
        "acknowledged_writes_lost_unexplained": m.get("acknowledged_writes_lost", {}).get("unexplained", 0),
        "acknowledged_file_contents_lost": m.get("acknowledged_writes_lost", {}).get("file_contents", 0),
        "acknowledged_records_lost": m.get("acknowledged_writes_lost", {}).get("total", 0)
        - m.get("acknowledged_writes_lost", {}).get("file_contents", 0),
        "split_brains_entered": m.get("split_brains_entered", 0),
        "without_active_real_s": m.get("without_active_real_s", 0.0),
        "without_active_emulated_s": m.get("without_active_emulated_s", 0.0),
        "writes_refused": sum(writes.get("refused", {}).values()),
        "writes_not_acknowledged": sum(
            n for answer, n in writes.get("outcome_unknown", {}).items() if answer.endswith("not_acknowledged")
        ),
    }


def distribution(values: list[float]) -> dict[str, Any]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 2),
        "max": max(values),
        "per_seed": values,
    }


def summarize(runs: list[dict], modes: tuple[str, ...]) -> dict[str, Any]:
    """The distribution of each measure per mode, the seeds where IPICS mode both lost
    acknowledged writes and entered a split brain, and each mode's goals over all
    seeds and over those."""
    by_mode = {m: [r for r in runs if r["modes"] == m] for m in modes}
    ipics = {r["seed"]: flat_measures(r) for r in by_mode.get("ipics", [])}
    telling = sorted(s for s, m in ipics.items() if m["acknowledged_writes_lost"] > 0 and m["split_brains_entered"] > 0)
    per_mode, goals = {}, {}
    for mode, rows in by_mode.items():
        if not rows:
            continue
        flat = [flat_measures(r) for r in rows]
        per_mode[mode] = {
            "seeds": [r["seed"] for r in rows],
            **{k: distribution([f[k] for f in flat]) for k in DISTRIBUTED},
        }
        refused: dict[str, int] = {}
        for r in rows:
            for answer, n in r["measures"].get("writes", {}).get("refused", {}).items():
                refused[answer] = refused.get(answer, 0) + n
        per_mode[mode]["writes_refused_by_answer"] = dict(sorted(refused.items()))
        per_mode[mode]["runs_ok"] = sum(1 for r in rows if r["ok"])
        goals[mode] = {
            name: {
                "why": rows[0]["goals"][name]["why"],
                "met_on": sum(1 for r in rows if r["goals"].get(name, {}).get("met")),
                "of": len(rows),
                "missed_on": [r["seed"] for r in rows if not r["goals"].get(name, {}).get("met")],
                "met_on_seeds_where_ipics_lost_and_split": all(
                    r["goals"].get(name, {}).get("met") for r in rows if r["seed"] in telling
                )
                and any(r["seed"] in telling for r in rows),
            }
            for name, g in rows[0]["goals"].items()
            if g.get("goal")
        }
    return {"per_mode": per_mode, "seeds_where_ipics_lost_and_split": telling, "goals": goals}


async def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Every seed in every mode; the results file is written after each run (a run
    stopped halfway keeps what it measured)."""
    started = _now()
    runs: list[dict] = []
    results: dict[str, Any] = {}
    for seed in args.seeds:
        for mode in args.modes_compared:
            row = await run_seed(args, seed, LabModes.parse(mode))
            runs.append(
                {
                    "seed": seed,
                    "modes": row["modes"],
                    "ok": row["ok"],
                    "measures": row["measures"],
                    "goals": row["goals"],
                    "counts": row["counts"],
                    "faults_injected": row["faults_injected"],
                    "invariants_broken": {k: v["detail"] for k, v in row["invariants"].items() if not v["ok"]},
                    "unexplained_total": row["unexplained_total"],
                    "run_times_s": row["run_times_s"],
                }
            )
            results = {
                "date": started,
                "finished": _now(),
                "machine": _machine(),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "seeds": list(args.seeds),
                "duration_s": args.duration,
                "time_scale": args.time_scale,
                "topology": args.topology,
                "faults": args.faults or "all of the topology's",
                "modes": list(args.modes_compared),
                "ok": all(r["ok"] for r in runs),
                "runs": runs,
                **summarize(runs, args.modes_compared),
            }
            args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_comparison(results)
    return results


def print_comparison(results: dict[str, Any]) -> None:
    print(f"seeds where IPICS mode lost acknowledged writes and split: {results['seeds_where_ipics_lost_and_split']}")
    print(f"{'mode':28} {'lost (median/max)':>18} {'split brains':>13} {'no active s (median)':>21} {'refused':>8}")
    for mode, d in results["per_mode"].items():
        lost, split = d["acknowledged_writes_lost"], d["split_brains_entered"]
        print(
            f"{mode:28} {lost['median']:>9g}/{lost['max']:<8g} {split['median']:>6g}/{split['max']:<6g} "
            f"{d['without_active_real_s']['median']:>21g} {d['writes_refused']['median']:>8g}"
        )
        for name, g in results["goals"].get(mode, {}).items():
            print(f"  goal {name}: met on {g['met_on']} of {g['of']} seeds; missed on {g['missed_on']}")


async def write_campaign_report(r: dict, html: Path, started_at: float, topology: str) -> None:
    from ipics_lab.report.campaign import write_campaign_recording

    try:
        recording = await write_campaign_recording(recording_beside(html), r, started_at=started_at, topology=topology)
    except OSError as exc:
        print(f"no report: {recording_beside(html)} cannot be written ({exc.strerror or exc})", file=sys.stderr)
        return
    await write_run_report(recording, html, sys.stdout)


async def _stopped_by_signals(campaign: Coroutine[Any, Any, T]) -> T:
    """Ctrl-C or a TERM cancel the campaign: its pair (and the sites' namespaces) are
    stopped on the way out, never left running behind it."""
    task = asyncio.current_task()
    assert task is not None  # asyncio.run runs this coroutine as its main task
    on_interrupt(task.cancel)
    return await campaign


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    refusal = sites.topology_refusal(args)
    if refusal:  # said before anything starts, as ipics-lab up says it
        print(f"--topology sites: {refusal}", file=sys.stderr)
        return 2
    if args.out is None:
        args.out = HERE / (
            "campaign_modes_results.json"
            if args.compare
            else "campaign_sites_results.json"  # the loopback figure stays beside it
            if args.topology == "sites"
            else "campaign_results.json"
        )
    try:
        if args.compare:
            compared = asyncio.run(_stopped_by_signals(compare(args)))
            print(f"results written to {args.out}", flush=True)
            return 0 if compared["ok"] else 1
        results = asyncio.run(_stopped_by_signals(run(args)))
    except asyncio.CancelledError:
        print("campaign: stopped by a signal; its servers are stopped, nothing written", file=sys.stderr)
        return 130
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", flush=True)
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
