"""Attaching to a pair this process did not start: bad input said in one sentence before
any window opens, and what the panel offers on each kind of lab (no process started)."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ipics_lab.trainer.attached import AttachedLab, AttachRefused
from ipics_lab.trainer.offers import Offers


def test_a_lab_file_that_is_missing_or_not_a_lab_file_is_refused_with_the_reason(tmp_path):
    with pytest.raises(AttachRefused, match=f"there is no {tmp_path / 'gone'}: give the lab's folder"):
        AttachedLab.from_lab_file(tmp_path / "gone")
    with pytest.raises(AttachRefused, match=f"no lab is running in {tmp_path}"):
        AttachedLab.from_lab_file(tmp_path)
    (tmp_path / "lab.json").write_text("{not json")
    with pytest.raises(AttachRefused, match="cannot read"):
        AttachedLab.from_lab_file(tmp_path / "lab.json")
    (tmp_path / "lab.json").write_text(json.dumps({"servers": {"primary": {"url": "http://127.0.0.1:1"}}}))
    with pytest.raises(AttachRefused, match="has no secondary server"):
        AttachedLab.from_lab_file(tmp_path)


def test_a_lab_file_names_the_sites_and_the_servers_ssh_details(tmp_path):
    sites = {"network": "198.18.7.0/24", "host": "198.18.7.1"}
    for name, octet in (("primary", 11), ("secondary", 12), ("media", 13), ("clients", 21)):
        sites[name] = {"address": f"198.18.7.{octet}", "netns": f"ipicslab7-{name}"}
    servers = {
        name: {"url": f"https://198.18.7.{octet}:443", "ssh_port": 22, "pid": 1, "data_dir": f"/lab/{name}/data"}
        for name, octet in (("primary", 11), ("secondary", 12))
    }
    (tmp_path / "lab.json").write_text(
        json.dumps({"servers": servers, "topology": "sites", "sites": sites, "time_scale": 0.5})
    )
    lab = AttachedLab.from_lab_file(tmp_path / "lab.json")
    assert lab.topology == "sites" and lab.clock.time_scale == 0.5
    assert lab.pair.primary.host == "198.18.7.11" and lab.pair.secondary.ssh_port == 22
    assert lab.pair.sites is not None and lab.pair.sites["clients"].netns == "ipicslab7-clients"
    lab.pair.sites.remove()  # never this process's to remove: nothing happens
    offers = lab.offers
    for fault, server in (("power_off", "primary"), ("power_on", "secondary")):
        assert offers.why_not(fault, server) == f"this lab did not start the {server}: it cannot power it off or on"
    assert offers.why_not("repair") is None  # the lab file gives the SSH port and the host key
    assert offers.why_not("crash_tomcat", "primary") is None  # through the server's lab API
    # The kernel's faults: this process must enter the lab's namespaces, which do not exist here.
    assert offers.why_not("packet_loss") == offers.why_not("cut_link", "primary") is not None


@pytest.mark.parametrize(
    ("addresses", "said"),
    [
        (["127.0.0.1:8000"], "attach to two servers"),
        (["127.0.0.1:8000", "http://127.0.0.1:8000"], "both addresses are http://127.0.0.1:8000"),
        (["127.0.0.1:8000", "ftp://x"], "is not a server address"),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(addresses, said):
    with pytest.raises(AttachRefused, match=said):
        AttachedLab.from_addresses(addresses)


async def test_an_address_that_answers_but_is_not_an_ipics_server_is_refused():
    async def not_ipics(_request):
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/api/v1/ha/status", not_ipics)
    async with TestServer(app, host="127.0.0.1") as other:
        lab = AttachedLab.from_addresses([str(other.make_url("")), "127.0.0.1:9"])
        with pytest.raises(AttachRefused, match="answers but is not an IPICS server"):
            await lab.attach("any password")
    unreachable = AttachedLab.from_addresses(["127.0.0.1:9", "127.0.0.1:10"])
    with pytest.raises(AttachRefused, match="primary server at http://127.0.0.1:9 does not answer"):
        await unreachable.attach("any password")


def test_by_address_repair_and_rsync_are_greyed_with_the_reason():
    offers = AttachedLab.from_addresses(["127.0.0.1:8000", "127.0.0.1:8001"]).offers
    assert "no SSH port or host key" in offers.why_not("repair") and offers.why_not("rsync") == offers.why_not("repair")
    assert offers.why_not("power_off", "primary").endswith("cannot power it off or on")
    assert offers.why_not("cut_link", "primary") is None  # loopback: the servers cut their own link
    assert offers.why_not("packet_loss").startswith("the loopback lab cannot drop packets at a rate")


def test_a_lab_this_process_started_offers_everything_but_the_kernels_faults_on_loopback():
    loopback, sites = Offers("loopback"), Offers("sites")
    assert [f for f in ("power_off", "cut_link", "repair", "time_scale") if loopback.why_not(f, "primary")] == []
    assert loopback.why_not("isolate_clients").startswith("the loopback lab has no clients' site to isolate")
    assert sites.why_not("packet_loss") is None and sites.why_not("isolate_clients") is None


def test_by_address_off_loopback_the_topology_is_unknown_and_the_kernels_faults_are_not_offered():
    lab = AttachedLab.from_addresses(["198.18.3.11:443", "198.18.3.12:443"])
    assert lab.topology == "unknown"
    assert lab.offers.why_not("packet_loss").startswith("attached by address, the panel does not know the sites'")
    assert lab.offers.why_not("cut_link", "primary") is None  # through the servers' lab API, if they take it


async def test_the_actions_refuse_to_power_a_server_this_lab_did_not_start():
    from ipics_lab.trainer.actions import ActionRefused, Actions

    actions = Actions(AttachedLab.from_addresses(["127.0.0.1:9", "127.0.0.1:10"]).pair)
    for fault in (actions.power_off, actions.power_on):
        with pytest.raises(ActionRefused, match="^this lab did not start the primary: it cannot power it off or on$"):
            await fault("primary")
    with pytest.raises(ActionRefused, match="attached by address"):
        await actions.rsync()
