"""The telephone panel against the real pair, driven through its keys: dial in, user ID
and PIN as tones, join Fire; the chapter's rules for standard telephones ("HA Affect On
Connected Devices"): a failover drops the call and calling back after a short delay
works; a dial-out invitation rings the panel (Answer picks up when auto-answer is
off).  And ``ipics-lab telephone`` as a process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from ipics_clients.telephone import Telephone
from ipics_desktop.telephone.panel import TelephonePanel
from ipics_lab.labfile import write_lab_file
from ipics_lab.supervisor import wait_until
from ipics_server.dial.engine import SYSTEM_NUMBER
from ipics_server.dial.pstn import PstnDirectory

from ..commands import start
from ..pair.conftest import TAKEOVER_DEADLINE_S
from .test_accessibility import controls, documented
from .test_console_command import console_env
from .test_phone_window import click

NUMBER = "5551234"
DAN_GROUPS = ["EMS", "Fire", "Police", "Downtown Response", "Mutual Aid"]
#: real seconds a step of the voice menu may take on a loaded machine
STEP_S = 15


@pytest.fixture
async def panel(demo, qtbot):
    pair = demo.pair
    telephone = Telephone(NUMBER, [pair.primary.url, pair.secondary.url])
    panel = TelephonePanel(telephone=telephone)
    await telephone.connect_to(PstnDirectory(pair.pstn_directory))
    qtbot.addWidget(panel)  # pytest-qt closes it (its tasks are cancelled) before this fixture ends
    panel.show()
    try:
        yield panel
    finally:
        await telephone.disconnect()


def state(panel: TelephonePanel) -> tuple[str, str]:
    """The state line's words and its colour name."""
    return panel.state_label.text(), panel.state_label.property("state")


def keys(panel: TelephonePanel, qtbot, tones: str) -> None:
    for key in tones:
        click(qtbot, panel.keys[key])


async def hears(panel: TelephonePanel, words: str) -> None:
    """The voice menu says the words and the panel's transcript shows them (the panel
    renders a moment after the telephone hears, several changes at once)."""
    await wait_until(
        lambda: words in panel.heard_label.text(), STEP_S, f"the voice menu to say {words!r} (panel: {panel.text()!r})"
    )


async def join(panel: TelephonePanel, qtbot, pin: str, group: str) -> None:
    """Call, the user ID and PIN as tones, the group's number from the voice menu."""
    click(qtbot, panel.call_button)
    await wait_until(lambda: state(panel) == ("Connected", "connected"), STEP_S, "the call to be answered")
    await hears(panel, "Enter your user ID")
    assert panel.keys["1"].isEnabled() and not panel.call_button.isEnabled()
    keys(panel, qtbot, "1001#")
    qtbot.keyClicks(panel, f"{pin}#")  # the computer's keyboard presses the keypad too
    await hears(panel, "press 1")
    assert "For EMS, press 1." in panel.heard_label.text()  # the transcript shows the menu
    keys(panel, qtbot, f"{DAN_GROUPS.index(group) + 1}#")
    await wait_until(lambda: panel.display_label.text() == group, STEP_S, f"{group} on the display")
    assert panel.details_label.text().startswith("Logged in as dan, via ")


async def test_dial_in_join_fire_a_failover_drops_the_call_and_calling_back_works(demo, panel, qtbot):
    pair = demo.pair
    assert state(panel) == ("On hook", "idle") and panel.number_label.text() == f"\u260e {NUMBER}"
    assert not panel.keys["5"].isEnabled() and not panel.hang_up_button.isEnabled()
    await join(panel, qtbot, demo.pin, "Fire")
    assert panel.details_label.text() == f"Logged in as dan, via {pair.primary.url}"

    pair.primary.kill()
    await wait_until(lambda: state(panel) == ("Call dropped", "failed"), STEP_S, "the call to drop")
    assert "Call back after a short delay" in panel.details_label.text()
    assert panel.call_button.isEnabled() and not panel.keys["1"].isEnabled()
    click(qtbot, panel.call_button)  # at once: the old active is gone, the standby still taking over
    await wait_until(lambda: state(panel) == ("All circuits busy", "failed"), STEP_S, "all circuits busy")

    await pair.wait_status(pair.secondary, timeout_s=TAKEOVER_DEADLINE_S, role="active")
    await join(panel, qtbot, demo.pin, "Fire")  # after the short delay: the new active takes it
    assert panel.details_label.text() == f"Logged in as dan, via {pair.secondary.url}"
    click(qtbot, panel.hang_up_button)
    await wait_until(lambda: state(panel) == ("On hook", "idle"), STEP_S, "on hook")


