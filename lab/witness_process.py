"""The witness as a real process (``python -m ipics_server witness``), for a lab whose
modes have one: ``kill`` is ``kill -9``, ``stop`` is SIGTERM, a second ``start`` comes
back on the same address and port with the ballot it kept on disk.

On loopback it listens on 127.0.0.3 (the servers have .1 and .2); in the sites topology
on its own site's address, port 3445, over HTTPS with a certificate of the lab's CA.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from ipics_lab import launcher as launchers
from ipics_lab.ca import Issued
from ipics_lab.pair_procedures import wait_until
from ipics_lab.sites import Site
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.adapters.secret_files import create_key_file
from ipics_server.witness.__main__ import DEFAULT_PORT, KEY_BYTES

KEY_FILE_NAME = "witness.key"
LOOPBACK_HOST = "127.0.0.3"


class WitnessProcess:
    def __init__(
        self, root: Path, *, port: int, host: str = LOOPBACK_HOST, site: Site | None = None, tls: Issued | None = None
    ):
        if site is not None:
            host, port = site.address, DEFAULT_PORT
        self.root, self.host, self.port, self.site, self.tls = root, host, port, site, tls
        self.key_file = create_key_file(root / KEY_FILE_NAME, KEY_BYTES)
        self.proc: launchers.Child | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.root / "witness.stderr"

    @property
    def port_file(self) -> Path:
        return self.root / "witness.port"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        cmd = launchers.module_command(
            "ipics_server",
            "witness",
            "--data-dir",
            str(self.root / "witness"),
            "--key-file",
            str(self.key_file),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--port-file",
            str(self.port_file),
        )
        if self.tls:
            cmd += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        return cmd

    async def start(self, timeout_s: float = 15) -> None:
        self.port_file.unlink(missing_ok=True)
        prefix = self.site.exec_prefix() if self.site else []
        self.proc = proc = launchers.spawn([*prefix, *self.command()], stderr=self.stderr_path)

        def bound():
            if proc.poll() is not None:
                raise RuntimeError(f"the witness exited with {proc.returncode}: {self.stderr_path.read_text()[-2000:]}")
            return self.port_file.exists()

        await wait_until(bound, timeout_s, "the witness to listen")
        await wait_until(self.status, timeout_s, "the witness to answer")

    async def status(self) -> dict | None:
        """``GET /witness/status``: who holds the vote, the last votes."""
        async with ApiClient(self.url, timeout_s=2) as c:
            reply = await c.get("/witness/status")
        return reply.body if reply.ok else None

    def kill(self) -> None:
        """``kill -9``."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout_s: float = 5) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
