"""The server shell over SSH, with Debian's OpenSSH client against real server processes.

One ``ipics-lab server`` primary (Base server + Policy Engine licenses) per module; the
client is ``ssh`` with the server's host key pinned (``StrictHostKeyChecking=yes``) and
the password from an ``SSH_ASKPASS`` script that reads it from the environment.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.supervisor import ServerProcess, free_port_on

TIME_SCALE = 0.01
SSH_TIMEOUT_S = 30
PASSWORD_ENV = "IPICS_TEST_SSH_PASSWORD"
#: what ``date`` prints
DATE = re.compile(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}")


@dataclass
class Ssh:
    """Runs Debian's ``ssh`` against one server process."""

    server: ServerProcess
    password: str
    work: Path

    def __post_init__(self):
        if shutil.which("ssh") is None:
            pytest.skip("needs the OpenSSH client (Debian package openssh-client)")
        # Written once: after a restart the client still holds what it pinned at first.
        public = self.server.ssh_host_public_key_file.read_text().strip()
        self.known_hosts = self.work / "known_hosts"
        self.known_hosts.write_text(f"[{self.server.host}]:{self.server.ssh_port} {public}\n")
        self.askpass = self.work / "askpass"
        self.askpass.write_text(f'#!/bin/sh\nprintf "%s\\n" "${PASSWORD_ENV}"\n')
        self.askpass.chmod(0o700)

    def argv(self, command: str | None, flags: tuple[str, ...], user: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-p",
            str(self.server.ssh_port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "IdentityAgent=none",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "BatchMode=no",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
            *flags,
            f"{user}@{self.server.host}",
            *([command] if command is not None else []),
        ]

    async def run(
        self,
        command: str | None = None,
        *flags: str,
        user: str = "ipicsadmin",
        password: str | None = None,
        stdin: bytes = b"",
        term: str | None = None,
    ) -> tuple[int, str, str]:
        """``ssh [flags] user@host [command]``: (exit status, stdout, stderr)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "TERM")}
        env |= {
            "SSH_ASKPASS": str(self.askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            PASSWORD_ENV: self.password if password is None else password,
        }
        if term is not None:
            env["TERM"] = term
        proc = await asyncio.create_subprocess_exec(
            *self.argv(command, flags, user),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), SSH_TIMEOUT_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def primary_process(root: Path, password: str) -> ServerProcess:
    lic = sample_licenses_dir()
    return ServerProcess(
        "primary",
        root / "primary" / "data",
        "127.0.0.1",
        heartbeat_port=free_port_on("127.0.0.1"),
        admin_password=password,
        time_scale=TIME_SCALE,
        clock_epoch=time.time(),
        licenses=[lic / "base.lic", lic / "policy.lic"],
    )


@pytest.fixture(scope="module")
@starts_processes
def shell_server(tmp_path_factory: pytest.TempPathFactory):
    """One primary for the module's transport tests (nothing in them changes its state)."""
    root = tmp_path_factory.mktemp("shell")
    password = "adm-" + secrets.token_urlsafe(16)
    proc = primary_process(root, password)
    try:
        asyncio.run(proc.start(timeout_s=30))
        yield proc, password
    finally:
        proc.stop()


@pytest.fixture
def ssh(shell_server, tmp_path) -> Ssh:
    proc, password = shell_server
    return Ssh(proc, password, tmp_path)
