"""The replay window on a recording a real run made, with no server running:
``fixtures/manual-failover.ipicsrec`` is what
``ipics-lab scenario run manual-failover --time-scale 0.01 --record FILE`` wrote
(Failover Now on the primary, then the primary powered off and on again).

What a trainer debriefing it must see: the cards with each server's role at the
scrubbed time, the actions and narration up to then, Play moving on at the chosen
speed, and a file that is not a recording refused in words with nothing else opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from ipics_desktop.trainer.replay_window import SLIDER_PER_S, ReplayWindow, open_recording
from ipics_lab.replay import Replay

pytestmark = pytest.mark.ipics_qt

RECORDED = Path(__file__).parent / "fixtures" / "manual-failover.ipicsrec"


def first_view(replay: Replay, server: str, **wanted) -> float:
    """When the recording first saw ``server`` so (a real second of the run)."""
    times = replay.tracks[server].view_at
    views = replay.tracks[server].views
    return next(at for at, v in zip(times, views, strict=True) if all(v.get(k) == w for k, w in wanted.items()))


@pytest.fixture
async def window(qtbot):
    opened = await open_recording(RECORDED)
    assert isinstance(opened, ReplayWindow)
    yield opened
    opened.close()
    opened.deleteLater()


def listed_texts(window: ReplayWindow) -> list[str]:
    model = window.listed
    return [model.data(model.index(row)) for row in range(model.rowCount())]


async def test_scrubbing_shows_each_servers_role_and_what_was_done_by_then(window, qtbot):
    replay = window.replay
    assert window.windowTitle().startswith("Replay: manual-failover (scenario)")
    failover = first_view(replay, "primary", role="standby")
    swapped = first_view(replay, "secondary", role="active")
    down = first_view(replay, "primary", reachable=False)
    assert failover < swapped < down

    window.slider.setValue(int(failover * SLIDER_PER_S) - 1)  # as a drag of the slider does
    assert window.card_roles() == {"primary": "ACTIVE", "secondary": "STANDBY"}
    window.slider.setValue(int(swapped * SLIDER_PER_S) + 1)
    assert window.card_roles() == {"primary": "STANDBY", "secondary": "ACTIVE"}
    assert any("Failover Now on primary" in t for t in listed_texts(window))
    window.slider.setValue(int(down * SLIDER_PER_S) + 1)
    assert window.card_roles() == {"primary": "DOWN", "secondary": "ACTIVE"}
    assert "Not answering" in window.cards["primary"].subline.text()

    window.slider.setValue(0)  # back to the start: the list empties again, the roles as they began
    assert window.player.position == replay.start_s > 0  # the first record: the lab's start-up is no part
    assert window.card_roles() == {"primary": "ACTIVE", "secondary": "STANDBY"}
    assert not any("Failover Now" in t for t in listed_texts(window))
    assert "0:04 of 0:11 real" in window.time_label.text()
    assert window.plot.cursor_x() < window.plot.width() / 4


async def test_play_moves_on_at_the_chosen_speed_and_pause_holds(window, qtbot):
    window.speed.setCurrentIndex(window.speed.findText("10x"))
    qtbot.mouseClick(window.play_button, Qt.MouseButton.LeftButton)
    assert window.play_button.text() == "Pause"
    # 10x: the run's 12 real seconds in about 1.2 s; the primary is seen down on the way
    qtbot.waitUntil(lambda: window.card_roles()["primary"] == "DOWN", timeout=5000)
    window.play_button.click()
    held = window.player.position
    assert window.play_button.text() == "Play" and 0 < held < window.replay.duration_s
    qtbot.wait(200)
    assert window.player.position == held and window.slider.value() == round(held * SLIDER_PER_S)


async def test_play_stops_at_the_end(window, qtbot):
    window.speed.setCurrentIndex(window.speed.findText("60x"))
    window.play_button.click()
    qtbot.waitUntil(lambda: window.play_button.text() == "Play", timeout=5000)
    assert window.player.position == window.replay.duration_s
    assert window.listed.rowCount() == len(window.replay.listed)
    assert window.card_roles() == {"primary": "STANDBY", "secondary": "ACTIVE"}


async def test_a_foreign_file_is_refused_in_words_and_nothing_else_opens(tmp_path, qtbot):
    foreign = tmp_path / "notes.ipicsrec"
    foreign.write_text("the debrief's minutes, not a recording\n")
    opened = await open_recording(foreign)
    assert isinstance(opened, QMessageBox) and opened.objectName() == "replayRefused"
    assert f"{foreign} is not a recording of the IPICS HA Lab" in opened.text()
    assert opened.isVisible()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, ReplayWindow) and w.isVisible()]
    opened.close()


async def test_every_control_has_a_documented_object_name_and_an_accessible_name(window):
    from ..gui.test_accessibility import controls

    docs = (Path(__file__).resolve().parents[2] / "docs" / "widgets.md").read_text()
    # the cards' fault buttons are hidden; the slider is a control here too
    found = [w for w in controls(window) if w.isVisibleTo(window)] + [window.slider]
    for widget in found:
        name = widget.objectName()
        assert name and widget.accessibleName(), f"{type(widget).__name__} {name!r}"
        assert f"`{name}`" in docs, f"{name} is not in docs/widgets.md"
    assert {w.objectName() for w in found} == {"replayPlay", "replaySpeed", "replaySlider", "replayNarration"}
