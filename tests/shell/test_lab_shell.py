"""``ipics-lab shell`` against a lab brought up with ``ipics-lab up``: lab.json, the SSH
ports in the contract line, one command or a session, and one-line errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys

import pytest

from ipics_lab.labfile import lab_file

from ..commands import start_lab
from .conftest import DATE

# ipics-lab up and ipics-lab shell in their own processes
pytestmark = pytest.mark.pair

PROMPT = "[ipicsadmin@primary ~]$ "


async def _shell(data_dir, *args: str, password: str | None, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IPICS_SHELL_PASSWORD"}
    if password is not None:
        env["IPICS_SHELL_PASSWORD"] = password
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ipics_desktop",
        "shell",
        *args,
        "--lab-dir",
        str(data_dir),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode(), err.decode()


def _one_clear_line(err: str) -> bool:
    return err.startswith("ipics-lab shell: ") and err.count("\n") == 1 and "Traceback" not in err


async def test_shell_reaches_both_servers_of_a_running_lab(tmp_path):
    lab = await start_lab(tmp_path)
    try:
        info = json.loads(await asyncio.wait_for(lab.stdout.readline(), 60))
        password = info["admin"]["password"]
        assert all(isinstance(info[name]["ssh_port"], int) for name in ("primary", "secondary"))

        # lab.json: the ports, for the user only, and no password in it
        path = lab_file(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert password not in path.read_text() and info["users"]["password"] not in path.read_text()
        assert json.loads(path.read_text())["servers"]["secondary"]["ssh_port"] == info["secondary"]["ssh_port"]

        status, out, err = await _shell(tmp_path, "primary", "-c", "date", password=password)
        assert (status, err) == (0, "") and DATE.fullmatch(out.strip()), out
        status, out, _ = await _shell(
            tmp_path, "secondary", "--user", "informix", "-c", "frobnicate", password=password
        )
        assert status == 127 and "-bash: frobnicate: command not found" in out

        # interactive: lines from stdin, the prompt and output back, exit ends it
        status, out, _ = await _shell(tmp_path, "primary", password=password, stdin=b"date\nexit\n")
        assert status == 0 and out.count(PROMPT) == 2 and DATE.search(out) and out.endswith("logout\n")

        status, out, err = await _shell(tmp_path, "primary", "-c", "date", password="not-" + password)
        assert (status, out) == (1, "") and _one_clear_line(err) and "permission denied" in err
        # no password given and no terminal to ask on
        status, out, err = await _shell(tmp_path, "primary", "-c", "date", password=None)
        assert (status, out) == (2, "") and _one_clear_line(err) and "IPICS_SHELL_PASSWORD" in err

        lab.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(lab.wait(), 30) == 0
        assert not path.exists()
        status, _, err = await _shell(tmp_path, "primary", "-c", "date", password=password)
        assert status == 2 and _one_clear_line(err) and "no lab is running" in err
    finally:
        if lab.returncode is None:
            lab.kill()
            await lab.wait()
