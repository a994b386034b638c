"""The after-action report opened the way a trainer opens it: the HTML in a browser
(Debian's headless Chromium), offline, and the PDF's pages."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from ipics_lab.report import write_report_async
from ipics_lab.report.page import SECTIONS
from ipics_lab.report.pdf import Printer
from ipics_lab.supervisor import wait_until

from .conftest import CHAPTER, HOSTILE, write_failover_recording
from .pdf_text import read_pdf


async def _open(browser, path):
    """The page, every request it made and every dialog it opened."""
    context = await browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    page = await context.new_page()
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    await page.goto(path.as_uri())
    return context, page, requests, dialogs


async def test_the_report_renders_offline_with_its_sections_and_its_timeline(browser, failover_recording):
    out = failover_recording.with_suffix(".html")
    paths = await write_report_async(failover_recording, out)
    assert paths[0] == out and out.is_file()
    context, page, requests, _ = await _open(browser, out)
    try:
        assert requests == [out.as_uri()]  # nothing else fetched: no style, font, image or script
        for section_id, title in SECTIONS:
            section = page.locator(f"#{section_id}")
            assert await section.is_visible(), section_id
            assert title in await section.inner_text()
        # the timeline: drawn (an SVG the browser laid out), its lanes named, its markers there
        box = await page.locator("svg#timeline-plot").bounding_box()
        assert box is not None and box["width"] > 800 and box["height"] > 200
        plot = await page.locator("#report-timeline").inner_text()
        assert "Missed heartbeats" in plot and "primary powered off" in plot and "time: emulated seconds" in plot
        assert await page.locator("svg#timeline-plot g > title").count() > 20
        # every image loaded (none broken)
        broken = await page.evaluate("[...document.images].filter(i => !i.complete || !i.naturalWidth).length")
        assert broken == 0
        # derived from the servers' views and the timeline
        assert "1 min 15 s emulated" in await page.locator("#duration-detection_s").inner_text()
        assert "30 s emulated" in await page.locator("#duration-takeover_s").inner_text()
        assert "50 s emulated" in await page.locator("#duration-client_reconnect_s").inner_text()
        grade = await page.locator("#report-grade").inner_text()
        assert "70/100" in grade and "not passed" in grade and CHAPTER in grade
        assert "written on the primary after the cut" in await page.locator("#report-writes").inner_text()
        actions = await page.locator("#report-actions").inner_text()
        assert "ipicsadmin" in actions and "Administration Console" in actions and "+11:40" in actions
        assert "Go Standby is refused on the standby server" in actions
        steps = await page.locator("#report-events").inner_text()
        assert "+9:45" in steps and "5.9 s" in steps  # each event's emulated and real time
        assert "100 heartbeat events" in steps
    finally:
        await context.close()


async def test_the_recordings_texts_render_as_text_never_as_markup(browser, tmp_path):
    recording = await write_failover_recording(tmp_path / "hostile.ipicsrec", hostile=HOSTILE)
    out = tmp_path / "hostile.html"
    await write_report_async(recording, out)
    context, page, _, dialogs = await _open(browser, out)
    try:
        assert await page.locator("script").count() == 0
        body = await page.inner_text("body")
        for text in ("split-brain" + HOSTILE, "ipicsadmin" + HOSTILE, CHAPTER + HOSTILE, "cut" + HOSTILE):
            assert text in body
        assert HOSTILE in await page.locator("svg#timeline-plot").text_content()  # the tooltips too
        assert dialogs == []
    finally:
        await context.close()


def _ended(pid: int) -> bool:
    """The process is gone or a zombie (its renderers may still be ending)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.pair  # starts Chromium
async def test_the_pdf_has_the_reports_pages_from_a_chromium_started_with_the_run(failover_recording, tmp_path):
    printer = Printer()
    printer.start_soon()  # as a run with --report does at its start
    try:
        pids = []
        for n in (1, 2):
            out = tmp_path / f"report-{n}.html"
            paths = await write_report_async(failover_recording, out, printer=printer)
            assert paths == [out, out.with_suffix(".pdf")], paths.why_no_pdf
            pids.append(printer.pid)
        assert pids[0] is not None and pids[0] == pids[1]  # one Chromium, started once
        raw = (tmp_path / "report-2.pdf").read_bytes()
        pdf = read_pdf(raw)
        pages = pdf.pages()
        assert pdf.page_count() == len(pages) >= 2  # the events run on to a second A4 page
        # A4 (595 x 842 points), as the page's @page says: not the printer's default Letter
        assert re.search(rb"/MediaBox \[0 0 594\.9\d* 841\.9\d*\]", raw), re.findall(rb"/MediaBox [^/]*", raw)[:1]
        first, last = pdf.text_of(pages[0]), pdf.text_of(pages[-1])
        assert "After-action report: exercise split-brain" in first and "Missed heartbeats" in first
        words = " ".join(pdf.text().split())  # the lines as the page wrapped them, joined
        assert "70/100 not passed" in words and "1 min 15 s emulated" in words and CHAPTER in words
        assert "dan: reconnected to the secondary" in last  # the last event, on the last page

        os.kill(pids[0], signal.SIGKILL)  # a Chromium that dies during a long run: the next report starts another
        await wait_until(lambda: _ended(pids[0]), 10, "the killed Chromium to end")
        out = tmp_path / "report-3.html"
        paths = await write_report_async(failover_recording, out, printer=printer)
        assert paths == [out, out.with_suffix(".pdf")], paths.why_no_pdf
        pids.append(printer.pid)
        assert pids[2] not in (None, pids[0])
    finally:
        await printer.close()
    # asked to quit, it went with every process it started (its own session)
    await wait_until(lambda: _group_gone(pids[-1]), 10, "Chromium and its renderers to end")


@pytest.mark.parametrize("cause", ["missing", pytest.param("hangs", marks=pytest.mark.pair)])
async def test_without_chromium_the_html_is_written_and_why_no_pdf_is_said(
    failover_recording, tmp_path, cause, monkeypatch
):
    from ipics_lab.report import pdf

    if cause == "missing":
        monkeypatch.setattr(pdf, "CHROMIUM", str(tmp_path / "no-chromium"))
    else:  # a browser that never prints: the deadline ends it
        hang = tmp_path / "hang"
        hang.write_text("#!/bin/sh\nexec sleep 60\n")
        hang.chmod(0o755)
        monkeypatch.setattr(pdf, "CHROMIUM", str(hang))
        monkeypatch.setattr(pdf, "PRINT_DEADLINE_S", 0.5)
    out = tmp_path / "report.html"
    paths = await write_report_async(failover_recording, out)
    assert list(paths) == [out] and out.stat().st_size > 10_000
    assert not out.with_suffix(".pdf").exists()
    assert paths.why_no_pdf == (
        f"no PDF: Chromium ({tmp_path / 'no-chromium'}) is not installed; install Debian's chromium "
        "(packaging/bootstrap.sh does) to print the report"
        if cause == "missing"
        else "no PDF: Chromium did not print the report within 0.5 s"
    )
