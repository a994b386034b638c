"""The report's PDF: the HTML page printed by Debian's headless Chromium.

Chromium is started as a subprocess of the event loop (the GUI and the lab never wait
on it) with a deadline; a missing Chromium, one that fails or one past its deadline
gives no PDF and a sentence saying why (``PdfUnavailable``), the HTML being written
already.  Its own profile in a temporary folder: no user's browser state is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

from ipics_lab.browser import CHROMIUM, CHROMIUM_ARGS

#: real seconds Chromium may take to start and print (a cold start on a loaded machine)
PRINT_DEADLINE_S = 60.0


class PdfUnavailable(Exception):
    """No PDF was made; ``str()`` says why in one sentence."""


async def print_pdf(html: Path, pdf: Path, *, deadline_s: float | None = None) -> Path:
    deadline_s = deadline_s or PRINT_DEADLINE_S
    if not shutil.which(CHROMIUM):
        raise PdfUnavailable(
            f"no PDF: Chromium ({CHROMIUM}) is not installed; install Debian's chromium "
            "(packaging/bootstrap.sh does) to print the report"
        )
    pdf.unlink(missing_ok=True)  # a PDF left from an earlier report must not pass for this one
    with tempfile.TemporaryDirectory(prefix="ipics-report-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(deadline_s):
                _, err = await proc.communicate()
        except TimeoutError:
            raise PdfUnavailable(f"no PDF: Chromium did not print the report within {deadline_s:g} s") from None
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        last = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise PdfUnavailable(f"no PDF: Chromium failed to print the report (exit {proc.returncode}: {last[0]})")
    return pdf
