"""docs/deploy.md end to end, in the sites topology: the primary's and the secondary's
sites are hosts A and B, the clients' site the third machine.

The steps are the page's: a CA and a certificate per server (``ipics-lab ca``), the
servers started with the page's command lines (plus a time scale and a shared clock
epoch, so the chapter's durations pass quickly), trust by the secondary's bare IP address
and Configure in the Administration Console in a real Chromium that trusts the CA (and
reaches it through the plain-HTTP redirect), the check from the third machine with
``curl --cacert``, then the chapter's failover seen from there.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipics_lab.browser import CHROMIUM, chromium_args
from ipics_lab.package_data import sample_licenses_dir
from ipics_lab.pytest_plugin import takeover_deadline_s
from ipics_lab.sites import Sites
from ipics_lab.supervisor import wait_until
from ipics_server.adapters.httpclient import ApiClient, Unreachable, trust_ca_file

from ..commands import run_ipics_lab
from . import SITES

pytestmark = SITES

TIME_SCALE = 0.02
INTERVAL_S, MISSED = 5, 5
PASSWORD = "deploy-guide-Pw1"
SHOWN_MS = 15_000


@pytest.fixture
def sites():
    made = Sites.create_sync()
    try:
        yield made
    finally:
        made.remove()  # kills what still runs in the namespaces


async def ca_command(*args: str) -> None:
    done = await run_ipics_lab("ca", *args)
    assert done.returncode == 0, done.stderr


def curl_status(site, ca: Path, address: str) -> dict:
    """The third machine's check: ``curl --cacert ca.pem https://ADDRESS/api/v1/ha/status``."""
    out = subprocess.run(
        [
            *site.exec_prefix(),
            "curl",
            "-sS",
            "--max-time",
            "5",
            "--cacert",
            str(ca),
            f"https://{address}/api/v1/ha/status",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


async def test_the_deploy_guide_on_two_sites(tmp_path, sites):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: packaging/bootstrap.sh installs it", pytrace=False)
    a, b = sites["primary"].address, sites["secondary"].address
    # 2. Certificates.
    ca_dir = tmp_path / "ipics-ca"
    await ca_command("init", str(ca_dir))
    await ca_command("issue", str(ca_dir), "--ip", a, "--name", "primary")
    await ca_command("issue", str(ca_dir), "--ip", b, "--name", "secondary")
    ca = ca_dir / "ca.pem"
    licenses = sample_licenses_dir()

    # 6. Start the servers, each on its host.
    epoch = repr(time.time())
    servers: dict[str, asyncio.subprocess.Process] = {}
    for name, site, lics in (
        ("primary", sites["primary"], ("base", "policy")),
        ("secondary", sites["secondary"], ("ha",)),
    ):
        args = [
            *("--name", name, "--data-dir", str(tmp_path / name)),
            *("--host", site.address, "--port", "443", "--http-redirect-port", "80", "--ssh-port", "22"),
            *("--tls-cert", str(ca_dir / f"{name}.pem"), "--tls-key", str(ca_dir / f"{name}.key")),
            *("--ca-file", str(ca), "--ntp", sites.host_address),
            *(arg for lic in lics for arg in ("--license", str(licenses / f"{lic}.lic"))),
            *("--time-scale", str(TIME_SCALE), "--clock-epoch", epoch),
        ]
        servers[name] = await asyncio.create_subprocess_exec(
            *site.exec_prefix(),
            sys.executable,
            "-m",
            "ipics_desktop",
            "server",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "IPICS_ADMIN_PASSWORD": PASSWORD},
        )
    try:
        trust_ca_file(ca)

        async def answers(address: str):
            try:
                async with ApiClient(f"https://{address}", timeout_s=2) as c:
                    return (await c.get("/api/v1/ha/status")).ok
            except Unreachable:
                return False

        for address in (a, b):
            await wait_until(lambda address=address: answers(address), 30, f"the server on {address} to answer")

        # 7. Trust and configure in the Administration Console.
        from playwright.async_api import async_playwright, expect

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=chromium_args(trusting=[ca]))
            try:
                page = await browser.new_page()
                page.set_default_timeout(SHOWN_MS)
                await page.goto(f"http://{a}/admin")  # plain HTTP: sent on to HTTPS
                assert page.url.startswith(f"https://{a}")
                await page.fill("#username", "ipicsadmin")
                await page.fill("#password", PASSWORD)
                async with page.expect_navigation():
                    await page.click("#login")
                await page.fill("#partner-address", b)  # the bare IP address, as the chapter says
                await page.fill("#partner-password", PASSWORD)
                await page.click("#save")
                await expect(page.locator("#server-status")).to_have_text("Trusted")
                async with page.expect_navigation():
                    await page.click("#tab-configuration")
                await expect(page.locator("#heartbeat-port")).to_have_value("3444")
                await page.fill("#heartbeat-interval", str(INTERVAL_S))
                await page.fill("#missed-heartbeat-count", str(MISSED))
                await page.click("#update")
                await expect(page.locator("#flash")).to_contain_text("Heartbeat settings updated")
                await page.click("#configure")
                await page.click("#confirm-ok")
                await expect(page.locator("#notice")).to_contain_text("HA is configured")
            finally:
                await browser.close()

        # 8. Check the pair from a third machine.
        third = sites["clients"]

        async def ready():
            st = curl_status(third, ca, a)
            return st["role"] == "active" and st["standby_server_status"] == "Ready"

        await wait_until(ready, takeover_deadline_s(TIME_SCALE, INTERVAL_S, MISSED), "the standby to be Ready")
        assert curl_status(third, ca, b)["role"] == "standby"
        assert curl_status(third, ca, a)["partner"] in (f"https://{b}", f"https://{b}:443")

        # The chapter's failover, seen from the third machine: host A loses power.
        servers["primary"].kill()
        await wait_until(
            lambda: curl_status(third, ca, b)["role"] == "active",
            takeover_deadline_s(TIME_SCALE, INTERVAL_S, MISSED),
            "host B to take over",
        )
    finally:
        for proc in servers.values():
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
