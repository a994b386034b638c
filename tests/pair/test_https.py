"""A pair serving HTTPS, as every server off loopback does: trust, configuration and
Ready over HTTPS, an IDC's login and its pushes over wss, the phone service, the
Administration Console in Chromium with a Secure cookie, the redirecting HTTP port; a
client that does not trust the lab's CA is refused with a sentence saying what to do.
(``LabPair(tls=True)`` on loopback: TLS is on whenever a server has a certificate.)"""

from __future__ import annotations

import shutil
import ssl
import stat
from types import SimpleNamespace

import aiohttp
import pytest

from ipics_clients.known_servers import KnownServers
from ipics_clients.phone_xml import Menu
from ipics_clients.session import ConsoleSession, State
from ipics_lab.browser import CHROMIUM, chromium_args
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.seed import seed_demo_data
from ipics_lab.supervisor import PRIMARY_HOST, LabPair, free_port_on, wait_until
from ipics_server.adapters.httpclient import ApiClient, Unreachable

from ..commands import run_ipics_lab
from ..phone.conftest import PRIMARY, ipics_phone, log_in, menu_names
from ..recording_clock import RecordingClock
from ..telephone.test_dial_in import heard, telephone
from .conftest import DEMO_PIN, INTERVAL_S, MISSED, TAKEOVER_DEADLINE_S, TIME_SCALE, USER_PASSWORD, create_channel

pytestmark = pytest.mark.pair


@pytest.fixture
@starts_processes
async def https_pair(tmp_path):
    """A configured pair with the demo data, both servers on HTTPS with the lab CA's
    certificates; the primary also redirects plain HTTP from a port of its own."""
    redirect_port = free_port_on(PRIMARY_HOST)
    ha = LabPair(tmp_path, time_scale=TIME_SCALE, tls=True, primary_args=["--http-redirect-port", str(redirect_port)])
    try:
        await ha.up(interval_s=INTERVAL_S, missed_count=MISSED)
        async with await ha.admin(ha.primary) as admin:
            await seed_demo_data(admin, USER_PASSWORD, DEMO_PIN)
        await ha.wait_ready()
        yield SimpleNamespace(pair=ha, redirect_port=redirect_port)
    finally:
        ha.stop()


async def test_a_pair_on_https_serves_every_client_and_refuses_plain_http(https_pair, tmp_path):
    ha = https_pair.pair
    primary, secondary = ha.primary, ha.secondary
    assert primary.url.startswith("https://") and secondary.url.startswith("https://")
    # Trust was established with the partner's https address, the pair is configured and Ready.
    status = await ha.status(primary)
    assert (status["ha"], status["standby_server_status"], status["partner"]) == ("configured", "Ready", secondary.url)
    assert (await ha.status(secondary))["partner"] == primary.url

    # Plain HTTP to the HTTPS port gets no answer; the redirect port sends it to HTTPS.
    with pytest.raises(Unreachable):
        async with ApiClient(primary.url.replace("https://", "http://"), timeout_s=5) as plain:
            await plain.get("/api/v1/ha/status")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"http://{primary.host}:{https_pair.redirect_port}/admin/login?notice=x", allow_redirects=False
        ) as answer,
    ):
        assert answer.status == 308
        assert answer.headers["Location"] == f"{primary.url}/admin/login?notice=x"

    # A client that does not trust the lab's CA is refused, and told what to give it.
    async with ApiClient(primary.url, ssl_context=ssl.create_default_context(), timeout_s=5) as stranger:
        with pytest.raises(Unreachable) as refused:
            await stranger.get("/api/v1/ha/status")
    assert refused.value.untrusted_certificate
    assert "the server's certificate is not trusted" in str(refused.value) and "--ca-file" in str(refused.value)

    # The IDC: login on the standby is redirected to the active, and pushes arrive over wss.
    console = ConsoleSession(KnownServers.load(tmp_path / "idc" / "servers.json"), clock=RecordingClock(TIME_SCALE))
    try:
        await console.login(secondary.url, "ipicsadmin", ha.admin_password)
        assert console.state == State.ONLINE and console.server == primary.url
        async with await ha.admin(primary) as admin:
            await create_channel(admin, "Over TLS")
        await wait_until(
            lambda: "Over TLS" in console.config.channel_names(), 10, "the channel pushed to the IDC over wss"
        )
    finally:
        await console.close()

    # A telephone's call into IPICS: the trunk's standby refuses, the active answers over wss.
    async with telephone([secondary.url, primary.url]) as caller:
        assert await caller.dial()
        assert caller.server == primary.url
        await heard(caller, "Enter your user ID")

    # The Administration Console in Chromium, which trusts only the lab CA's key: the
    # standby sends the login to the active's https address; the session cookie is Secure.
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (packaging/bootstrap.sh does)", pytrace=False)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        trusting = await pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(trusting=[ha.ca_file]))
        try:
            page = await trusting.new_page()
            await page.goto(f"{secondary.url}/admin/login")
            assert page.url == f"{primary.url}/admin/login?notice=redirected"
            await page.fill("#username", "ipicsadmin")
            await page.fill("#password", ha.admin_password)
            async with page.expect_navigation():
                await page.click("#login")
            assert await page.locator("#server-status").inner_text()
            cookies = {c["name"]: c for c in await page.context.cookies()}
            session = cookies[f"ipics_admin_session_{primary.port}"]
            assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
        finally:
            await trusting.close()

    # The phone service: its pages and the URLs in them over https; after a failover the
    # new active pushes the phone its own https address, which the phone opens.
    async with ipics_phone(ha) as phone:
        await log_in(phone.browser, PRIMARY, "1001", DEMO_PIN)
        assert menu_names(phone.browser)  # Dan's channels and VTGs
        assert all(item.url.startswith(primary.url) for item in phone.browser.screen.obj.items)
        await ha.wait_ready()  # the phone session has reached the standby
        primary.kill()
        await wait_until(lambda: phone.receiver.received, TAKEOVER_DEADLINE_S, "the new active's push")
        assert phone.receiver.received[0].startswith(secondary.url + "/phone/ipics/resume?ticket=")
        await wait_until(
            lambda: phone.browser.screen.url.startswith(secondary.url) and isinstance(phone.browser.screen.obj, Menu),
            10,
            "the menu from the new active over https",
        )


async def test_a_server_off_loopback_without_a_certificate_or_with_an_open_key_refuses_to_start(tmp_path):
    # Refused before binding: no address of 198.18.0.0/15 is needed on this machine.
    off_loopback = await run_ipics_lab("server", "--data-dir", str(tmp_path / "a"), "--host", "198.18.0.11")
    assert off_loopback.returncode != 0
    assert "--host 198.18.0.11 is not a loopback address" in off_loopback.stderr
    assert "give --tls-cert FILE and --tls-key FILE" in off_loopback.stderr

    ca_dir = tmp_path / "ca"
    assert (await run_ipics_lab("ca", "init", str(ca_dir))).returncode == 0
    issued = await run_ipics_lab("ca", "issue", str(ca_dir), "--ip", "198.18.0.11", "--name", "primary")
    assert issued.returncode == 0, issued.stderr
    key = ca_dir / "primary.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in issued.stdout  # paths only, never a key
    key.chmod(0o644)
    open_key = await run_ipics_lab(
        "server",
        "--data-dir",
        str(tmp_path / "b"),
        "--host",
        "198.18.0.11",
        "--tls-cert",
        str(ca_dir / "primary.pem"),
        "--tls-key",
        str(key),
    )
    assert open_key.returncode != 0
    assert f"the TLS key {key} may be read by others: chmod 600 it" in open_key.stderr
