"""Trust, HA configuration, unconfigure, merge and clean install, against real processes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from ipics_lab.checker import read_discarded
from ipics_lab.supervisor import LabPair, ServerProcess, SetupError, wait_until
from ipics_server.adapters import certs

from .conftest import INTERVAL_S, MISSED, TIME_SCALE, channel_names, create_channel


async def _trust(pair: LabPair, password: str):
    async with await pair.admin(pair.primary) as c:
        return await c.post(
            "/api/v1/ha/trust",
            {
                "partner_address": f"{pair.secondary.host}:{pair.secondary.port}",
                "username": "ipicsadmin",
                "password": password,
            },
        )


async def test_licenses_decide_roles_before_ha(lab):
    await lab.start()
    p, s = await lab.status(lab.primary), await lab.status(lab.secondary)
    assert (p["server"], p["role"], p["ha"], p["standby_server_status"]) == ("primary", "active", "unconfigured", None)
    assert (s["server"], s["role"]) == ("secondary", "standby")


async def test_trust_wrong_password_stores_nothing_then_trusted(lab):
    await lab.start()
    reply = await _trust(lab, "not-the-password")
    assert reply.status == 401 and "nothing was stored" in reply["message"]
    for s in lab.servers:
        st = await lab.status(s)
        assert st["ha"] == "unconfigured" and st["partner"] is None

    assert (await _trust(lab, lab.admin_password)).ok
    async with await lab.admin(lab.primary) as c:
        config = (await c.get("/api/v1/ha/config")).body
    assert config["server_status"] == "Trusted" and config["standby_server_status"] == "Not Ready"
    assert (await lab.status(lab.secondary))["partner"] == lab.primary.url


async def test_delete_trust_needs_the_partners_password_and_clears_both(lab):
    await lab.start()
    await lab.establish_trust()
    async with await lab.admin(lab.primary) as c:
        wrong = await c.post("/api/v1/ha/trust/delete", {"password": "wrong"})
        assert wrong.status == 401
        assert (await lab.status(lab.secondary))["ha"] == "trusted"
        assert (await c.post("/api/v1/ha/trust/delete", {"password": lab.admin_password})).ok
    for s in lab.servers:
        st = await lab.status(s)
        assert st["ha"] == "unconfigured" and st["partner"] is None


@pytest.mark.pair
async def test_configure_refused_without_ntp(tmp_path):
    pair = LabPair(tmp_path, time_scale=TIME_SCALE, ntp=False)
    try:
        await pair.start()
        await pair.establish_trust()
        async with await pair.admin(pair.primary) as c:
            reply = await c.post("/api/v1/ha/configure")
            assert reply.status == 409
            assert "NTP is not configured on this server and the partner" in reply["message"]
            assert (await c.put("/api/v1/ha/ntp", {"servers": ["ntp-sj1.cisco.com"]})).ok
        async with await pair.admin(pair.secondary) as c:
            # the secondary's administrator sets NTP there (its console is reachable)
            assert (await c.put("/api/v1/ha/ntp", {"servers": ["ntp-sj1.cisco.com"]})).ok
        await pair.configure(INTERVAL_S, MISSED)
        await pair.wait_ready()
    finally:
        pair.stop()


@pytest.mark.pair
async def test_configure_refused_for_an_unsupported_version_pair(tmp_path):
    pair = LabPair(tmp_path, time_scale=TIME_SCALE, secondary_args=["--software-version", "4.10(1)"])
    try:
        await pair.start()
        await pair.establish_trust()
        async with await pair.admin(pair.primary) as c:
            reply = await c.post("/api/v1/ha/configure")
        assert reply.status == 409 and "not a supported HA configuration" in reply["message"]
        assert (await pair.status(pair.primary))["ha"] == "trusted"
    finally:
        pair.stop()


async def test_settings_out_of_range_are_refused_with_the_range(lab):
    await lab.start()
    await lab.establish_trust()
    async with await lab.admin(lab.primary) as c:
        for body, words in (({"interval_s": 4}, "5 to 600"), ({"missed_count": 31}, "5 to 30")):
            reply = await c.put("/api/v1/ha/settings", body)
            assert reply.status == 400 and words in reply["message"]
        assert (await c.get("/api/v1/ha/config")).body["heartbeat"] == {
            "port": lab.primary.heartbeat_port,
            "interval_s": 15,
            "missed_count": 5,
        }


async def test_configure_logs_administrators_out_and_standby_becomes_ready(lab):
    await lab.start()
    await lab.establish_trust()
    token = await lab.login(lab.primary)
    await lab.configure(INTERVAL_S, MISSED)
    async with lab.primary.client(token) as c:
        assert (await c.get("/api/v1/me")).status == 401
    await lab.wait_ready()
    assert (await lab.status(lab.secondary))["standby_server_status"] == "Ready"


async def test_a_second_configure_while_the_first_runs_is_refused(lab):
    """A double click on Configure: one configuration, the other refused in words."""
    await lab.start()
    await lab.establish_trust()
    async with await lab.admin(lab.primary) as c:
        first, second = await asyncio.gather(c.post("/api/v1/ha/configure"), c.post("/api/v1/ha/configure"))
    # Configure logs the administrator out as it starts: the second click is refused as
    # "already running" if it was taken before that, else as a session that ended (both
    # in words); which one depends on how far the first got when the second arrived.
    assert sorted((first.status, second.status)) in ([200, 401], [200, 409]), (first.body, second.body)
    done, refused = (first, second) if first.status == 200 else (second, first)
    assert refused["message"] in (
        "HA configuration is already running",
        "the session is unknown or has expired: log in again",
    )
    assert done["ha"] == "configured"
    await lab.wait_ready()


@pytest.mark.pair
async def test_configure_keeps_the_password_the_configuring_administrator_used(tmp_path):
    """Issue 14: with different ipicsadmin passwords, Configure's merge kept whichever
    account was created last (here the secondary's, started after the primary), and the
    administrator was refused at the login Step 10 asks for.  The primary's copy of the
    configuring administrator's account wins: the pair has one ipicsadmin afterwards,
    with the password used on the primary."""
    pair = LabPair(tmp_path, time_scale=TIME_SCALE)
    secondary_password = "Secondary-Own-Pass-1"
    pair.secondary.admin_password = secondary_password
    try:
        await pair.primary.start()
        await pair.secondary.start()  # its ipicsadmin is the newer record
        async with await pair.admin(pair.primary) as c:
            reply = await c.post(
                "/api/v1/ha/trust",
                {
                    "partner_address": f"{pair.secondary.host}:{pair.secondary.port}",
                    "username": "ipicsadmin",
                    "password": secondary_password,
                },
            )
            assert reply.ok, reply.body
        await pair.configure(INTERVAL_S, MISSED)
        await pair.wait_ready()
        token = await pair.login(pair.primary)  # Step 10, with the password just used
        assert token
        with pytest.raises(SetupError):
            await pair.login(pair.primary, password=secondary_password)
        # the secondary adopted that account: its shell takes the same password
        out, status = await pair.shell(pair.secondary, "whoami")
        assert status == 0, out
        # ...without logging its own copy as "never reached the partner before the failover"
        discarded = read_discarded(pair.secondary.data_dir / "ipics.sqlite3")
        assert not [d for d in discarded if d["table"] == "users"], discarded
    finally:
        pair.stop()


async def test_unconfigure_returns_both_to_standalone(pair):
    async with await pair.admin(pair.primary) as c:
        assert (await c.post("/api/v1/ha/unconfigure")).ok
    for s in pair.servers:
        await pair.wait_status(s, 5, role="transitioning")
    for s in pair.servers:
        st = await pair.wait_status(s, 10, role="standalone")
        assert st["ha"] == "trusted"


async def test_a_server_powered_off_while_reconfiguring_comes_back_standalone(pair):
    """Found by the fault campaign (seed 105): the primary, killed during the
    reconfiguration after an unconfigure, booted by its licenses as *active* with HA
    trusted, a state no recovery step expected.  Unconfigured is standalone, rebooted
    or not."""
    async with await pair.admin(pair.primary) as c:
        assert (await c.post("/api/v1/ha/unconfigure")).ok
    await pair.wait_status(pair.primary, 5, role="transitioning")
    pair.primary.kill()
    await pair.primary.power_on()
    st = await pair.status(pair.primary)
    assert (st["role"], st["ha"]) == ("standalone", "trusted"), st
    await pair.wait_status(pair.secondary, 10, role="standalone")
    await pair.configure(INTERVAL_S, MISSED)  # and the pair is configured again from there
    await pair.wait_ready()


@pytest.mark.pair
async def test_configure_merges_data_and_clean_install_does_not(tmp_path):
    """A secondary from an earlier pair brings its data into the new pair (newest wins),
    unless it was clean-installed."""
    old = LabPair(tmp_path / "old", time_scale=TIME_SCALE)
    try:
        await old.up(INTERVAL_S, MISSED)
        async with await old.admin(old.primary) as c:
            await create_channel(c, "Zulu From The Old Pair")
            await wait_until(lambda: _pending_zero(old), 10, "replication")
            assert (await c.post("/api/v1/ha/unconfigure")).ok
        await old.wait_status(old.primary, 10, role="standalone")
        await old.wait_status(old.secondary, 10, role="standalone")
        async with await old.admin(old.primary) as c:
            assert (await c.post("/api/v1/ha/trust/delete", {"password": old.admin_password})).ok
    finally:
        old.stop()

    for clean, expected in ((False, True), (True, False)):
        new = LabPair(tmp_path / f"new-{clean}", time_scale=TIME_SCALE, admin_password=old.admin_password)
        new.secondary = ServerProcess(
            "secondary",
            old.secondary.data_dir,
            old.secondary.host,
            heartbeat_port=new.primary.heartbeat_port,
            admin_password=old.admin_password,
            time_scale=TIME_SCALE,
            clock_epoch=new.clock_epoch,
            extra_args=["--clean-install"] if clean else [],
            licenses=old.secondary.licenses,
            ntp=old.secondary.ntp,
        )
        try:
            await new.start()
            async with await new.admin(new.primary) as c:
                await create_channel(c, "Bravo From The New Primary")
            await new.establish_trust()
            await new.configure(INTERVAL_S, MISSED)
            await new.wait_ready()
            async with await new.admin(new.primary) as c:
                names = await channel_names(c)
            assert "Bravo From The New Primary" in names
            assert ("Zulu From The Old Pair" in names) is expected
        finally:
            new.stop()


async def test_an_unknown_partner_certificate_breaks_the_link(pair):
    pair.secondary.stop()
    certs_dir = pair.secondary.data_dir / "certs"
    for f in certs_dir.iterdir():
        f.unlink()  # the secondary comes back with a new certificate nobody pinned
    await pair.secondary.power_on()
    st = await wait_until(lambda: _link_error(pair), 10, "the link error")
    assert "unknown certificate" in st or "does not trust" in st


async def test_an_expired_partner_certificate_breaks_the_link(pair):
    pair.secondary.stop()
    certs_dir = pair.secondary.data_dir / "certs"
    key = serialization.load_pem_private_key((certs_dir / "server.key").read_bytes(), None)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=4 * 365)
    cert, _ = certs.generate(
        "secondary", pair.secondary.host, not_before=past, not_after=past + certs.CERT_VALIDITY, key=key
    )
    (certs_dir / "server.pem").write_bytes(cert)
    await pair.secondary.power_on()
    st = await wait_until(lambda: _link_error(pair), 10, "the link error")
    assert "expired" in st


async def _link_error(pair):
    return (await pair.status(pair.primary))["peer_link"]["error"]


async def _pending_zero(pair):
    st = await pair.status(pair.primary)
    return st["replication"]["pending"] == 0 and st["standby_server_status"] == "Ready"
