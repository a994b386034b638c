"""The project's commands as a user runs them in a terminal, for the tests of them:
``ipics-lab ARGS`` (``python -m ipics_desktop``) or one module's ``python -m``, each a
real process with its input closed and its output kept."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

#: real seconds a short command (help, a refusal, a shell command) may take
COMMAND_S = 60


async def start(
    module: str, *args: str, env: dict[str, str] | None = None, as_user: str | None = None
) -> asyncio.subprocess.Process:
    """``python -m MODULE ARGS``: stdin closed, stdout and stderr piped; ``as_user``
    (from root): run as that user instead, in group 65534 (nogroup), no other groups."""
    prefix = ["setpriv", f"--reuid={as_user}", "--regid=65534", "--clear-groups"] if as_user else []
    return await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        module,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def start_ipics_lab(
    *args: str, env: dict[str, str] | None = None, as_user: str | None = None
) -> asyncio.subprocess.Process:
    """``ipics-lab ARGS``."""
    return await start("ipics_desktop", *args, env=env, as_user=as_user)


async def start_lab(data_dir: Path, *extra: str) -> asyncio.subprocess.Process:
    """``ipics-lab up --headless --json`` at time scale 0.01 in ``data_dir``: its first
    line of output is the contract line."""
    return await start_ipics_lab(
        "up", "--headless", "--json", "--time-scale", "0.01", "--data-dir", str(data_dir), *extra
    )


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def finish(proc: asyncio.subprocess.Process, timeout_s: float = COMMAND_S) -> Finished:
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(), err.decode())


async def run_ipics_lab(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = COMMAND_S, as_user: str | None = None
) -> Finished:
    """``ipics-lab ARGS`` to its end: exit status and output."""
    return await finish(await start_ipics_lab(*args, env=env, as_user=as_user), timeout_s)
