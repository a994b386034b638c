"""Every trainer lab records its run: the servers' views as they change, the timeline,
the administrators' actions, into ``<lab root>/recordings/<UTC time>-lab.ipicsrec``."""

from __future__ import annotations

from ipics_lab.recording import read_recording
from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.actions import Actions

DEADLINE_S = 20


async def test_the_lab_records_its_run_from_start_to_stop(trainer_lab):
    lab = trainer_lab
    path = lab.recording_path
    assert path is not None and path.parent == lab.root / "recordings" and path.name.endswith("-lab.ipicsrec")
    await Actions(lab.pair, lab.timeline).power_off("secondary")
    await wait_until(
        lambda: lab.monitor.views["secondary"].reachable is False, DEADLINE_S, "the secondary seen powered off"
    )
    assert await lab.stop_recording({"outcome": "test over"}) == path

    rec = read_recording(path)
    assert (rec.header.kind, rec.header.name, rec.header.time_scale) == ("lab", "lab", lab.time_scale)
    secondary = [r["view"] for r in rec.of_type("status") if r["server"] == "secondary"]
    # the baseline view, then the same server silent: what a replay shows at each time
    assert secondary[0]["role"] == "standby" and secondary[-1]["reachable"] is False
    assert any(r["view"]["role"] == "active" for r in rec.of_type("status") if r["server"] == "primary")
    texts = [r["text"] for r in rec.of_type("event")]
    assert "the lab is up: primary active, secondary standby Ready" in texts
    assert any("power" in t and "secondary" in t for t in texts), texts
    assert rec.result == {"outcome": "test over"}
