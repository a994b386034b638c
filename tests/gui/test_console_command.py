"""``ipics-lab console``: a real process, as a dispatcher starts it."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from ipics_clients.known_servers import KnownServers
from ipics_lab.labfile import write_lab_file

from ..commands import run_ipics_lab, start_ipics_lab
from ..pair.conftest import TIME_SCALE

# every test here runs the console command in its own process
pytestmark = pytest.mark.pair


def console_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return {**env, **extra}


async def test_the_console_command_opens_the_login_dialog_with_the_labs_servers(demo, tmp_path):
    pair = demo.pair
    lab_dir = tmp_path / "lab-dir"
    lab_dir.mkdir()
    write_lab_file(lab_dir, pair.servers, time_scale=TIME_SCALE)
    profile = tmp_path / "profile"
    proc = await start_ipics_lab(
        "console",
        "--lab-dir",
        str(lab_dir),
        "--profile-dir",
        str(profile),
        "--report-shown",
        env=console_env(QT_QPA_PLATFORM="offscreen"),
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
        assert json.loads(line)["login_dialog_shown_s"] > 0
        # The selector knows the lab's servers, kept in the profile for the next run.
        known = KnownServers.load(profile / "servers.json")
        assert set(known.addresses()) == {pair.primary.url, pair.secondary.url}
        proc.send_signal(signal.SIGINT)  # Ctrl-C closes the console as its Cancel does
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_without_a_display_the_console_says_how_to_run_it(tmp_path):
    done = await run_ipics_lab("console", "--profile-dir", str(tmp_path), env=console_env(), timeout_s=30)
    assert done.returncode == 2
    assert "no display" in done.stderr and "xvfb-run" in done.stderr


async def test_bad_arguments_say_what_is_wrong(tmp_path):
    for args, expected in (
        (["--server", "not a url"], "is not a server address"),
        (["--time-scale", "0"], "time scale must be greater than 0"),
    ):
        done = await run_ipics_lab(
            "console", "--profile-dir", str(tmp_path), *args, env=console_env(QT_QPA_PLATFORM="offscreen"), timeout_s=30
        )
        assert done.returncode == 2 and expected in done.stderr, done.stderr
