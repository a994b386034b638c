"""Servers forked from the zygote (lab/zygote.py, lab/launcher.py) are the same real
processes as servers started in a fresh interpreter: their own pid and session, the
environment given, stderr in their log, the same exit status, and ``kill -9`` kills
one of them and nothing else."""

from __future__ import annotations

import os
import re
import secrets
import signal
import time

import pytest

from ipics_lab.launcher import POPEN, ForkedChild, ZygoteLauncher
from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.supervisor import PRIMARY_HOST, ServerProcess, free_port_on

from ..pair.conftest import TIME_SCALE

pytestmark = pytest.mark.pair


@pytest.fixture
def zygote():
    launcher = ZygoteLauncher()
    try:
        yield launcher
    finally:
        launcher.close()


def primary(root, launcher, *extra: str) -> ServerProcess:
    lic = sample_licenses_dir()
    return ServerProcess(
        "primary",
        root / "primary" / "data",
        PRIMARY_HOST,
        heartbeat_port=free_port_on(PRIMARY_HOST),
        admin_password="adm-" + secrets.token_urlsafe(12),
        time_scale=TIME_SCALE,
        clock_epoch=time.time(),
        licenses=[lic / "base.lic", lic / "policy.lic"],
        extra_args=list(extra),
        launcher=launcher,
    )


async def test_a_forked_server_is_a_process_of_its_own_and_kill_9_kills_only_it(zygote, tmp_path):
    one, two = primary(tmp_path / "one", zygote), primary(tmp_path / "two", zygote)
    try:
        await one.start()
        await two.start()
        assert isinstance(one.proc, ForkedChild)
        assert len({os.getpid(), zygote._zygote.pid, one.pid, two.pid}) == 4
        assert os.getsid(one.pid) == one.pid, "not in a session of its own (a Ctrl-C would reach it)"
        # The environment it was given: the administrator's password comes from it.
        assert (await one._answers()) and await _login(one)
        assert f"IPICS server primary listening on {one.url}" in (one.data_dir / "server.log").read_text()

        one.kill()
        assert one.proc.returncode == -signal.SIGKILL
        assert not os.path.exists(f"/proc/{one.pid}"), "a kill -9 leaves no process behind"
        assert two.proc.poll() is None and await two._answers(), "the other server went down too"
        assert zygote._zygote.poll() is None
        await one.power_on()  # and it comes back on its port, forked again
        assert await _login(one)
    finally:
        for server in (one, two):
            server.stop()


async def _login(server: ServerProcess) -> bool:
    async with server.client() as c:
        reply = await c.post("/api/v1/auth/login", {"username": "ipicsadmin", "password": server.admin_password})
    return reply.status == 200


@pytest.mark.parametrize("how", ["sigterm", "bad-argument"])
async def test_it_ends_with_the_same_status_and_words_as_a_fresh_interpreter(zygote, tmp_path, how):
    ends = {}
    for name, launcher in (("popen", POPEN), ("zygote", zygote)):
        if how == "sigterm":
            server = primary(tmp_path / name, launcher)
            await server.start()
            server.stop()
        else:  # refused before it listens: --media-router without the ticket key
            server = primary(tmp_path / name, launcher, "--media-router", "ws://127.0.0.1:9/media")
            with pytest.raises(RuntimeError, match="exited with"):
                await server.start(timeout_s=20)
        # its words, without the times, ports and folder that differ between two runs
        words = re.sub(r"\d+", "N", server.log_path.read_text().replace(str(tmp_path / name), "ROOT"))
        ends[name] = (server.proc.returncode, words)
    assert ends["zygote"] == ends["popen"]
    if how == "sigterm":
        assert ends["popen"][0] == 0 and ends["popen"][1].endswith("IPICS server primary stopping\n")
    else:
        refused = "--media-router needs --media-ticket-key-file: the router admits ticket holders only\n"
        assert ends["popen"] == (1, refused)
