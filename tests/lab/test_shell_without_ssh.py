"""The lab's shell step on a server without an SSH port (no process started: the fast tier)."""

from __future__ import annotations

import pytest

from ipics_lab.supervisor import LabPair
from ipics_server.shell.client import ShellLoginError


async def test_a_server_without_ssh_has_no_shell_rather_than_port_22(tmp_path):
    pair = LabPair(tmp_path)
    assert pair.primary.ssh_port is None  # not started (or started with --ssh-port -1)
    with pytest.raises(ShellLoginError, match="no SSH shell"):
        await pair.shell(pair.primary, "show version")
