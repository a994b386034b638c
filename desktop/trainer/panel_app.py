"""The trainer panel's life, common to the lab the trainer starts (``app.TrainerApp``) and
a pair it attaches to (``attach.AttachApp``): a splash while it starts, the panel until
it is closed or a stop is asked (Ctrl-C, SIGTERM), then everything it started stopped,
in reverse order, whatever the start reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time each is imported where it is used, late
    from PySide6.QtWidgets import QLabel

    from ipics_desktop.trainer.devices import DeviceLauncher
    from ipics_desktop.trainer.panel import TrainerPanel
    from ipics_lab.trainer.monitor import Monitor


class PanelApp:
    """The trainer panel's life: ``start`` (a subclass's), then until the panel closes or
    a stop is asked, then ``shutdown`` of what was started, whatever the start reached."""

    #: what the terminal is told when ``start`` fails
    what_failed = "the lab did not start"
    lab: Any

    def __init__(self) -> None:
        self.panel: TrainerPanel | None = None
        self.launcher: DeviceLauncher | None = None
        self.monitor: Monitor | None = None
        self.splash: QLabel | None = None
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        """Start, wait for the panel to close (or a stop request), stop everything."""
        try:
            started = await self._start_or_stop()
            if not started:
                return 130 if self._stop.is_set() else 1
            await self._stop.wait()
            return 0
        finally:
            await self.shutdown()

    async def _start_or_stop(self) -> bool:
        self._show_splash()
        start = asyncio.ensure_future(self.start())
        stopper = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({start, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if start not in done:
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
            return False
        try:
            start.result()
        except Exception as exc:  # noqa: BLE001 (a start-up step failed: say which; shutdown stops the rest)
            print(f"ipics-lab: {self.what_failed}: {exc}", file=sys.stderr)
            return False
        return True

    async def start(self) -> None:
        raise NotImplementedError

    @staticmethod
    def _log_event(event) -> None:
        """The run log on stdout: the timeline as text, for a trainer's terminal and for
        scripts.  Heartbeats are left out: several a second at a fast time scale."""
        if event.kind != "heartbeat":
            print(f"[{event.emulated:9.1f} s] {event.kind:<11} {event.text}", flush=True)

    async def shutdown(self) -> None:
        """Every window, session, task and process this app started, in reverse order;
        each step runs even if an earlier one failed."""
        try:
            if self.launcher is not None:
                await self.launcher.close_all()
        finally:
            try:
                if self.monitor is not None:
                    await self.monitor.stop()
            finally:
                if self.panel is not None:
                    self.panel.closed.disconnect(self.request_stop)
                    self.panel.close()
                    self.panel.deleteLater()
                self._close_splash()
                self.lab.stop()

    # A plain window while the servers start (about ten seconds at real time), so the
    # trainer sees something is happening.
    def _show_splash(self) -> None:
        from PySide6.QtWidgets import QLabel

        self.splash = QLabel("Starting the IPICS HA Lab...")
        self.splash.setObjectName("trainerSplash")
        self.splash.setAccessibleName("Lab start-up progress")
        self.splash.setWindowTitle("IPICS HA Lab")
        self.splash.setMinimumSize(420, 120)
        self.splash.setStyleSheet("font-size: 16px; padding: 24px;")
        self.splash.show()

    def _splash_text(self, text: str) -> None:
        if self.splash is not None:
            self.splash.setText(text)

    def _close_splash(self) -> None:
        if self.splash is not None:
            self.splash.close()
            self.splash.deleteLater()
            self.splash = None
