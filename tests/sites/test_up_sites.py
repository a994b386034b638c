"""``ipics-lab up --topology sites``: the contract line with the sites' addresses, the
lab reached across the bridge, every namespace gone after Ctrl-C; without root, why not."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ipics_lab.sites import why_not_here
from ipics_server.adapters.httpclient import ApiClient, trust_ca_file

from ..commands import finish, run_ipics_lab, start_lab

pytestmark = [pytest.mark.pair, pytest.mark.xdist_group("sites")]


def namespaces_of(network: str) -> list[str]:
    number = network.split(".")[2]
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"ipicslab{number}-")]


@pytest.mark.skipif(why_not_here() is not None, reason=why_not_here() or "")
async def test_up_in_the_sites_topology_and_ctrl_c_removes_every_namespace(tmp_path):
    lab = await start_lab(tmp_path, "--topology", "sites")
    try:
        assert lab.stdout is not None
        line = await asyncio.wait_for(lab.stdout.readline(), 90)
        assert line, (await finish(lab)).stderr
        info = json.loads(line)
        sites = info["sites"]
        trust_ca_file(Path(info["ca_file"]))  # off loopback the servers serve HTTPS, with the lab CA's certificates
        assert info["topology"] == "sites" and sites["network"].startswith("198.18.")
        for name in ("primary", "secondary"):
            assert info[name]["url"] == f"https://{sites[name]['address']}:443"
            async with ApiClient(info[name]["url"]) as c:
                st = (await c.get("/api/v1/ha/status")).body
            assert st["address"] == info[name]["url"] and "127.0.0." not in json.dumps(st)
        assert info["media"]["url"].startswith(f"ws://{sites['media']['address']}:")
        assert len(namespaces_of(sites["network"])) == 5  # the servers, media, witness, clients
        lab.send_signal(signal.SIGINT)
        done = await finish(lab, 60)
        assert done.returncode == 0, done.stderr
        assert namespaces_of(sites["network"]) == []
    finally:
        if lab.returncode is None:
            lab.kill()
            await lab.wait()


def nobody_can_run_python() -> bool:
    """Whether user nobody can run this checkout's interpreter (a checkout under /root cannot)."""
    probe = ["setpriv", "--reuid=nobody", "--regid=65534", "--clear-groups", sys.executable, "-c", "import ipics_lab"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
async def test_up_in_the_sites_topology_without_root_says_why_and_what_to_run(tmp_path):
    if not nobody_can_run_python():
        pytest.skip("user nobody cannot read this checkout's interpreter")
    tmp_path.chmod(0o777)
    env = {**os.environ, "HOME": str(tmp_path)}
    done = await run_ipics_lab(
        "up", "--topology", "sites", "--data-dir", str(tmp_path / "lab"), env=env, as_user="nobody"
    )
    assert done.returncode == 2
    assert "needs root" in done.stderr and "sudo ipics-lab up --topology sites" in done.stderr
    assert not (tmp_path / "lab").exists()  # refused before anything was made
