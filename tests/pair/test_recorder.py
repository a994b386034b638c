"""Recording a run on a real pair: the timeline, the servers' views, and what a person
typed into a server's shell, put on the timeline live and into the file."""

from __future__ import annotations

import time

from ipics_lab.recorder import Recorder
from ipics_lab.recording import Header, read_recording
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.monitor import Monitor
from ipics_lab.trainer.timeline import Timeline

from .conftest import TIME_SCALE, shell


async def test_a_run_is_recorded_with_what_a_person_did_on_the_servers(pair, tmp_path):
    timeline = Timeline(pair.clock)
    monitor = Monitor(pair, timeline, pair.clock, period_s=0.1)
    recorder = Recorder(
        tmp_path / "run.ipicsrec",
        Header("lab", "test", time.time(), TIME_SCALE),
        pair=pair,
        timeline=timeline,
        clock=pair.clock,
        monitor=monitor,
    )
    monitor.start()
    await recorder.start()
    try:
        timeline.add("fault", "primary: nothing really", server="primary")
        await shell(pair, pair.secondary, "ipicsrsync run ipicsadmin")

        def seen():
            return [e for e in timeline.of_kind("action") if "server shell: ipicsrsync" in e.text]

        typed = await wait_until(seen, 10, "the shell command on the timeline")
        assert typed[0].server == "secondary" and "by ipicsadmin" in typed[0].text
    finally:
        await monitor.stop()
        path = await recorder.stop({"grade": None})

    rec = read_recording(path)
    actions = [r for r in rec.of_type("action")]
    # the lab's own set-up (trust, Configure) came before the recording: not the trainee's
    assert [(r["server"], r["entry"]["action"]) for r in actions] == [("secondary", "rsync")]
    assert {r["server"] for r in rec.of_type("status")} == {"primary", "secondary"}
    texts = [r["text"] for r in rec.of_type("event")]
    assert "primary: nothing really" in texts and any("ipicsrsync" in t for t in texts)
    assert rec.result == {"grade": None}
