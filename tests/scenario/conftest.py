"""Scenario runs headless, through the CLI in its own process, as a trainer would type it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from ..commands import start

#: the built-ins' emulated minutes pass 100x faster
TIME_SCALE = 0.01
#: real seconds a whole run may take (lab start included) before the test calls it hung
RUN_TIMEOUT_S = 120


@dataclass
class Run:
    code: int
    out: str
    err: str


async def run_cli(*args: str, data_dir: Path | None = None, timeout_s: float = RUN_TIMEOUT_S) -> Run:
    """``python -m ipics_lab.scenario.cli ARGS``; its exit status and output."""
    extra = ["--data-dir", str(data_dir)] if data_dir is not None else []
    proc = await start("ipics_lab.scenario.cli", *args, *extra)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.terminate()  # the CLI cancels the run and stops the lab's processes on a TERM
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
        raise AssertionError(f"the scenario run hung: {out.decode()[-3000:]}\n{err.decode()[-3000:]}") from None
    return Run(proc.returncode, out.decode(), err.decode())