async def test_a_dial_out_invitation_rings_and_answer_picks_up_when_auto_answer_is_off(demo, panel, qtbot):
    pair = demo.pair
    click(qtbot, panel.auto_answer)
    assert not panel.auto_answer.isChecked() and not panel.telephone.auto_answer
    assert not panel.answer_button.isEnabled()
    dan = await pair.login(pair.primary, "dan", demo.password)
    async with pair.primary.client(dan) as c:
        reply = await c.get("/api/v1/vtgs")
        vtg = next(v["id"] for v in reply.body["vtgs"] if v["name"] == "Downtown Response")
        # The server places the call and answers once the telephone picks up.
        invite = asyncio.ensure_future(
            c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": NUMBER}, timeout_s=STEP_S + 30)
        )
        try:
            await wait_until(lambda: state(panel) == ("Ringing: incoming call", "ringing"), STEP_S, "the ring")
            assert panel.details_label.text() == "IPICS is calling to join Downtown Response. Press Answer."
            assert panel.answer_button.isEnabled() and not panel.call_button.isEnabled()
            assert not invite.done()  # nobody has picked up
            click(qtbot, panel.answer_button)
            reply = await asyncio.wait_for(invite, STEP_S)
        finally:
            if not invite.done():
                invite.cancel()
        assert reply.ok and reply.body["dial_out"] == [{"number": NUMBER, "status": "connected"}], reply.body
        assert state(panel) == ("Connected", "connected") and panel.display_label.text() == "Downtown Response"
        assert panel.details_label.text() == f"Dial-out call from IPICS {SYSTEM_NUMBER} on Downtown Response"

        # Hung up; with auto-answer on the next invitation is picked up at once.
        click(qtbot, panel.hang_up_button)
        await wait_until(lambda: state(panel) == ("On hook", "idle"), STEP_S, "on hook")

        async def participant_disconnected():
            vtgs = (await c.get("/api/v1/vtgs")).body["vtgs"]
            return next(v for v in vtgs if v["id"] == vtg)["dial_out"][0]["status"] == "disconnected"

        await wait_until(participant_disconnected, STEP_S, "the server to see the hang-up")
        click(qtbot, panel.auto_answer)
        reply = await c.post(f"/api/v1/vtgs/{vtg}/dial-out", {"number": NUMBER})
        assert reply.body["dial_out"] == [{"number": NUMBER, "status": "connected"}], reply.body
    await wait_until(lambda: state(panel) == ("Connected", "connected"), STEP_S, "picked up by itself")


async def test_every_control_has_a_documented_object_name_and_an_accessible_name(qtbot, unused_tcp_port):
    telephone = Telephone(NUMBER, [f"http://127.0.0.1:{unused_tcp_port}"])
    panel = TelephonePanel(telephone=telephone)
    qtbot.addWidget(panel)
    panel.show()
    checked = 0
    for widget in controls(panel):
        name = widget.objectName()
        assert name, f"a {type(widget).__name__} without objectName"
        assert widget.accessibleName(), f"{name} has no accessible name"
        assert documented(name), f"{name} is not in docs/widgets.md"
        checked += 1
    assert checked == 12 + 3 + 1  # keypad, Call Answer Hang up, auto-answer
    for name in ("telephoneNumber", "telephoneState", "telephoneDisplay", "telephoneDetails", "telephoneHeard"):
        assert documented(name), name
    hint = panel.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 760, hint

    click(qtbot, panel.call_button)  # nobody takes the call: said in words, not colour alone
    await wait_until(lambda: state(panel) == ("All circuits busy", "failed"), STEP_S, "all circuits busy")
    assert "All circuits busy" in panel.accessibleDescription()


# ---------------------------------------------------------------- ipics-lab telephone
async def run_telephone(*args: str, display: bool = True) -> asyncio.subprocess.Process:
    env = console_env(QT_QPA_PLATFORM="offscreen") if display else console_env()
    return await start("ipics_desktop.telephone.app", *args, env=env)


def fake_lab(root: Path) -> None:
    servers = [
        SimpleNamespace(name=name, host=host, url=f"http://{host}:8443", pid=1, ssh_port=2222, data_dir=root / name)
        for name, host in (("primary", "127.0.0.1"), ("secondary", "127.0.0.2"))
    ]
    write_lab_file(root, servers, time_scale=0.02)


@pytest.mark.pair
async def test_the_telephone_command_takes_the_labs_trunk_and_joins_its_telephone_network(tmp_path: Path):
    fake_lab(tmp_path)
    proc = await run_telephone("--number", NUMBER, "--lab-dir", str(tmp_path), "--no-auto-answer", "--report-shown")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
        shown = json.loads(line)
        assert shown["trunk"] == ["http://127.0.0.1:8443", "http://127.0.0.2:8443"]
        assert shown["pstn"] == str(tmp_path / "pstn.json") and shown["auto_answer"] is False
        ring_url = PstnDirectory(tmp_path / "pstn.json").lookup(NUMBER)
        assert ring_url and ring_url.startswith("http://127.0.0.1:")
        # SIGTERM (kill, a desktop logging out) unplugs it as closing its window does:
        # the number is free again, not left ringing nowhere.
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        assert PstnDirectory(tmp_path / "pstn.json").lookup(NUMBER) is None
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


@pytest.mark.pair
@pytest.mark.parametrize(
    "args, display, says",
    [
        (["--number", "12a"], True, b"is not a telephone number"),
        (["--number", "12"], True, b"is not a telephone number"),
        (["--number", SYSTEM_NUMBER], True, b"is the IPICS system number"),
        (["--number", NUMBER], True, b"no lab is running"),
        (["--number", NUMBER], False, b"no display"),
    ],
    ids=["letters", "too short", "system number", "no lab", "no display"],
)
async def test_the_telephone_command_says_what_is_wrong(tmp_path, args, display, says):
    proc = await run_telephone("--lab-dir", str(tmp_path), *args, display=display)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and says in err, err
