"""Emulated server processes: tomcat, ipics_nm (the node manager) and the database.

A crashed critical process (tomcat, database) makes the active hand over to the standby
(chapter, Server Failover Due to Local Critical Process Failure).  ipics_nm restarts a
crashed process after ``restart_after_s`` emulated seconds; with ipics_nm itself
stopped, nothing comes back on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .clock import Clock
from .core.roles import CRITICAL_SERVICES, SERVICES

log = logging.getLogger("ipics.services")

RESTART_AFTER_S = 60.0


class Services:
    def __init__(self, clock: Clock, on_change: Callable[[], None], restart_after_s: float = RESTART_AFTER_S):
        self.clock = clock
        self.state: dict[str, str] = {name: "running" for name in SERVICES}
        self._on_change = on_change
        self._restart_after_s = restart_after_s
        self._restarts: dict[str, asyncio.Task] = {}

    def running(self, name: str) -> bool:
        return self.state[name] == "running"

    @property
    def failed_critical(self) -> str | None:
        return next((n for n in CRITICAL_SERVICES if not self.running(n)), None)

    def crash(self, name: str) -> None:
        if name not in self.state:
            raise ValueError(f"unknown service {name!r}; services are {', '.join(SERVICES)}")
        self.state[name] = "failed"
        log.warning("service %s failed", name)
        if name != "ipics_nm" and self.running("ipics_nm"):
            self._schedule_restart(name)
        self._on_change()

    def stop(self, name: str) -> None:
        self.state[name] = "stopped"
        self._on_change()

    def start(self, name: str) -> None:
        self.state[name] = "running"
        task = self._restarts.pop(name, None)
        if task:
            task.cancel()
        self._on_change()

    def _schedule_restart(self, name: str) -> None:
        async def restart():
            await self.clock.sleep(self._restart_after_s)
            self._restarts.pop(name, None)
            if self.state[name] == "failed" and self.running("ipics_nm"):
                log.info("ipics_nm restarted %s", name)
                self.state[name] = "running"
                self._on_change()

        if name not in self._restarts:
            self._restarts[name] = asyncio.get_running_loop().create_task(restart())

    def cancel(self) -> None:
        for task in self._restarts.values():
            task.cancel()
        self._restarts.clear()
