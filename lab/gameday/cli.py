"""``ipics-lab gameday --seed N --duration D``: faults at random times for a team to handle.

It starts the trainer's lab (in the lab's folder, so ``ipics-lab shell``, ``power``,
``console`` and ``phone`` find it without ``--lab-dir``), prints where everything is
and how many faults will come (not which, nor when), records the day, makes each fault
at its time, and ends at the duration, on Ctrl-C or when someone types ``end``: then
it prints what happened, writes the result into the recording and the after-action
report beside it (or to ``--report FILE``), and stops the lab.

Exit status: 0 the pair ended healthy, 1 it did not (or the report could not be
written), 2 bad arguments or a lab that does not start.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ipics_lab import sites
from ipics_lab.gameday.schedule import GameDayFault, make_gameday
from ipics_lab.modes import LabModes, add_modes_option
from ipics_lab.report.cli import report_file_refusal, report_printer, write_run_report
from ipics_lab.scenario.durations import describe_duration, parse_duration
from ipics_server.clock import check_time_scale

EXIT_HEALTHY, EXIT_NOT_HEALTHY, EXIT_UNUSABLE = 0, 1, 2
#: what a person types to end the day early
END_WORD = "end"


def add_gameday_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, required=True, help="the same seed gives the same faults at the same times")
    parser.add_argument(
        "--duration",
        type=_duration,
        required=True,
        help='how long the day lasts, emulated: "30min", "1h 30min", "45min" (at least 5 min)',
    )
    parser.add_argument(
        "--faults", type=int, default=None, help="how many faults (default: drawn from the seed, one per 5 to 15 min)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per emulated second (default 1: real time, for a team)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="the lab's folder (default: the one ipics-lab up uses)"
    )
    parser.add_argument(
        "--recording",
        type=Path,
        default=None,
        help="the recording's file (default: DATA_DIR/gamedays/gameday-SEED-DATE.ipicsrec)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the report (FILE.html, its PDF beside it; default: beside the recording)",
    )
    sites.add_topology_option(parser)
    add_modes_option(parser)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(ns: argparse.Namespace) -> int:
    from ipics_lab.where import default_lab_dir

    try:
        check_time_scale(ns.time_scale)
    except ValueError as exc:
        return _refuse(f"--time-scale: {exc}")
    refusal = sites.topology_refusal(ns)
    if refusal:
        return _refuse(f"--topology sites: {refusal}")
    try:
        schedule = make_gameday(ns.seed, ns.duration, ns.topology, ns.modes, ns.faults)
    except ValueError as exc:
        return _refuse(str(exc))
    root = (ns.data_dir or default_lab_dir()).expanduser().resolve()
    recording = ns.recording or root / "gamedays" / f"gameday-{ns.seed}-{time.strftime('%Y%m%d-%H%M%S')}.ipicsrec"
    report = ns.report or recording.with_suffix(".html")
    if ns.report is not None and (refusal := report_file_refusal(ns.report, makes_folder=True)):
        return _refuse(f"--report: {refusal}")  # said before a day of work, not after it
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(root / "lab.lock", "w")  # noqa: SIM115 (held for the whole day)
    except OSError as exc:
        return _refuse(f"the lab did not start: {exc}")
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _refuse(f"another lab is running with the data directory {root}; stop it or pass another --data-dir")
        lab_dir_arg = f" --lab-dir {root}" if ns.data_dir is not None else ""
        return asyncio.run(_day(ns, root, schedule, recording.expanduser().resolve(), report, lab_dir_arg))


def _refuse(message: str) -> int:
    print(f"ipics-lab gameday: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


async def _day(
    ns: argparse.Namespace, root: Path, schedule: list[GameDayFault], recording: Path, report: Path, lab_dir_arg: str
) -> int:
    from ipics_lab.gameday.run import GameDay
    from ipics_lab.scenario.cli import on_interrupt, start_lab
    from ipics_lab.trainer.lab import TrainerLab
    from ipics_lab.where import where_text

    modes: LabModes = ns.modes
    print(f"Starting the lab in {root} (time scale {ns.time_scale:g}, {ns.topology}, {modes.label}) ...", flush=True)
    # the day records itself from its start (its faults' times count from there): not from the lab's
    lab = TrainerLab(root, time_scale=ns.time_scale, topology=ns.topology, modes=modes, record=None)
    stop = asyncio.Event()
    loop, main_task = asyncio.get_running_loop(), asyncio.current_task()
    assert main_task is not None  # asyncio.run runs this coroutine as its main task
    day: GameDay | None = None

    def interrupted() -> None:  # Ctrl-C or TERM: the day ends (with its report); while starting, stop
        if day is not None:
            stop.set()
        else:
            main_task.cancel()

    on_interrupt(interrupted)
    unwatch: Callable[[], None] = lambda: None  # noqa: E731
    async with report_printer(report) as printer:
        try:
            summary = await start_lab(lab)
            if summary is None:
                return EXIT_UNUSABLE
            if printer is not None:  # the report's Chromium, ready at the day's end
                printer.start_soon()
            print(where_text(summary, lab_dir_arg) + _ssh_lines(summary), end="", flush=True)
            day = GameDay(lab, schedule, seed=ns.seed, duration_s=ns.duration, recording=recording)
            print(
                f"\nThe game day begins: {len(schedule)} fault{'s' * (len(schedule) != 1)} will come in the next "
                f"{describe_duration(ns.duration)} (seed {ns.seed}). Handle them at the Administration Console, "
                f"the server shell, the IDC and the phones.\n"
                f"Type {END_WORD} and Enter (or press Ctrl-C) to end it early.",
                flush=True,
            )
            lab.timeline.subscribe(_print_team_action)
            unwatch = _watch_for_end(loop, stop)
            try:
                await day.run(stop)
            except Exception as exc:  # noqa: BLE001 - a bug must still leave the recording and its report
                print(f"ipics-lab gameday: the day stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            unwatch()
            lab.stop()
        _print_summary(day.result)
        print(f"Recording: {recording}", flush=True)
        if not await write_run_report(recording, report, sys.stdout, printer):
            return EXIT_NOT_HEALTHY
    return EXIT_HEALTHY if day.result.get("gameday", {}).get("healthy") else EXIT_NOT_HEALTHY


def _print_team_action(event) -> None:
    """What the team does at the servers, as the servers saw it, as it happens."""
    if event.kind == "action":
        print(f"  . {event.text}", flush=True)


def _ssh_lines(summary: dict) -> str:
    """The plain ``ssh`` commands, for a team member on another machine or terminal."""
    lines = ""
    for name in ("primary", "secondary"):
        host = urlsplit(summary[name]["url"]).hostname
        lines += f"  ssh       {name}: ssh -p {summary[name]['ssh_port']} ipicsadmin@{host}\n"
    return lines


def _watch_for_end(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` when a line reading ``end`` comes on stdin; returns how to stop watching.
    Without a stdin to watch (a file, /dev/null, closed) only the duration and Ctrl-C end the day."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return lambda: None
    typed = bytearray()

    def readable() -> None:
        try:
            data = os.read(fd, 1024)
        except OSError:
            data = b""
        if not data:  # stdin closed: the day goes on to its end
            loop.remove_reader(fd)
            return
        typed.extend(data)
        *lines, rest = typed.split(b"\n")
        typed[:] = rest
        if any(line.strip().lower() == END_WORD.encode() for line in lines):
            stop.set()

    try:
        loop.add_reader(fd, readable)
    except (OSError, ValueError):  # a regular file or /dev/null cannot be watched
        return lambda: None

    def unwatch() -> None:
        loop.remove_reader(fd)

    return unwatch


def _print_summary(result: dict) -> None:
    if not result:
        return
    g = result["gameday"]
    print(f"\nThe game day is over ({g['ended']}) after {describe_duration(round(g['lasted_s']))}.", flush=True)
    print(f"  {result['outcome']}", flush=True)
    for f in g["faults"]:
        when = f"at {describe_duration(f['injected_at_s'])}" if f["injected_at_s"] is not None else "not reached"
        what = f["text"] if f["ok"] else (f"not made: {f['text']}" if f["ok"] is False else f["fault"])
        heal = f"; {f['heal_text']}" if f["heal_text"] else ""
        print(f"  fault {f['index']} {when}: {what}{heal}", flush=True)
    for a in g["team_actions"]:
        print(
            f"  team: {a['server']}, {a['via']}: {a.get('command') or a['action']} ({'done' if a['ok'] else 'refused'})"
        )
