"""``ipics-lab scenario list`` and ``ipics-lab scenario run NAME|FILE``: headless.

``run`` starts a trainer lab (media router, HA pair, demo data) in a temporary folder
or ``--data-dir``, prints each step as it goes (narration, action, expectations) and
the pass/fail report, and stops the lab.  A scenario that compares modes (``compare =
[...]``) runs on one lab per mode at once and prints the side-by-side report.
``--json``: the report as JSON on stdout (both modes' when compared), the progress on
stderr.  Exit status: 0 passed, 1 an expectation or an action failed, 2 a bad
scenario file or a lab that does not start.

    python -m ipics_lab.scenario.cli run earthquake --time-scale 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import signal
import sys
import tempfile
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ipics_lab import sites
from ipics_lab.modes import LabModes, add_modes_option
from ipics_lab.report.cli import (
    recording_beside,
    report_file_refusal,
    report_option,
    report_printer,
    write_run_report,
)
from ipics_lab.scenario.loader import builtin_names, load_scenario
from ipics_lab.scenario.model import ScenarioError
from ipics_lab.scenario.report import StepReport
from ipics_server.clock import check_time_scale

EXIT_PASSED, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
#: real seconds the lab may take to start (two servers, trust, configure, Ready, demo data)
LAB_START_TIMEOUT_S = 180.0


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="scenario_command", required=True, metavar="list|run")
    sub.add_parser("list", help="the built-in scenarios, with their titles")
    p_run = sub.add_parser("run", help="run a scenario headless and print a pass/fail report")
    p_run.add_argument("scenario", metavar="NAME|FILE", help="a built-in scenario's name or a scenario file (.toml)")
    add_run_options(p_run)
    p_run.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON (both modes' for a scenario that compares modes); progress goes to stderr",
    )
    report_option(p_run)
    p_run.add_argument(
        "--record",
        metavar="FILE",
        type=Path,
        default=None,
        help="the run's recording (replay it with `ipics-lab replay FILE`); default: recordings/ in --data-dir, "
        "or in the per-user lab folder",
    )
    sites.add_topology_option(p_run)
    add_modes_option(p_run)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``--time-scale`` and ``--data-dir`` of a run on a lab of its own (a scenario's, an exercise's)."""
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per emulated second (0.01: 100x faster; default 1, real time)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the lab's servers keep their data (default: a temporary folder, removed after)",
    )


