"""The trainer panel's controls: each has an objectName documented in docs/widgets.md
and an accessible name; the panel fits a 1280x800 screen, split brain banner and all."""

from __future__ import annotations

from pathlib import Path

from ipics_lab.supervisor import wait_until

from ..gui.test_accessibility import controls
from .conftest import DEADLINE_S

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "widgets.md").read_text()
#: what a window manager's title bar and a panel leave of an 800-pixel-high screen
SCREEN_HEIGHT = 770


def documented(object_name: str) -> bool:
    pattern = object_name.split(":")[0] + ":<server>" if ":" in object_name else object_name
    return f"`{pattern}`" in DOCS


async def test_every_control_has_a_documented_object_name_and_an_accessible_name(make_panel, launcher):
    panel = await make_panel(launcher)
    checked = 0
    for widget in controls(panel):
        name = widget.objectName()
        assert name, f"a {type(widget).__name__} without objectName"
        assert widget.accessibleName(), f"{name} has no accessible name"
        assert documented(name), f"{name} is not in docs/widgets.md"
        checked += 1
    # 2 x (9 fault buttons + 2 spin boxes), 6 actions, time scale, axis, Export PNG,
    # Export report, Open recording, 3 device controls, the scenario picker and its 4
    # buttons, the narration list, the network box's 2 sites, rate, Drop packets, server,
    # Isolate clients and Heal network, the exercise pane's picker, Start, Done, hints,
    # Release hint and grade, the game day pane's seed, duration, Start and End
    assert checked == 22 + 6 + 5 + 3 + 5 + 1 + 7 + 6 + 4
    for name in (
        "trainerPanel",
        "timelinePlot",
        "txlogGauge",
        "splitBrainBanner",
        "actionProgress",
        "serverTransition",
        "serverCard:<server>",
        "scenarioResult",
        "scenarioSay",
        "labTopology",
        "labAttached",
        "networkSites",
        "networkResult",
        "networkUnavailable",
        "faultsUnavailable:<server>",
    ):
        assert f"`{name}`" in DOCS, name


async def test_the_panel_fits_a_1280x800_screen_even_in_a_split_brain(panel):
    assert panel.frameGeometry().width() <= 1280 and panel.frameGeometry().height() <= 800
    primary = panel.cards["primary"]
    primary.cut_both.click()
    await wait_until(lambda: panel.cards["secondary"].role_label.text() == "ACTIVE", DEADLINE_S, "both active")
    await wait_until(primary.heal_link.isEnabled, DEADLINE_S, "Heal link")
    primary.heal_link.click()
    await wait_until(panel.split_banner.isVisible, DEADLINE_S, "the split brain banner")
    await wait_until(
        lambda: panel.minimumSizeHint().height() <= SCREEN_HEIGHT,
        2,
        f"the panel to need at most {SCREEN_HEIGHT} pixels",
    )
    buttons = [b for card in panel.cards.values() for b in card.fault_buttons]

    def squeezed() -> list[str]:
        return [f"{b.objectName()} {b.height()}px" for b in buttons if b.height() < b.minimumSizeHint().height()]

    # None squeezed below what its text needs, once the layout has taken the banner in.
    await wait_until(lambda: not squeezed(), 2, "no fault button squeezed")
