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
import binascii
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import tempfile
import time
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
#: a killed Chromium's profile: tries to remove it, 20 ms apart (only after a kill does
#: it take more than one)
PROFILE_REMOVE_TRIES = 25
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
    """``async with Printer() as p: await p.print(html, pdf)``; ``start_soon`` may be
    called early (a run's beginning) and ``print`` later, any number of times.  A
    Chromium that failed to start or died meanwhile is started again by the next
    ``print``, within its deadline."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._profile: str | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._read_transport: asyncio.ReadTransport | None = None
        self._listener: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future] = {}
        self._events: list[tuple[str, str | None, asyncio.Future]] = []
        self._started: asyncio.Task | None = None
        self._ready = False  # Chromium answered
        self._gone = False  # its pipe closed: it stopped

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
            self._started.add_done_callback(_retrieved)  # a failure is said by ``print``, not as a traceback

    async def start(self) -> None:
        self.start_soon()
        assert self._started is not None
        await asyncio.shield(self._started)

    def _broken(self) -> bool:
        """Started and failed, or stopped since: a new Chromium is needed."""
        started = self._started
        failed = started is not None and started.done() and (started.cancelled() or started.exception() is not None)
        died = self._proc is not None and (
            self._gone  # its answers' pipe closed
            or self._proc.returncode is not None
            or (self._writer is not None and self._writer.is_closing())  # its commands' pipe broke
        )
        return failed or died

    async def _start(self) -> None:
        missing = _chromium_missing()
        if missing:
            raise missing
        self._gone, self._ready = False, False
        self._profile = tempfile.mkdtemp(prefix="ipics-report-chromium-")
        loop = asyncio.get_running_loop()
        fds: list[int] = []  # every descriptor made here and not yet handed on: closed on any failure
        try:
            to_chromium, commands = os.pipe()  # Chromium reads its commands on fd 3
            fds += [to_chromium, commands]
            answers, from_chromium = os.pipe()  # and writes its answers on fd 4
            fds += [answers, from_chromium]
            # Bash puts the pipes on fds 3 and 4 (no preexec_fn: the loop has threads),
            # from copies above 9 that cannot be 3 or 4 themselves.
            child_in = fcntl.fcntl(to_chromium, fcntl.F_DUPFD_CLOEXEC, FIRST_FREE_FD)
            fds.append(child_in)
            child_out = fcntl.fcntl(from_chromium, fcntl.F_DUPFD_CLOEXEC, FIRST_FREE_FD)
            fds.append(child_out)
            self._proc = await asyncio.create_subprocess_exec(
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-',
                CHROMIUM,
                "--headless",
                *CHROMIUM_ARGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                "--no-startup-window",
                pass_fds=(child_in, child_out),
                start_new_session=True,  # killed with its renderers if it will not quit
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            for fd in (to_chromium, from_chromium, child_in, child_out):  # Chromium's ends, its own now
                os.close(fd)
                fds.remove(fd)
            reader = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES, loop=loop)
            fds.remove(answers)  # the transport owns it from here (closed with it)
            self._read_transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(answers, "rb", buffering=0)
            )
            fds.remove(commands)
            self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(commands, "wb", buffering=0))
            self._listener = loop.create_task(self._listen(reader))
            async with asyncio.timeout(START_DEADLINE_S):
                await self._call("Browser.getVersion")
            self._ready = True
        except TimeoutError:
            self._abandon()
            raise PdfUnavailable(f"no PDF: Chromium did not start within {START_DEADLINE_S:g} s") from None
        except BaseException:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._abandon()
            raise

    async def close(self) -> None:
        """Chromium asked to quit (its profile written out), killed with its children if
        it has not within ``CLOSE_DEADLINE_S``; the profile removed.  Cancelled midway,
        it still kills Chromium and removes the profile before it lets go."""
        try:
            started = self._started
            if started is not None and not started.done():
                started.cancel()
                with contextlib.suppress(BaseException):
                    await started
            proc = self._proc
            if proc is not None and proc.returncode is None:
                if self._ready and not self._gone:
                    with contextlib.suppress(PdfUnavailable):
                        n, _ = self._send("Browser.close", None, {})
                        self._answers.pop(n, None)  # nobody waits for its answer: Chromium goes
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(proc.wait(), CLOSE_DEADLINE_S)
                if proc.returncode is None:
                    self._kill()
                    await proc.wait()
        finally:
            self._abandon()
            self._started = None

    def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)  # its own session: the renderers too

    def _abandon(self) -> None:
        """Everything let go at once, from any state (synchronous: safe while cancelled)."""
        self._kill()
        for transport in (self._writer, self._read_transport):
            if transport is not None:
                transport.close()
        if self._listener is not None:
            self._listener.cancel()
        if self._profile is not None:
            _remove(self._profile)
        self._proc, self._writer, self._read_transport, self._listener, self._profile = None, None, None, None, None
        self._ready, self._gone = False, False
        self._answers.clear()
        self._events.clear()

    # ----------------------------------------------------------------- print
    async def print(self, html: Path, pdf: Path, *, deadline_s: float | None = None) -> Path:
        """``html`` printed to ``pdf`` (written whole or not at all)."""
        deadline_s = deadline_s or PRINT_DEADLINE_S
        pdf.unlink(missing_ok=True)  # a PDF left from an earlier report must not pass for this one
        try:
            async with asyncio.timeout(deadline_s):  # a (re)start counts in it
                for attempt in range(2):
                    if self._broken():
                        await self.close()
                    await self.start()
                    try:
                        data = await self._print_once(html)
                        break
                    except PdfUnavailable:
                        # Chromium died under the print (its pipe closed): once more with a new one
                        if attempt == 1 or not self._broken():
                            raise
        except TimeoutError:
            raise PdfUnavailable(f"no PDF: Chromium did not print the report within {deadline_s:g} s") from None
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise PdfUnavailable(f"no PDF: Chromium's answer was not understood ({type(exc).__name__})") from None
        tmp = pdf.with_name(pdf.name + ".part")
        try:
            await asyncio.to_thread(tmp.write_bytes, data)
            tmp.replace(pdf)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PdfUnavailable(f"no PDF: {pdf} cannot be written ({exc.strerror or exc})") from None
        return pdf

    async def _print_once(self, html: Path) -> bytes:
        target = (await self._call("Target.createTarget", url="about:blank"))["targetId"]
        try:
            return await self._print_target(target, html)
        finally:
            with contextlib.suppress(PdfUnavailable):  # closed without waiting: never a hang
                n, _ = self._send("Target.closeTarget", None, {"targetId": target})
                self._answers.pop(n, None)

    async def _print_target(self, target: str, html: Path) -> bytes:
        session = (await self._call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
        await self._call("Page.enable", session=session)
        loaded = self._event("Page.loadEventFired", session)
        answer = await self._call("Page.navigate", session=session, url=html.resolve().as_uri())
        if answer.get("errorText"):
            raise PdfUnavailable(f"no PDF: Chromium could not open the report ({answer['errorText']})")
        await loaded
        # the page's own size (A4, @page) and its coloured table heads, as a browser prints it
        printed = await self._call("Page.printToPDF", session=session, printBackground=True, preferCSSPageSize=True)
        return base64.b64decode(printed["data"], validate=True)

    # ------------------------------------------------------------ the protocol
    def _send(self, method: str, session: str | None, params: dict[str, Any]) -> tuple[int, asyncio.Future]:
        if self._gone:
            raise PdfUnavailable("no PDF: Chromium stopped")
        if self._writer is None or self._writer.is_closing():
            raise PdfUnavailable("no PDF: Chromium is not running")
        n = next(self._ids)
        answer = self._answers[n] = _future()
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
        future = _future()
        self._events.append((method, session, future))
        return future

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                raw = await reader.readuntil(b"\0")
                message = json.loads(raw[:-1])
                if not isinstance(message, dict):
                    continue
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
        self._gone = True
        gone = PdfUnavailable("no PDF: Chromium stopped")
        for future in [*self._answers.values(), *(f for _m, _s, f in self._events)]:
            if not future.done():
                future.set_exception(gone)


def _remove(profile: str) -> None:
    """The profile removed; a Chromium just killed may write in it for a few more
    milliseconds (its processes end one by one), so it is tried again briefly."""
    for _ in range(PROFILE_REMOVE_TRIES):
        shutil.rmtree(profile, ignore_errors=True)
        if not os.path.exists(profile):
            return
        time.sleep(0.02)


def _future() -> asyncio.Future:
    """A future whose failure nobody may wait for (Chromium gone while a close or a
    navigation's event was pending): retrieved, so no warning is printed for it."""
    future = asyncio.get_running_loop().create_future()
    future.add_done_callback(_retrieved)
    return future


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


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