def run(ns: argparse.Namespace) -> int:
    if ns.scenario_command == "list":
        return _list()
    try:
        scenario = load_scenario(ns.scenario)
    except ScenarioError as exc:
        print(f"bad scenario: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        check_time_scale(ns.time_scale)
    except ValueError as exc:
        print(f"--time-scale: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    refusal = sites.topology_refusal(ns)
    if refusal:
        print(f"--topology sites: {refusal}", file=sys.stderr)
        return EXIT_UNUSABLE
    if scenario.compare and ns.topology != "loopback":
        print("--topology sites: modes are compared side by side on loopback only", file=sys.stderr)
        return EXIT_UNUSABLE
    as_json = bool(getattr(ns, "json", False))
    report = getattr(ns, "report", None)
    if report is not None:
        refusal = _report_refusal(scenario, report)
        if refusal:
            print(f"--report: {refusal}", file=sys.stderr)
            return EXIT_UNUSABLE
    args = (ns.time_scale, ns.topology, ns.modes, as_json, _recording_path(ns), report)
    if ns.data_dir is not None:
        return _run_locked(scenario, ns.data_dir.expanduser().resolve(), *args)
    with tempfile.TemporaryDirectory(prefix="ipics-scenario-") as tmp:
        return _run_locked(scenario, Path(tmp), *args)


def _report_refusal(scenario, report: Path) -> str | None:
    """Why ``--report FILE`` cannot be written, said before the lab starts."""
    if scenario.compare:
        return "a scenario that compares modes runs one lab per mode: run one mode's scenario to report it"
    return report_file_refusal(report)


def _recording_path(ns: argparse.Namespace) -> Path:
    """``--record``, else beside ``--report``'s file (the report is made from it), else
    beside the lab's data (a temporary folder is removed after the run: then the
    per-user lab folder's recordings/)."""
    import time

    from ipics_lab.recording import default_recording_path
    from ipics_lab.where import default_lab_dir

    record = getattr(ns, "record", None)
    if record is not None:
        return record.expanduser().resolve()
    report = getattr(ns, "report", None)
    if report is not None:
        return recording_beside(report.expanduser().resolve())
    return default_recording_path(ns.data_dir or default_lab_dir(), "scenario", time.time()).resolve()


def _run_locked(
    scenario,
    root: Path,
    time_scale: float,
    topology: str = "loopback",
    modes: LabModes | None = None,
    as_json: bool = False,
    record: Path | None = None,
    report: Path | None = None,
) -> int:
    if scenario.compare:
        return run_locked(root, lambda: _run_compare(scenario, root, time_scale, as_json))
    return run_locked(root, lambda: _run(scenario, root, time_scale, topology, modes, as_json, record, report))


def run_locked(root: Path, main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """``main()`` run with the data directory ``root`` locked: one lab per data
    directory, the same lock as ``ipics-lab up``, whose lab a run's clean install would
    otherwise wipe out from under it."""
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(root / "lab.lock", "w")  # noqa: SIM115 (held for the whole run)
    except OSError as exc:
        print(f"the lab did not start: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"another lab is running with the data directory {root}; stop it or pass another --data-dir",
                file=sys.stderr,
            )
            return EXIT_UNUSABLE
        return asyncio.run(main())


def _list() -> int:
    for name in builtin_names():
        try:
            title = load_scenario(name).title
        except ScenarioError as exc:  # a broken built-in is a bug; say so and go on
            title = f"(cannot be loaded: {exc})"
        print(f"{name:<24} {title}")
    return EXIT_PASSED


async def _run(
    scenario,
    root: Path,
    time_scale: float,
    topology: str = "loopback",
    modes: LabModes | None = None,
    as_json: bool = False,
    record: Path | None = None,
    report_file: Path | None = None,
) -> int:
    from ipics_lab.scenario.runner import ScenarioRunner
    from ipics_lab.trainer.lab import TrainerLab

    out = sys.stderr if as_json else sys.stdout
    _print_title(scenario, out)
    modes = modes or LabModes()
    print(
        f"Starting the lab in {root} (time scale {time_scale:g}, {topology} topology, modes: {modes.label}) ...",
        file=out,
        flush=True,
    )
    lab = TrainerLab(
        root,
        time_scale=time_scale,
        topology=topology,
        modes=modes,
        record="scenario",
        recording_name=scenario.name,
        recording_path=record,
        recording_details={"title": scenario.title, "description": scenario.description},
    )
    runner = None
    report = None
    main_task = asyncio.current_task()
    assert main_task is not None  # asyncio.run runs this coroutine as its main task
    # Ctrl-C or a TERM: cancel the scenario (its consoles close), then the lab stops.
    on_interrupt(lambda: runner.cancel() if runner else main_task.cancel())
    async with report_printer(report_file) as printer:
        try:
            if await start_lab(lab) is None:
                return EXIT_UNUSABLE
            print("The lab is up: primary active, secondary standby Ready.", file=out, flush=True)
            if printer is not None:  # the report's Chromium, ready at the end
                printer.start_soon()
            lab.timeline.subscribe(lambda event: _print_console_event(event, out))
            runner = ScenarioRunner(lab, scenario, on_step=lambda sr: _print_step(sr, out))
            report = await runner.run()
        finally:
            recording = await _stop_recording(lab, report)
            stop_lab(lab)
        if recording is not None and report_file is not None:
            await write_run_report(recording, report_file, out, printer)
    return _print_report(report, out, as_json, recording)


async def _stop_recording(lab, report) -> Path | None:
    """The recording closed with the report as its result; a recording that cannot be
    finished is said, and the run's report still printed."""
    result = None if report is None else {**report.recording_result(), "scenario": report.to_json()}
    try:
        return await lab.stop_recording(result)
    except Exception as exc:  # noqa: BLE001 - the run's report matters more than its recording
        print(f"the recording was not finished: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def _print_report(report, out, as_json: bool, recording: Path | None = None) -> int:
    """The report for a reader (on stderr with ``--json``), the JSON on stdout; the exit
    status.  ``recording``: the run's recording, said just before the report (and in the JSON)."""
    print(file=out)
    if recording is not None:  # before the report: its last line stays the verdict
        print(f"Recording: {recording} (ipics-lab replay {recording})", file=out)
    for line in report.lines():
        print(line, file=out)
    if as_json:
        doc = report.to_json()
        if recording is not None:
            doc["recording"] = str(recording)
        print(json.dumps(doc, indent=2))
    return EXIT_PASSED if report.passed else EXIT_FAILED


def _print_title(scenario, out) -> None:
    print(f"Scenario {scenario.name}: {scenario.title}", file=out)
    print(textwrap.fill(scenario.description, 88, initial_indent="  ", subsequent_indent="  "), file=out)


async def _run_compare(scenario, root: Path, time_scale: float, as_json: bool) -> int:
    """One lab per mode, the same steps on each at once; the side-by-side report."""
    from ipics_lab.scenario.compare import CompareRun

    out = sys.stderr if as_json else sys.stdout
    _print_title(scenario, out)
    print(
        f"Starting {len(scenario.compare)} labs in {root}, one per mode ({', '.join(scenario.compare)}), "
        f"time scale {time_scale:g} ...",
        file=out,
        flush=True,
    )

    def step(mode: str, sr: StepReport) -> None:
        if sr.passed is None:
            print(f"[{mode}] step {sr.index}: {sr.action or textwrap.shorten(sr.say, 60)}", file=out, flush=True)
            return
        for line in sr.details:
            print(f"[{mode}]   {line}", file=out)
        print(f"[{mode}]   -> step {sr.index} {sr.status_word()}", file=out, flush=True)

    run = CompareRun(
        scenario,
        root,
        time_scale=time_scale,
        on_step=step,
        on_started=lambda mode: print(f"[{mode}] the lab is up", file=out, flush=True),
        start_timeout_s=LAB_START_TIMEOUT_S,
    )
    main_task = asyncio.current_task()
    assert main_task is not None  # asyncio.run runs this coroutine as its main task

    def interrupted() -> None:
        # Running: cancel the runs (their consoles close, the report says so); starting: stop.
        if run.runners:
            run.cancel()
        else:
            main_task.cancel()

    on_interrupt(interrupted)
    try:
        report = await run.run()
    except asyncio.CancelledError:
        print("cancelled while the labs were starting", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001 - a lab that does not start is reported, not a traceback
        print(f"the lab did not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return _print_report(report, out, as_json)


def on_interrupt(callback: Callable[[], object]) -> None:
    """Ctrl-C or a TERM calls ``callback`` on the running loop (a scenario, an exercise,
    a game day: each ends its run its own way, then its lab stops)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, callback)


async def start_lab(lab) -> dict | None:
    """``lab.start()`` within ``LAB_START_TIMEOUT_S``; its summary, or None once said on
    stderr why not (cancelled, or any failure: a sentence, not a traceback)."""
    try:
        async with asyncio.timeout(LAB_START_TIMEOUT_S):
            return await lab.start()
    except asyncio.CancelledError:
        print("cancelled while the lab was starting", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - any failure to start is reported, not a traceback
        print(f"the lab did not start: {type(exc).__name__}: {exc}", file=sys.stderr)
    return None


def stop_lab(lab) -> None:
    try:
        lab.stop()
    except OSError as exc:
        # TrainerLab.stop removes lab.json before stopping the processes: if that fails
        # (a data dir that is not a folder), the processes must still stop.
        print(f"stopping the lab: {exc}", file=sys.stderr)
        for process in (lab.pair, lab.router):
            if process is not None:
                process.stop()


def _print_console_event(event, out=None) -> None:
    """What the consoles say as it happens ("dan: offline ..."); the rest of the
    timeline is in the step's own lines."""
    if event.kind == "client" and event.text.split(" ", 1)[0].endswith(":"):
        print(f"  . {event.text}", file=out or sys.stdout, flush=True)


def _print_step(sr: StepReport, out=None) -> None:
    out = out or sys.stdout
    if sr.passed is None:
        print(f"\n[step {sr.index}]", file=out, flush=True)
        if sr.say:
            print(textwrap.fill(sr.say, 88, initial_indent="  ", subsequent_indent="  "), file=out)
        if sr.action:
            print(f"  do: {sr.action}", file=out, flush=True)
        return
    for line in sr.details:
        print(f"  {line}", file=out)
    print(f"  -> step {sr.index} {sr.status_word()}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ipics-lab scenario", description="Run lab scenarios headless")
    add_scenario_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
