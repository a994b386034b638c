"""The panel's Open recording...: a run recorded earlier replayed in a window of its own
beside the live lab; a file that is not a recording refused in words."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from ipics_desktop.trainer.replay_window import ReplayWindow

RECORDED = Path(__file__).parent.parent / "replay" / "fixtures" / "manual-failover.ipicsrec"


async def test_open_recording_replays_a_run_beside_the_live_lab(panel, tmp_path):
    assert panel.open_recording_button.text() == "Open recording\u2026"
    window = await panel.open_recording(RECORDED)
    try:
        assert isinstance(window, ReplayWindow) and window.isVisible()
        assert window.card_roles() == {"primary": "ACTIVE", "secondary": "STANDBY"}
        window.seek(window.replay.duration_s)
        assert window.card_roles() == {"primary": "STANDBY", "secondary": "ACTIVE"}
        assert panel.cards["primary"].role_label.text() == "ACTIVE"  # the live lab is untouched
    finally:
        window.close()
    foreign = tmp_path / "notes.ipicsrec"
    foreign.write_text("not a recording\n")
    box = await panel.open_recording(foreign)
    assert isinstance(box, QMessageBox) and "is not a recording of the IPICS HA Lab" in box.text()
    box.close()
