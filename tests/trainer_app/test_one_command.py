"""``ipics-lab`` with no arguments: the whole lab in one command, stopped cleanly.

Run as a user would, in its own process (offscreen Qt here, as there is no display):
it starts the media router and both servers, opens the trainer panel, an IDC and a
phone, prints where everything is, and on SIGTERM stops every process it started.
Closing the panel itself is tested in-process (test_close_panel.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest

from ipics_server.adapters.httpclient import ApiClient, Unreachable

from ..lab.test_up import _alive

# ipics-lab in its own process
pytestmark = pytest.mark.pair


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return {
        **env,
        "XDG_DATA_HOME": str(tmp_path / "share"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "QT_API": "pyside6",
        **extra,
    }


async def _lab(tmp_path, *args, **env):
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ipics_desktop",
        *args,
        env=_env(tmp_path, **env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_no_arguments_start_the_lab_per_user_and_sigterm_stops_everything(tmp_path):
    lab = await _lab(tmp_path, "--time-scale", "0.01", QT_QPA_PLATFORM="offscreen")
    root = tmp_path / "share" / "ipics-ha-lab" / "lab"  # the per-user default
    try:
        banner = "\n".join(await _lines_until(lab, lambda seen: seen and "Close the trainer panel" in seen[-1], 90))
        assert banner.startswith("IPICS HA Lab trainer is up"), banner
        info = json.loads((root / "lab.json").read_text())
        pids = [s["pid"] for s in info["servers"].values()]
        assert all(_alive(pid) for pid in pids)
        for name, role in (("primary", "active"), ("secondary", "standby")):
            assert info["servers"][name]["host"].startswith("127.")  # loopback only
            async with ApiClient(info["servers"][name]["url"]) as c:
                st = (await c.get("/api/v1/ha/status")).body
            assert (st["role"], st["standby_server_status"]) == (role, "Ready")
            assert info["servers"][name]["url"] in banner
        # The run log follows the timeline: the IDC and the phone it opened are Dan's, online.
        console = "dan (console): online on primary"
        phone = "dan (phone 1001): logged in on primary (Dial Login 1001)"
        await _lines_until(lab, lambda seen: {console, phone} <= {t.split("client", 1)[-1].strip() for t in seen})
        media = info["media"].replace("ws://", "http://").rsplit("/", 1)[0]
        async with ApiClient(media) as c:
            assert (await c.get("/media/stats")).ok
    finally:
        if lab.returncode is None:
            lab.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(lab.wait(), 30)
    assert code == 0, await _stderr(lab)
    assert not any(_alive(pid) for pid in pids)
    async with ApiClient(media, timeout_s=2) as c:  # the router is gone too
        with pytest.raises(Unreachable):
            await c.get("/media/stats")
    assert not (root / "lab.json").exists()


async def test_without_a_display_it_says_how_to_run_headless(tmp_path):
    lab = await _lab(tmp_path)
    out, err = await asyncio.wait_for(lab.communicate(), 30)
    assert lab.returncode == 2 and not out
    text = err.decode()
    assert "no display" in text and "ipics-lab up --headless" in text and "xvfb-run -a ipics-lab" in text
    assert "ipics-lab scenario run" in text
    assert not (tmp_path / "share" / "ipics-ha-lab" / "lab" / "lab.json").exists()


async def test_a_second_lab_in_the_same_folder_is_refused(tmp_path):
    root = tmp_path / "share" / "ipics-ha-lab" / "lab"
    root.mkdir(parents=True)
    import fcntl

    with open(root / "lab.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lab = await _lab(tmp_path, QT_QPA_PLATFORM="offscreen")
        _, err = await asyncio.wait_for(lab.communicate(), 30)
    assert lab.returncode == 2 and "another lab is running" in err.decode()


async def _lines_until(lab, done, timeout_s: float = 60) -> list[str]:
    seen: list[str] = []
    async with asyncio.timeout(timeout_s):
        while not done(seen):
            line = await lab.stdout.readline()
            if not line:
                raise AssertionError(f"the lab stopped: {seen} {await _stderr(lab)}")
            seen.append(line.decode().strip())
    return seen


async def _stderr(lab) -> str:
    try:
        return (await asyncio.wait_for(lab.stderr.read(), 5)).decode()[-3000:]
    except TimeoutError:
        return "(no stderr)"
