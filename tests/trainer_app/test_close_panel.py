"""Closing the trainer panel stops everything the lab started: the devices' windows and
sessions, the monitor, both servers and the media router."""

from __future__ import annotations

import asyncio

import pytest
import shiboken6

from ipics_desktop.trainer.app import TrainerApp
from ipics_lab.recording import read_recording
from ipics_lab.supervisor import wait_until

# the trainer app starts its lab's processes
pytestmark = pytest.mark.pair


async def test_closing_the_trainer_panel_stops_everything(tmp_path, qtbot):
    app = TrainerApp(tmp_path / "lab", 0.01)
    run = asyncio.ensure_future(app.run())
    try:
        await wait_until(lambda: app.panel is not None and app.panel.isVisible() or run.done(), 90, "the trainer panel")
        assert not run.done(), run.result()
        await wait_until(lambda: len(app.launcher.opened) == 2, 30, "the IDC and the phone")
        assert [(d.kind, d.user) for d in app.launcher.opened] == [("console", "dan"), ("phone", "dan")]
        windows = [w for d in app.launcher.opened for w in d.widgets]
        processes = [s.proc for s in app.lab.pair.servers] + [app.lab.router.proc]
        assert all(p.poll() is None for p in processes)

        app.panel.close()  # the trainer closes the panel
        assert await asyncio.wait_for(run, 30) == 0
    finally:
        if not run.done():
            app.request_stop()
            await asyncio.wait_for(run, 30)
    assert all(p.poll() is not None for p in processes)
    assert not any(_visible(w) for w in windows)
    assert app.monitor._task is None
    assert not (tmp_path / "lab" / "lab.json").exists()
    # the run was recorded from the lab's start, and the file closed whole (replay, reports)
    (kept,) = (tmp_path / "lab" / "recordings").glob("*.ipicsrec")
    recording = read_recording(kept)
    assert recording.header.kind == "lab" and recording.of_type("status")
    assert "the lab is up: primary active, secondary standby Ready" in [e["text"] for e in recording.of_type("event")]


def _visible(widget) -> bool:
    return shiboken6.isValid(widget) and widget.isVisible()
