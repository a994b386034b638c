"""A run's recording made by hand (every kind of record, a failover, a grade), and the
browser the reports are opened in."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ipics_lab.recording import Header, RecordingWriter
from ipics_lab.trainer.timeline import Event

from ..admin_console.conftest import browser  # noqa: F401 (fixture: Debian's headless Chromium)

HOSTILE = "<script>alert('x')</script>"
CHAPTER = "Perform the Go Standby procedure on the secondary server, never on the primary."


async def write_failover_recording(path: Path, *, hostile: str = "") -> Path:
    """An exercise at 100x: the primary powered off at 500 s, five missed heartbeats,
    the secondary transitioning at 585 s and active at 615 s, Dan offline 590-640 s,
    a refused Go Standby, a graded result.  ``hostile`` goes into every text."""
    header = Header(
        "exercise", f"split-brain{hostile}", time.time(), 0.01, details={"goal": f"the pair healthy{hostile}"}
    )
    w = RecordingWriter(path, header)

    def event(emulated: float, kind: str, text: str, server: str | None = None, ok: bool | None = None) -> None:
        w.event(Event(emulated / 100, emulated, kind, text + hostile, server, ok))

    for i in range(100):
        event(i * 5.0, "heartbeat", "primary: 1 heartbeat sent", "primary")
        w.status("secondary", {"role": "standby", "missed_now": 0}, i * 0.05, i * 5.0)
    event(500, "fault", "primary powered off", "primary")
    for k in range(5):
        event(510 + k * 15, "missed", f"secondary: heartbeat missed ({k + 1} in a row, the window is 5)", "secondary")
    w.status("secondary", {"role": "transitioning", "missed_now": 5}, 5.85, 585)
    event(585, "role", "secondary: standby (configured) -> transitioning (configured)", "secondary")
    event(590, "client", "dan: offline (lost the primary); working with the last configuration")
    w.status("secondary", {"role": "active", "missed_now": 0}, 6.15, 615)
    event(615, "role", "secondary: transitioning (configured) -> active (configured)", "secondary")
    event(640, "client", "dan: reconnected to the secondary", "secondary")
    entry = {
        "at": 1.7e9,
        "action": "go-standby",
        "via": "console",
        "user": f"ipicsadmin{hostile}",
        "ok": False,
        "result": f"Go Standby is refused on the standby server{hostile}",
        "command": None,
    }
    w.action("primary", entry, 7.0, 700)
    event(700, "action", f"primary, Administration Console: go-standby by ipicsadmin: refused{hostile}", "primary")
    result = {
        "grade": {
            "score": 70,
            "passed": False,
            "deductions": [{"points": 30, "what": f"Go Standby on the primary{hostile}", "chapter": CHAPTER + hostile}],
            "steps": [
                {
                    "action": "go-standby",
                    "server": "primary",
                    "via": "console",
                    "at": 700,
                    "ok": False,
                    "verdict": "the wrong server",
                    "chapter": CHAPTER,
                }
            ],
        },
        "writes": {"acknowledged": 12, "lost": 1, "lost_why": [f"written on the primary after the cut{hostile}"]},
        "outcome": f"Recovered in 2 min; one acknowledged write lost.{hostile}",
    }
    w.result(result, 8.0, 800)
    await w.close()
    return path


@pytest.fixture
async def failover_recording(tmp_path) -> Path:
    return await write_failover_recording(tmp_path / "run.ipicsrec")
