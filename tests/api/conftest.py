"""One real ``ipics-lab server`` process per test module, on loopback.

The server is a primary (Base server + Policy Engine Base licenses), not in an HA pair,
so it is the active server and accepts writes.  Fixtures are synchronous and drive the
async supervisor with ``asyncio.run``; the tests themselves are ``async def`` and open
their own ``ApiClient`` (closed before the test ends, so no unclosed-session warning).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipics_lab.launcher import POPEN
from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.supervisor import ServerProcess, free_port_on
from ipics_server.adapters.httpclient import ApiClient

MAX_UPLOAD_BYTES = 4096


@dataclass
class LiveServer:
    proc: ServerProcess
    admin_password: str
    admin_token: str
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def data_dir(self) -> Path:
        return self.proc.data_dir

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.proc.url, token=token, timeout_s=10)

    def admin(self) -> ApiClient:
        return self.client(self.admin_token)

    async def login(self, username: str, password: str) -> str:
        return await login(self.url, username, password)


async def login(url: str, username: str, password: str) -> str:
    async with ApiClient(url, timeout_s=10) as c:
        reply = await c.post("/api/v1/auth/login", {"username": username, "password": password})
    assert reply.status == 200, reply.body
    return reply["token"]


@pytest.fixture(scope="module")
@starts_processes
def live_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("api")
    lic = sample_licenses_dir()
    password = "adm-" + secrets.token_urlsafe(16)
    proc = ServerProcess(
        "primary",
        root / "primary" / "data",
        "127.0.0.1",
        heartbeat_port=free_port_on("127.0.0.1"),
        admin_password=password,
        time_scale=0.05,
        clock_epoch=time.time(),
        licenses=[lic / "base.lic", lic / "policy.lic"],
        ntp=["ntp1"],
        extra_args=["--max-upload-bytes", str(MAX_UPLOAD_BYTES)],
        # a fresh interpreter, as ipics-lab up starts it: test_security reads its command line
        launcher=POPEN,
    )
    try:
        asyncio.run(proc.start(timeout_s=30))
        token = asyncio.run(login(proc.url, "ipicsadmin", password))
        yield LiveServer(proc, password, token)
    finally:
        proc.stop()
