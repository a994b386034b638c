"""A command whose reader went away (``ipics-lab scenario list | head -1``) ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.pair  # a process of its own
def test_a_reader_gone_ends_the_command_without_a_traceback():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ipics_desktop", "scenario", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 1
