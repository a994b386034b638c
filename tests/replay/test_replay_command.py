"""``ipics-lab replay FILE`` as a trainer types it: a file that is not a recording is
refused in words, with nothing else opened."""

from __future__ import annotations

import asyncio
import signal

import pytest

from ..commands import start

pytestmark = pytest.mark.pair  # a process of its own


async def test_the_command_refuses_a_foreign_file_in_words(tmp_path):
    # ipics-lab replay FILE: the sentence on stderr too (a terminal's user sees it), exit 2
    # once the message box is closed (here by a TERM, as its button would)
    foreign = tmp_path / "photo.ipicsrec"
    foreign.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    proc = await start("ipics_desktop", "replay", str(foreign))
    try:
        said = await asyncio.wait_for(said_by_the_command(proc), 30)
        assert said == f"ipics-lab replay: {foreign} is not a recording of the IPICS HA Lab: it is not text"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 2
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def said_by_the_command(proc) -> str:
    """The command's own line on stderr (Qt's platform may warn before it)."""
    while line := (await proc.stderr.readline()).decode():
        if line.startswith("ipics-lab replay:"):
            return line.strip()
    return ""
