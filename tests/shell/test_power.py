"""Power cycles: the SSH host key and port are kept, so a client that pinned the key
trusts the restarted server; ``shutdown -h now`` closes the session before powering off."""

from __future__ import annotations

import asyncio
import secrets
import stat

import asyncssh
import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.shell.hostkey import host_key_file

from .conftest import DATE, Ssh, primary_process

# each test starts and powers on its own server
pytestmark = pytest.mark.pair


async def test_host_key_survives_kill_and_power_on(tmp_path):
    proc = primary_process(tmp_path / "lab", "adm-" + secrets.token_urlsafe(16))
    try:
        await proc.start()
        ssh = Ssh(proc, proc.admin_password, tmp_path)
        key_file = host_key_file(proc.data_dir)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        fingerprint = asyncssh.read_public_key(proc.ssh_host_public_key_file).get_fingerprint()
        ssh_port = proc.ssh_port
        pinned = ssh.known_hosts.read_text()
        status, _, _ = await ssh.run("date")
        assert status == 0

        proc.kill()
        await proc.power_on()

        assert proc.ssh_port == ssh_port
        assert asyncssh.read_private_key(key_file).get_fingerprint() == fingerprint
        assert pinned.split()[-2] in proc.ssh_host_public_key_file.read_text()
        status, _, err = await ssh.run("date")  # the entry pinned before the restart
        assert status == 0, err
    finally:
        await asyncio.to_thread(proc.stop)


async def test_shutdown_ends_the_session_before_the_server_powers_off(tmp_path):
    """``after_close`` runs once the channel is closed: the client gets the output and
    exit status, then the server stops cleanly; powered on, it has the same port and key."""
    proc = primary_process(tmp_path / "lab", "adm-" + secrets.token_urlsafe(16))
    try:
        await proc.start()
        ssh = Ssh(proc, proc.admin_password, tmp_path)
        status, out, _ = await ssh.run(None, "-T", stdin=b"shutdown -h now\ndate\n")
        assert status == 0 and "going down" in out and not DATE.search(out)

        async def powered_off():
            return proc.proc.poll() is not None

        await wait_until(powered_off, 10, "the server to power off")
        assert proc.proc.returncode == 0

        await proc.power_on()
        status, out, _ = await ssh.run("date")
        assert status == 0 and DATE.search(out)
    finally:
        await asyncio.to_thread(proc.stop)
