"""The mobile client's window against a real pair: log in, the user's incidents, an
incident with its photo, upload, the switch to the new active with no user action,
the missing-upload banner with Upload again, bad input, and ``run`` as a process."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MAX_UPLOAD_BYTES, MobileClient
from ipics_clients.session import ConsoleSession, State
from ipics_desktop.mobile.window import PHONE, MobileWindow
from ipics_desktop.testing import type_login
from ipics_lab.labfile import write_lab_file
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.seed import demo_photo_png
from ipics_lab.supervisor import LabPair, wait_until

from ..mobile.test_mobile_core import NEVER_S, WAREHOUSE, seeded
from ..pair.conftest import INTERVAL_S, MISSED, TAKEOVER_DEADLINE_S, TIME_SCALE
from ..recording_clock import RecordingClock
from .test_accessibility import DOCS, controls
from .test_console_command import console_env


@pytest.fixture
@starts_processes
async def slow_files(tmp_path):
    """The demo pair, its standby fetching uploaded files' content only after NEVER_S."""
    slow = LabPair(tmp_path / "slow-files", time_scale=TIME_SCALE, secondary_args=["--file-replication-delay", NEVER_S])
    try:
        await slow.up(INTERVAL_S, MISSED)
        yield await seeded(slow)
    finally:
        slow.stop()


@pytest.fixture
async def open_mobile(tmp_path, qtbot):
    """``open_mobile(profile, servers)``: a mobile window with its own profile folder."""
    opened: list[MobileWindow] = []

    def make(profile: str = "fred", servers: list[str] = ()) -> MobileWindow:
        folder = tmp_path / "mobile" / profile
        known = KnownServers.load(folder / "servers.json")
        for url in servers:
            known.add(url)
        window = MobileWindow(MobileClient(ConsoleSession(known, clock=RecordingClock(TIME_SCALE)), folder))
        # Not qtbot.addWidget: qtbot closes its widgets outside the loop; this fixture
        # closes the window (and logs out) while the loop runs.
        window.refresh_selector()
        window.show()
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.close()  # logs the client out, while the loop still runs
        await window.close_task


async def log_in(
    window: MobileWindow, qtbot, address: str, user: str, password: str, *, expect_online: bool = True
) -> None:
    type_login(window, qtbot, address, user, password)
    if expect_online:
        await wait_until(
            lambda: window.pages.currentWidget() is window.incidents_page, TAKEOVER_DEADLINE_S, "the incidents page"
        )
    else:
        await wait_until(lambda: window.login_task.done(), TAKEOVER_DEADLINE_S, "the login to finish")


