"""A headless Chromium kept running to print reports: started while a run goes on, so
the PDF at the run's end costs a page load and a print, not a browser's cold start.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
commands on its fd 3, answers on its fd 4), never a debugging port: a port on loopback
would let any local user drive a browser that reads this user's files.  Its own
profile in a temporary folder.  Everything is on the event loop; every wait has a
deadline; ``PdfUnavailable`` says in one sentence why there is no PDF.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from ipics_lab.browser import CHROMIUM, CHROMIUM_ARGS

#: real seconds Chromium may take to start in the background (a cold start on a loaded
#: machine), and to print one report (with its start, when not started before)
START_DEADLINE_S = 60.0
PRINT_DEADLINE_S = 60.0
#: real seconds Chromium has to quit when asked before it is killed
CLOSE_DEADLINE_S = 5.0
#: the longest answer read (a report's PDF, base64): far above any report
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: the pipes' ends handed to Chromium are copied at or above this (never fd 3 or 4)
FIRST_FREE_FD = 10


class PdfUnavailable(Exception):
    """No PDF was made; ``str()`` says why in one sentence."""


def _chromium_missing() -> PdfUnavailable | None:
    if shutil.which(CHROMIUM):
        return None
    return PdfUnavailable(
        f"no PDF: Chromium ({CHROMIUM}) is not installed; install Debian's chromium "
        "(packaging/bootstrap.sh does) to print the report"
    )


class Printer:
    """``async with Printer() as p: await p.print(html, pdf)``; ``start`` may be called
    early (a run's beginning) and ``print`` later, any number of times."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._profile: tempfile.TemporaryDirectory | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._reader: asyncio.StreamReader | None = None
        self._listener: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future] = {}
        self._events: list[tuple[str, str | None, asyncio.Future]] = []
        self._started: asyncio.Task | None = None
        self._ready = False  # Chromium answered

    async def __aenter__(self) -> Printer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pid(self) -> int | None:
        """Chromium's process (None: not started, or closed)."""
        return self._proc.pid if self._proc is not None else None

    # ------------------------------------------------------------------ life
    def start_soon(self) -> None:
        """Start in the background (a run's beginning); ``print`` waits for it."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_task(self._start())

    async def start(self) -> None:
        self.start_soon()
        assert self._started is not None
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        missing = _chromium_missing()
        if missing:
            raise missing
        self._profile = tempfile.TemporaryDirectory(prefix="ipics-report-chromium-", ignore_cleanup_errors=True)
        to_chromium, commands = os.pipe()  # Chromium reads its commands on fd 3
        answers, from_chromium = os.pipe()  # and writes its answers on fd 4
        # Bash puts the pipes on fds 3 and 4 (no preexec_fn: the loop has threads), from
        # copies above 9 that cannot be 3 or 4 themselves.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, FIRST_FREE_FD) for fd in (to_chromium, from_chromium)]
        for fd in (to_chromium, from_chromium):
            os.close(fd)
        to_chromium, from_chromium = ends
        try:
            self._proc = await asyncio.create_subprocess_exec(
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_chromium} 4>&{from_chromium} {to_chromium}<&- {from_chromium}>&-',
                CHROMIUM,
                "--headless",
                *CHROMIUM_ARGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
                "--no-startup-window",
                pass_fds=(to_chromium, from_chromium),
                start_new_session=True,  # killed with its renderers if it will not quit
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        finally:
            os.close(to_chromium)
            os.close(from_chromium)
        loop = asyncio.get_running_loop()
        reader = self._reader = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES, loop=loop)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(answers, "rb", buffering=0)
        )
        self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(commands, "wb", buffering=0))
        self._listener = loop.create_task(self._listen())
        try:
            async with asyncio.timeout(START_DEADLINE_S):
                await self._call("Browser.getVersion")
            self._ready = True
        except TimeoutError:
            raise PdfUnavailable(f"no PDF: Chromium did not start within {START_DEADLINE_S:g} s") from None

    async def close(self) -> None:
        """Chromium asked to quit (its profile written out), killed with its children if
        it has not within ``CLOSE_DEADLINE_S``; the profile removed."""
        if self._started is not None and not self._started.done():
            self._started.cancel()
            with contextlib.suppress(BaseException):
                await self._started
        if self._proc is not None and self._proc.returncode is None:
            try:
                if not self._ready:  # never answered: nothing to ask
                    raise TimeoutError
                self._send("Browser.close", None, {})
                await asyncio.wait_for(self._proc.wait(), CLOSE_DEADLINE_S)
            except (TimeoutError, PdfUnavailable):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)  # its own session: renderers too
                await self._proc.wait()
        if self._writer is not None:
            self._writer.close()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._profile is not None:
            self._profile.cleanup()
        self._proc = self._writer = self._listener = self._profile = None
        self._ready = False

    # ----------------------------------------------------------------- print
    async def print(self, html: Path, pdf: Path, *, deadline_s: float | None = None) -> Path:
        """``html`` printed to ``pdf`` (written whole or not at all)."""
        deadline_s = deadline_s or PRINT_DEADLINE_S
        pdf.unlink(missing_ok=True)  # a PDF left from an earlier report must not pass for this one
        try:
            async with asyncio.timeout(deadline_s):  # a cold start counts in it
                await self.start()
                target = (await self._call("Target.createTarget", url="about:blank"))["targetId"]
                try:
                    data = await self._print_target(target, html)
                finally:
                    with contextlib.suppress(PdfUnavailable):
                        await self._call("Target.closeTarget", targetId=target)
        except TimeoutError:
            raise PdfUnavailable(f"no PDF: Chromium did not print the report within {deadline_s:g} s") from None
        tmp = pdf.with_name(pdf.name + ".part")
        await asyncio.to_thread(tmp.write_bytes, data)
        tmp.replace(pdf)
        return pdf

    async def _print_target(self, target: str, html: Path) -> bytes:
        session = (await self._call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        await self._call("Page.enable", session=session)
        loaded = self._event("Page.loadEventFired", session)
        answer = await self._call("Page.navigate", session=session, url=html.resolve().as_uri())
        if answer.get("errorText"):
            raise PdfUnavailable(f"no PDF: Chromium could not open the report ({answer['errorText']})")
        await loaded
        printed = await self._call("Page.printToPDF", session=session)
        return base64.b64decode(printed["data"])

    # ------------------------------------------------------------ the protocol
    def _send(self, method: str, session: str | None, params: dict[str, Any]) -> tuple[int, asyncio.Future]:
        if self._writer is None or self._writer.is_closing():
            raise PdfUnavailable("no PDF: Chromium is not running")
        n = next(self._ids)
        answer = self._answers[n] = asyncio.get_running_loop().create_future()
        message: dict[str, Any] = {"id": n, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._writer.write(json.dumps(message).encode() + b"\0")
        return n, answer

    async def _call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        n, answer = self._send(method, session, params)
        try:
            reply = await answer
        finally:
            self._answers.pop(n, None)
        if "error" in reply:
            raise PdfUnavailable(f"no PDF: Chromium refused {method}: {reply['error'].get('message', '?')}")
        return reply.get("result", {})

    def _event(self, method: str, session: str | None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._events.append((method, session, future))
        return future

    async def _listen(self) -> None:
        assert self._reader is not None
        try:
            while True:
                raw = await self._reader.readuntil(b"\0")
                message = json.loads(raw[:-1])
                if "id" in message:
                    future = self._answers.get(message["id"])
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                for waited in list(self._events):
                    method, session, future = waited
                    if message.get("method") == method and message.get("sessionId") == session:
                        self._events.remove(waited)
                        if not future.done():
                            future.set_result(message.get("params", {}))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError):
            pass  # Chromium gone or talking nonsense: every call waiting is told
        gone = PdfUnavailable("no PDF: Chromium stopped")
        for future in [*self._answers.values(), *(f for _m, _s, f in self._events)]:
            if not future.done():
                future.set_exception(gone)


async def print_pdf(html: Path, pdf: Path, *, printer: Printer | None = None, deadline_s: float | None = None) -> Path:
    """``html`` printed to ``pdf`` by ``printer`` (one started earlier, kept running), or
    by a Chromium started for it (a cold start)."""
    if printer is not None:
        return await printer.print(html, pdf, deadline_s=deadline_s)
    cold = Printer()
    try:
        return await cold.print(html, pdf, deadline_s=deadline_s)  # its start within the deadline
    finally:
        await cold.close()
