"""The media router as a real process, for the lab, tests and benchmarks.

Like ``ServerProcess``: ``start`` runs ``python -m ipics_server.media`` and waits until
it answers, ``kill`` is ``kill -9``, ``stop`` is SIGTERM.  A second ``start`` reuses the
port of the first, so the devices' clients find the new router where the old one was
and reconnect by themselves.

The router admits only holders of tickets signed with the key in ``ticket_key_file``
(``ipics_server.media.ticket``); the lab gives the same file to its servers.  It is
created (mode 600) if missing: by default ``media-ticket.key`` in ``root``.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from ipics_lab import launcher as launchers
from ipics_lab.sites import Site
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.media.protocol import PATH
from ipics_server.media.ticket import KEY_FILE_NAME, create_key_file

#: the media router's port in the sites topology, where it has an address of its own
SITES_MEDIA_PORT = 8765


class MediaProcess:
    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        time_scale: float = 1.0,
        floor_timeout_s: float | None = None,
        max_clients: int | None = None,
        name: str = "media",
        ticket_key_file: Path | None = None,
        site: Site | None = None,
    ):
        if site is not None:  # the sites topology: the media site's address, a well-known port
            host, port = site.address, port or SITES_MEDIA_PORT
        self.root, self.host, self.port, self.site = root, host, port, site
        self.ticket_key_file = ticket_key_file or root / KEY_FILE_NAME
        self.time_scale, self.floor_timeout_s, self.name = time_scale, floor_timeout_s, name
        self.max_clients = max_clients
        self.proc: launchers.Child | None = None

    @property
    def port_file(self) -> Path:
        return self.root / f"{self.name}.port"

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.name}.log"

    @property
    def stderr_path(self) -> Path:
        return self.root / f"{self.name}.stderr"

    @property
    def url(self) -> str:
        """The WebSocket devices connect to."""
        return f"ws://{self.host}:{self.port}{PATH}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def command(self) -> list[str]:
        cmd = launchers.module_command(
            "ipics_server.media",
            "--ticket-key-file",
            str(self.ticket_key_file),
            "--host",
            self.host,
            "--port",
            str(self.port or 0),
            "--port-file",
            str(self.port_file),
            "--log-file",
            str(self.log_path),
            "--time-scale",
            str(self.time_scale),
        )
        if self.floor_timeout_s is not None:
            cmd += ["--floor-timeout-s", str(self.floor_timeout_s)]
        if self.max_clients is not None:
            cmd += ["--max-clients", str(self.max_clients)]
        return cmd

    def _spawn(self) -> launchers.Child:
        self.root.mkdir(parents=True, exist_ok=True)
        create_key_file(self.ticket_key_file)
        self.port_file.unlink(missing_ok=True)
        prefix = self.site.exec_prefix() if self.site else []
        self.proc = proc = launchers.spawn([*prefix, *self.command()], stderr=self.stderr_path)
        return proc

    async def start(self, timeout_s: float = 15) -> None:
        """Start (again: on the same port) and wait until it answers."""
        proc = self._spawn()

        def bound():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the media router exited with {proc.returncode}: {self.stderr_path.read_text()[-2000:]}"
                )
            return self.port_file.exists() and self.port_file.read_text()

        self.port = int(await wait_until(bound, timeout_s, "the media router to listen"))
        await wait_until(self.stats, timeout_s, "the media router to answer")

    async def stats(self) -> dict | None:
        """``GET /media/stats``: devices, groups, talkers and the counters."""
        async with ApiClient(self.http_url, timeout_s=2) as c:
            reply = await c.get(PATH + "/stats")
        return reply.body if reply.ok else None

    def kill(self) -> None:
        """``kill -9``."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout_s: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
