"""A run's recording: written as the run goes, read back whole; a foreign or damaged
file refused with a sentence saying where and why."""

from __future__ import annotations

import asyncio
import json

import pytest

from ipics_lab.recording import Header, RecordingError, RecordingWriter, read_recording
from ipics_lab.trainer.timeline import Event


async def test_a_recording_reads_back_what_was_written(tmp_path):
    path = tmp_path / "run.ipicsrec"
    writer = RecordingWriter(path, Header("exercise", "split-brain-method-1", 1.7e9, 0.01, details={"goal": "x"}))
    writer.start()
    writer.event(Event(at=0.5, emulated=50.0, kind="fault", text="primary powered off", server="primary"))
    view = {"reachable": True, "role": "active", "ha": "configured", "split_brain": False}
    writer.status("primary", view, 0.51, 51.0)
    writer.status("primary", view, 0.52, 52.0)  # unchanged: not written again
    writer.status("primary", {**view, "role": "standby"}, 0.53, 53.0)
    writer.action("secondary", {"action": "go-standby", "via": "console", "ok": True}, 0.6, 60.0)
    writer.result({"grade": 85}, 0.61, 61.0)
    await writer.close()

    rec = read_recording(path)
    assert rec.header.name == "split-brain-method-1" and rec.header.details == {"goal": "x"}
    assert [r["type"] for r in rec.records] == ["event", "status", "status", "action", "result"]
    assert [r["view"]["role"] for r in rec.of_type("status")] == ["active", "standby"]
    assert rec.result == {"grade": 85} and rec.emulated_s == 61.0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not text"),
        (b'{"hello": "world"}\n', "is not a recording of the IPICS HA Lab"),
        (b"not json at all\n", "is not a recording of the IPICS HA Lab"),
        (
            b'{"format": "ipics-lab-recording", "version": 99, "kind": "x", "name": "x", '
            b'"started_at": 0, "time_scale": 1}\n',
            "newer version",
        ),
        (b'{"format": "ipics-lab-recording", "version": 1}\n', "header is damaged"),
    ],
)
def test_a_foreign_file_is_refused_in_words(tmp_path, content, says):
    path = tmp_path / "x.ipicsrec"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=says):
        read_recording(path)


def test_a_damaged_line_is_named(tmp_path):
    header = Header("scenario", "earthquake", 1.7e9, 0.01).to_json()
    good = {"type": "event", "at": 1, "emulated": 2, "kind": "fault", "text": "t", "server": None, "ok": None}
    path = tmp_path / "cut.ipicsrec"
    path.write_text(json.dumps(header) + "\n" + json.dumps(good) + "\n" + '{"type": "event", "at": 1, "emu')
    with pytest.raises(RecordingError, match="line 3 is not a record"):
        read_recording(path)
    path.write_text(json.dumps(header) + "\n" + json.dumps({**good, "at": "soon"}) + "\n")
    with pytest.raises(RecordingError, match="line 2: at must be a number"):
        read_recording(path)
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "missing.ipicsrec")


async def test_closing_while_a_flush_is_writing_loses_nothing(tmp_path, monkeypatch):
    """The run ends (``close``) while the once-a-second flush is writing in its thread:
    that write finishes before the file is closed, so the header and every record are kept."""
    import threading

    from ipics_lab import recording

    writing, release = threading.Event(), threading.Event()
    plain_write = recording._write

    def slow_write(f, lines):
        if not writing.is_set():  # the first write: the disk is slow this time
            writing.set()
            release.wait(5)
        plain_write(f, lines)

    monkeypatch.setattr(recording, "_write", slow_write)
    monkeypatch.setattr(recording, "FLUSH_EVERY_S", 0.01)
    path = tmp_path / "run.ipicsrec"
    writer = RecordingWriter(path, Header("lab", "lab", 1.7e9, 0.01))
    writer.event(Event(at=0.1, emulated=10.0, kind="fault", text="primary powered off", server="primary"))
    writer.start()
    await asyncio.to_thread(writing.wait, 5)  # the flusher is in the middle of its write
    writer.event(Event(at=0.2, emulated=20.0, kind="role", text="secondary: standby -> active", server="secondary"))
    closing = asyncio.ensure_future(writer.close())
    await asyncio.sleep(0.1)  # close has run as far as it can without that write
    release.set()
    await closing
    assert [e["text"] for e in read_recording(path).of_type("event")] == [
        "primary powered off",
        "secondary: standby -> active",
    ]


async def test_a_recording_closed_without_the_event_loop_keeps_every_line(tmp_path):
    # a lab stopped from synchronous code (TrainerLab.stop) closes its recording so
    path = tmp_path / "sync.ipicsrec"
    writer = RecordingWriter(path, Header("lab", "lab", 1.7e9, 1.0))
    writer.start()
    for n in range(50):
        writer.event(Event(at=n, emulated=n, kind="heartbeat", text=f"primary: {n}", server="primary"))
    await writer.flush()
    writer.event(Event(at=50, emulated=50, kind="fault", text="last one", server="primary"))
    writer.close_now()
    writer.event(Event(at=51, emulated=51, kind="fault", text="after the close: not written"))
    assert [r["text"] for r in read_recording(path).records] == [f"primary: {n}" for n in range(50)] + ["last one"]