def open_incident(window: MobileWindow, qtbot, name: str) -> None:
    items = [window.incident_list.item(i) for i in range(window.incident_list.count())]
    item = next((i for i in items if i.text().split("\n")[0] == name), None)
    assert item is not None, [i.text() for i in items]
    rect = window.incident_list.visualItemRect(item)
    qtbot.mouseClick(window.incident_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.pages.currentWidget() is window.incident_page


def file_items(window: MobileWindow) -> dict[str, object]:
    items = [window.file_list.item(i) for i in range(window.file_list.count())]
    return {i.text().split("\n")[0]: i for i in items}


def incident_names(window: MobileWindow) -> list[str]:
    return [window.incident_list.item(i).text().split("\n")[0] for i in range(window.incident_list.count())]


async def test_log_in_see_my_incidents_and_an_incident_with_its_photo(demo, open_mobile, qtbot):
    pair = demo.pair
    async with await pair.admin(pair.primary) as admin:
        await admin.post("/api/v1/incidents", {"name": "Flooded underpass", "participants": ["amy"]})
    window = open_mobile("fred", [pair.primary.url, pair.secondary.url])
    await log_in(window, qtbot, pair.primary.url, "fred", demo.password)
    assert incident_names(window) == [WAREHOUSE]  # Fred's only
    assert window.status.text() == f"Online  ·  {pair.primary.url} (primary, active)"
    assert window.user_label.text() == "Fred (field responder)"

    open_incident(window, qtbot, WAREHOUSE)
    assert window.incident_title.text() == WAREHOUSE
    assert "Participants: dan, ursula, fred" in window.incident_detail.text()
    photo = file_items(window)["scene.png"]
    assert "photo" in photo.text() and "from ipicsadmin" in photo.text()
    await wait_until(lambda: not photo.icon().isNull(), 10, "the photo's thumbnail")
    qtbot.mouseClick(window.back_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.incidents_page


async def test_upload_a_photo_and_see_it_with_its_thumbnail(demo, open_mobile, qtbot, tmp_path):
    window = open_mobile("fred", [demo.pair.primary.url])
    await log_in(window, qtbot, demo.pair.primary.url, "fred", demo.password)
    open_incident(window, qtbot, WAREHOUSE)
    path = tmp_path / "hydrant.png"
    path.write_bytes(demo_photo_png(64, 48))
    await window.upload_path(path, "photo")  # what the file dialog does with the chosen file
    assert window.upload_message.text() == "hydrant.png uploaded."
    item = file_items(window)["hydrant.png"]
    assert "from you" in item.text()
    await wait_until(lambda: not file_items(window)["hydrant.png"].icon().isNull(), 10, "the thumbnail")
    assert window.upload_photo_button.isEnabled()


async def test_bad_input_says_what_is_wrong_and_the_client_keeps_working(demo, open_mobile, qtbot):
    pair = demo.pair
    window = open_mobile("fred", [pair.primary.url])
    await log_in(window, qtbot, pair.primary.url, "fred", "not-" + demo.password, expect_online=False)
    assert window.login_message.text() == "Login failed: wrong user name or password."
    assert window.pages.currentWidget() is window.login_page and window.login_button.isEnabled()
    await log_in(window, qtbot, pair.primary.url, "fred", demo.password)
    open_incident(window, qtbot, WAREHOUSE)

    await window.upload_bytes("big.jpg", b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES), "photo")
    assert window.upload_message.text() == (
        "Not uploaded: big.jpg is 20.0 MB: the largest photo or video the client sends is 20.0 MB."
    )
    await window.upload_bytes("report.pdf", b"%PDF-1.7", "photo")
    assert window.upload_message.text().startswith(
        "Not uploaded: report.pdf is not a photo or video this client can send: it sends photos (JPEG, PNG)"
    )
    await window.upload_bytes("clip.mp4", b"\0\0\0\x18ftypmp42" + bytes(512), "photo")
    assert window.upload_message.text() == "Not uploaded: clip.mp4 is a video, not a photo: use Upload video."
    assert window.upload_photo_button.isEnabled() and window.upload_video_button.isEnabled()

    await window.upload_bytes("clip.mp4", b"\0\0\0\x18ftypmp42" + bytes(512), "video")
    assert window.upload_message.text() == "clip.mp4 uploaded."
    assert "video" in file_items(window)["clip.mp4"].text()


async def test_the_phone_switches_to_the_new_active_by_itself(demo, open_mobile, qtbot):
    pair = demo.pair
    window = open_mobile("fred", [pair.primary.url, pair.secondary.url])
    await log_in(window, qtbot, pair.primary.url, "fred", demo.password)
    open_incident(window, qtbot, WAREHOUSE)

    pair.primary.kill()  # kill -9 of the active
    await wait_until(lambda: window.session.state == State.OFFLINE, 10, "the phone offline")
    assert window.banner.isVisible() and window.banner.text().startswith(f"Offline: {pair.primary.url} does not answer")
    assert (
        window.status.text().startswith("Offline - reconnecting  ·  ") and "last known active" in window.status.text()
    )
    assert "scene.png" in file_items(window)  # the last listing stays on screen

    await wait_until(lambda: window.session.state == State.ONLINE, TAKEOVER_DEADLINE_S + 5, "the switch")
    assert window.banner.text() == f"Reconnected to the new active server {pair.secondary.url}."
    assert window.status.text() == f"Online  ·  {pair.secondary.url} (secondary, active)"
    assert window.pages.currentWidget() is window.incident_page and "scene.png" in file_items(window)
    assert not window.missing_panel.isVisible()


async def test_an_upload_missing_after_the_switch_is_listed_and_uploaded_again(slow_files, open_mobile, qtbot):
    pair = slow_files.pair
    window = open_mobile("fred", [pair.primary.url, pair.secondary.url])
    await log_in(window, qtbot, pair.primary.url, "fred", slow_files.password)
    open_incident(window, qtbot, WAREHOUSE)
    await window.upload_bytes("just-before.png", demo_photo_png(80, 60), "photo")
    await pair.wait_replicated(what="the upload's record on the standby")  # its content: not

    pair.primary.kill()
    await wait_until(lambda: window.missing_panel.isVisible(), TAKEOVER_DEADLINE_S + 5, "the missing uploads")
    assert window.missing_text.text().startswith("1 upload missing on this server.")
    again = window.findChild(QPushButton, "mobileUploadAgain:just-before.png")
    assert again is not None and again.isEnabled() and again.accessibleName() == "Upload just-before.png again"
    item = file_items(window)["just-before.png"]
    assert "MISSING on this server" in item.text() and "Upload again (above)" in item.text()
    # The seeded photo never replicated either (not Fred's): someone else must send it.
    assert "ask ipicsadmin to upload it again" in file_items(window)["scene.png"].text()
    # A thumbnail all the same, from the copy the phone kept.
    await wait_until(lambda: not file_items(window)["just-before.png"].icon().isNull(), 10, "the thumbnail")

    qtbot.mouseClick(again, Qt.MouseButton.LeftButton)
    await wait_until(lambda: not window.missing_panel.isVisible(), 10, "the upload again")
    assert window.banner.text() == f"just-before.png uploaded again to {pair.secondary.url}."
    item = file_items(window)["just-before.png"]
    assert "MISSING" not in item.text() and "from you" in item.text()


async def test_every_control_is_named_documented_and_the_window_fits_a_phone(demo, open_mobile, qtbot):
    window = open_mobile("fred", [demo.pair.primary.url])
    checked = set()

    def check() -> None:
        for widget in controls(window):
            name = widget.objectName()
            assert name, f"a {type(widget).__name__} without objectName"
            assert widget.accessibleName(), f"{name} has no accessible name"
            pattern = name.split(":")[0] + ":<name>" if ":" in name else name
            assert f"`{pattern}`" in DOCS, f"{pattern} is not in docs/widgets.md"
            checked.add(pattern)

    check()
    await log_in(window, qtbot, demo.pair.primary.url, "fred", demo.password)
    open_incident(window, qtbot, WAREHOUSE)
    check()
    assert len(checked) >= 10
    hint = window.minimumSizeHint()
    assert hint.width() <= PHONE.width() and hint.height() <= PHONE.height(), hint
    assert window.size() == PHONE


def mobile_command(*args: str) -> list[str]:
    """``run`` as the lead's ``ipics-lab mobile`` subcommand will call it."""
    code = (
        "import argparse, sys\n"
        "from ipics_desktop.mobile.app import add_arguments, run\n"
        "p = argparse.ArgumentParser(prog='ipics-lab mobile')\n"
        "add_arguments(p)\n"
        "sys.exit(run(p.parse_args(sys.argv[1:])))\n"
    )
    return [sys.executable, "-c", code, *args]


async def test_the_mobile_command_opens_the_login_page_with_the_labs_servers(demo, tmp_path):
    pair = demo.pair
    lab_dir = tmp_path / "lab-dir"
    lab_dir.mkdir()
    write_lab_file(lab_dir, pair.servers, time_scale=TIME_SCALE)
    profile = tmp_path / "profile"
    proc = await asyncio.create_subprocess_exec(
        *mobile_command("--lab-dir", str(lab_dir), "--profile-dir", str(profile), "--report-shown"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=console_env(QT_QPA_PLATFORM="offscreen"),
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
        assert json.loads(line)["mobile_login_shown_s"] > 0
        known = KnownServers.load(profile / "servers.json")
        assert set(known.addresses()) == {pair.primary.url, pair.secondary.url}
    finally:
        proc.kill()
        await proc.wait()


@pytest.mark.pair
async def test_the_mobile_command_refuses_bad_arguments_and_a_missing_display(tmp_path):
    for args, env, expected in (
        (["--server", "not a url"], {"QT_QPA_PLATFORM": "offscreen"}, b"is not a server address"),
        (["--time-scale", "0"], {"QT_QPA_PLATFORM": "offscreen"}, b"time scale must be greater than 0"),
        ([], {}, b"xvfb-run -a ipics-lab mobile"),
    ):
        proc = await asyncio.create_subprocess_exec(
            *mobile_command("--profile-dir", str(tmp_path), *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            env=console_env(**env),
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 2 and expected in err, err
