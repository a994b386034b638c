"""``ipics-lab up``: the contract line, demo data, one lab per data directory, clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient

from ..commands import run_ipics_lab, start_lab

# ipics-lab up in its own process
pytestmark = pytest.mark.pair


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of the lab still "exists" until reaped; the lab reaps on stop
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_up_prints_the_contract_line_and_stops_both_servers_on_sigterm(tmp_path):
    lab = await start_lab(tmp_path)
    try:
        line = await asyncio.wait_for(lab.stdout.readline(), 60)
        info = json.loads(line)
        assert set(info) >= {"primary", "secondary", "admin", "time_scale"}
        assert info["admin"]["username"] == "ipicsadmin" and info["time_scale"] == 0.01
        for name, role in (("primary", "active"), ("secondary", "standby")):
            async with ApiClient(info[name]["url"]) as c:
                st = (await c.get("/api/v1/ha/status")).body
            assert (st["server"], st["role"], st["ha"], st["standby_server_status"]) == (
                name,
                role,
                "configured",
                "Ready",
            )

        # The demo data is there: Dan logs in and has the Fire channel.
        async with ApiClient(info["primary"]["url"]) as c:
            login = await c.post("/api/v1/auth/login", {"username": "dan", "password": info["users"]["password"]})
            c.token = login["token"]
            names = {ch["name"] for ch in (await c.get("/api/v1/channels")).body["channels"]}
            assert {"Fire", "Police"} <= names
            assert (await c.get("/api/v1/vtgs")).body["vtgs"] and (await c.get("/api/v1/incidents")).body["incidents"]

        # The media router runs beside them, named in lab.json for the desktop windows,
        # and the servers use it: the phone service's talk screen offers push-to-talk.
        lab_json = json.loads((tmp_path / "lab.json").read_text())
        assert lab_json["media"] == info["media"]["url"] and _alive(info["media"]["pid"])
        async with ApiClient(info["media"]["url"].replace("ws://", "http://").rsplit("/", 1)[0]) as c:
            assert (await c.get("/media/stats")).ok
        assert info["demo"]["dial_ids"]["dan"] == "1001" and info["demo"]["pin"].isdigit()

        # A second lab on the same data directory is refused and the first is untouched.
        second = await start_lab(tmp_path)
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 2 and b"another lab is running" in err
        async with ApiClient(info["primary"]["url"]) as c:
            assert (await c.get("/api/v1/health/active")).status == 200

        # Method 3 from a terminal: shutdown -h now halts the secondary; the documented
        # ipics-lab power on powers it up again, and it rejoins the pair as standby.
        env = {**os.environ, "IPICS_SHELL_PASSWORD": info["admin"]["password"]}
        halt = await run_ipics_lab("shell", "secondary", "-c", "shutdown -h now", "--lab-dir", str(tmp_path), env=env)
        assert halt.returncode == 0, halt.stderr
        await wait_until(lambda: _gone(info["secondary"]["pid"]), 20, "the secondary to halt")
        power = await run_ipics_lab("power", "on", "secondary", "--lab-dir", str(tmp_path))
        assert power.returncode == 0 and "secondary powered on" in power.stdout, power.stderr
        again = await run_ipics_lab("power", "on", "secondary", "--lab-dir", str(tmp_path))
        assert again.returncode == 1 and "already powered on" in again.stderr
        async with ApiClient(info["secondary"]["url"]) as c:

            async def standby():
                return (await c.get("/api/v1/ha/status")).body["role"] == "standby"

            await wait_until(standby, 30, "the secondary to rejoin as standby")
        pids = {
            name: entry["pid"] for name, entry in json.loads((tmp_path / "lab.json").read_text())["servers"].items()
        }
        assert pids["secondary"] != info["secondary"]["pid"] and _alive(pids["secondary"])
        nobody = await run_ipics_lab("power", "off", "primary", "--lab-dir", str(tmp_path / "elsewhere"))
        assert nobody.returncode == 2 and "no lab is running" in nobody.stderr

        lab.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(lab.wait(), 30) == 0
        for name, pid in (*pids.items(), ("media", info["media"]["pid"])):
            await wait_until(lambda pid=pid: _gone(pid), 10, f"{name} to stop")
        assert not (tmp_path / "control.sock").exists()
    finally:
        if lab.returncode is None:
            lab.kill()
            await lab.wait()


async def _gone(pid: int) -> bool:
    return not _alive(pid)


async def test_up_with_modes_starts_the_witness_and_names_the_modes_everywhere(tmp_path):
    lab = await start_lab(tmp_path, "--modes", "witness+synchronous-strict")
    try:
        info = json.loads(await asyncio.wait_for(lab.stdout.readline(), 60))
        assert info["modes"] == {"name": "witness+synchronous-strict", "label": "synchronous (strict) + witness"}
        witness = info["witness"]
        assert _alive(witness["pid"])
        async with ApiClient(witness["url"]) as c:
            ballot = (await c.get("/witness/status")).body
        assert ballot["holder"] == "primary", ballot  # the active holds the witness's vote
        for name in ("primary", "secondary"):
            async with ApiClient(info[name]["url"]) as c:
                st = (await c.get("/api/v1/ha/status")).body
            assert st["modes"]["label"] == "synchronous (strict) + witness"
            assert st["modes"]["witness"] == witness["url"]
        lab_json = json.loads((tmp_path / "lab.json").read_text())
        assert (lab_json["modes"], lab_json["witness"]) == (info["modes"], witness)

        lab.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(lab.wait(), 30) == 0
        await wait_until(lambda: _gone(witness["pid"]), 10, "the witness to stop with the lab")
    finally:
        if lab.returncode is None:
            lab.kill()
            await lab.wait()


async def test_up_refuses_an_unknown_mode_with_the_modes_it_knows(tmp_path):
    refused = await run_ipics_lab("up", "--headless", "--data-dir", str(tmp_path), "--modes", "witness+quorum")
    assert refused.returncode == 2
    assert "unknown mode 'quorum'" in refused.stderr and "synchronous-strict" in refused.stderr
    assert not (tmp_path / "lab.json").exists()
