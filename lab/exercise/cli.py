"""``ipics-lab exercise list`` and ``ipics-lab exercise run NAME|FILE``: for a trainee at a terminal.

``run`` starts a trainer lab (real time by default, as a trainee works), prints the ways
in (the servers' SSH shells and Administration Consoles; the IDC or the IP phone for a
dispatcher's or a phone user's exercise; the passwords in a file readable by the user
only, never on the screen), waits for the trainee's login where the exercise needs it,
makes the starting situation, and watches until the goal is met, the time limit passes,
or the trainee types ``done`` (or Ctrl-C).  ``hint N`` releases a hint.  Then the grade,
each deduction with the chapter's words; the run's recording (``--recording``); the
after-action report with ``--report FILE`` (``ipics_lab.report``; the recording beside
it).  Exit status: 0 passed, 1 failed, 2 a bad exercise file, a lab that does not start,
or a setup that fails.

    python -m ipics_lab.exercise.cli run split-brain-method-1 --time-scale 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

from ipics_lab.exercise.loader import ExerciseError, builtin_names, load_exercise
from ipics_lab.modes import LabModes, add_modes_option
from ipics_lab.recording import SUFFIX
from ipics_lab.report.cli import (
    recording_beside,
    report_file_refusal,
    report_option,
    report_printer,
    write_run_report,
)
from ipics_lab.scenario.cli import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_UNUSABLE,
    add_run_options,
    on_interrupt,
    run_locked,
    start_lab,
    stop_lab,
)
from ipics_lab.scenario.durations import describe_duration, parse_duration
from ipics_lab.seed import DEMO_DIAL_IDS
from ipics_server.clock import check_time_scale

CREDENTIALS = "credentials.txt"


def add_exercise_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="exercise_command", required=True, metavar="list|run")
    sub.add_parser("list", help="the built-in exercises, with their titles")
    p = sub.add_parser("run", help="run an exercise for a trainee at this terminal, then grade it")
    p.add_argument("exercise", metavar="NAME|FILE", help="a built-in exercise's name or an exercise file (.toml)")
    p.add_argument(
        "--time-limit",
        default=None,
        metavar="DURATION",
        help='emulated time the trainee has, e.g. "20min" (default: the exercise\'s)',
    )
    report_option(p)
    p.add_argument(
        "--recording",
        type=Path,
        default=None,
        metavar="FILE",
        help="the run's recording (default: beside --report's FILE, else exercise-NAME-DATE.ipicsrec here)",
    )
    add_run_options(p)  # --time-scale (default 1: real time, as a trainee works), --data-dir
    add_modes_option(p)


def run(ns: argparse.Namespace) -> int:
    if ns.exercise_command == "list":
        for name in builtin_names():
            try:
                e = load_exercise(name)
                print(f"{name:<30} {e.trainee:<14} {e.title}")
            except ExerciseError as exc:
                print(f"{name:<30} (cannot be loaded: {exc})")
        return EXIT_PASSED
    try:
        exercise = load_exercise(ns.exercise)
        limit = parse_duration(ns.time_limit) if ns.time_limit is not None else None
        check_time_scale(ns.time_scale)
    except ExerciseError as exc:
        print(f"bad exercise: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except ValueError as exc:
        print(f"bad option: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    refusal = report_file_refusal(ns.report) if ns.report is not None else None
    if refusal:
        print(f"--report: {refusal}", file=sys.stderr)
        return EXIT_UNUSABLE
    default = (
        recording_beside(ns.report)
        if ns.report is not None
        else Path(f"exercise-{exercise.name}-{time.strftime('%Y%m%d-%H%M%S')}{SUFFIX}")
    )
    recording = ns.recording or default
    recording = recording.expanduser().resolve()
    args = (exercise, limit, ns.time_scale, ns.modes, recording, ns.report)
    if ns.data_dir is not None:
        root = ns.data_dir.expanduser().resolve()
        return run_locked(root, lambda: _run(root, *args))
    with tempfile.TemporaryDirectory(prefix="ipics-exercise-") as tmp:
        return run_locked(Path(tmp), lambda: _run(Path(tmp), *args))


async def _run(root: Path, exercise, limit, time_scale: float, modes: LabModes | None, recording: Path, report) -> int:
    from ipics_lab.exercise.runner import ExerciseRun, SetupFailed
    from ipics_lab.trainer.lab import TrainerLab

    print(f"Exercise {exercise.name}: {exercise.title}")
    print(textwrap.fill(exercise.description, 88, initial_indent="  ", subsequent_indent="  "))
    # the exercise's own recorder is the run's one recording (and puts the trainee's actions on the timeline)
    lab = TrainerLab(root, time_scale=time_scale, modes=modes or LabModes(), record=None)
    print(f"Starting the lab in {root} (time scale {time_scale:g}) ...", flush=True)
    run: ExerciseRun | None = None
    loop, main_task = asyncio.get_running_loop(), asyncio.current_task()
    assert main_task is not None

    def interrupted() -> None:  # Ctrl-C: the trainee is done (grade it); before the turn: stop
        if run is not None and run.started:
            run.stop()
        else:
            main_task.cancel()

    on_interrupt(interrupted)
    async with report_printer(report) as printer:
        try:
            summary = await start_lab(lab)
            if summary is None:
                return EXIT_UNUSABLE
            if printer is not None:  # the report's Chromium, ready when the grade is
                printer.start_soon()
            _print_ways_in(exercise, lab, summary, root)
            run = ExerciseRun(lab, exercise, recording=recording, time_limit_s=limit, on_event=_say)
            _read_commands(loop, run)
            try:
                grade = await run.run()
            except SetupFailed as exc:
                print(f"the exercise's setup failed: {exc}", file=sys.stderr)
                return EXIT_UNUSABLE
            except asyncio.CancelledError:
                print("cancelled before the trainee's turn", file=sys.stderr)
                return EXIT_UNUSABLE
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(sys.stdin.fileno())
            stop_lab(lab)
        print()
        for line in grade.lines():
            print(line)
        print(f"\nThe run's recording: {recording}")
        if report is not None:  # the grade stands whether or not the report is written
            await write_run_report(recording, report, sys.stdout, printer)
    return EXIT_PASSED if grade.passed else EXIT_FAILED


def _say(text: str) -> None:
    print(f"* {text}", flush=True)


def _print_ways_in(exercise, lab, summary: dict, root: Path) -> None:
    """The trainee's interfaces; the passwords in a file only the user reads."""
    users = summary["users"]
    lines = [f"ipicsadmin and informix: {summary['admin']['password']}"]
    print("\nYour way in:")
    if exercise.trainee == "administrator":
        for name in ("primary", "secondary"):
            s = summary[name]
            host = urlsplit(s["url"]).hostname
            print(f"  {name:<9} Administration Console: {s['url']}/admin/login")
            ssh = f"ssh -p {s['ssh_port']}"
            print(f"  {'':<9} server shell: {ssh} ipicsadmin@{host}   (REPAIR as informix: {ssh} informix@{host})")
    elif exercise.trainee == "dispatcher":
        print(f"  the IPICS Dispatch Console: ipics-lab console --lab-dir {root}   (log in as {exercise.user})")
        lines.append(f"{exercise.user}: {users['password']}")
    else:
        print(f"  the IP phone: ipics-lab phone --lab-dir {root} --no-web-access")
        dial_id = DEMO_DIAL_IDS[exercise.user]
        print(f"  (Services, the IPICS service of the active server, Dial Login with user ID {dial_id})")
        lines.append(f"{exercise.user}'s PIN: {lab.pin}")
    secret = root / CREDENTIALS
    secret.touch(mode=0o600)
    secret.chmod(0o600)
    secret.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"  the passwords: {secret} (readable by you only)")
    print(f"\nThe goal: {exercise.goal.say}")
    print(
        f"Time limit: {describe_duration(exercise.time_limit_s)} (emulated). Type done when you are done.\n", flush=True
    )


def _read_commands(loop: asyncio.AbstractEventLoop, run) -> None:
    """``done`` ends the trainee's turn; ``hint N`` releases hint N."""
    if not sys.stdin or not sys.stdin.readable():
        return

    def line_typed() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input: no more commands
            loop.remove_reader(sys.stdin.fileno())
            return
        words = line.split()
        if words == ["done"]:
            run.stop()
        elif len(words) == 2 and words[0] == "hint" and words[1].isdigit():
            try:
                run.release_hint(int(words[1]))
            except ValueError as exc:
                print(f"  {exc}", flush=True)
        elif words:
            print("  type done when you are done (or hint N)", flush=True)

    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        loop.add_reader(sys.stdin.fileno(), line_typed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ipics-lab exercise", description="Graded exercises for a trainee")
    add_exercise_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
