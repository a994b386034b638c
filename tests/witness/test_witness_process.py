"""The witness as a real process: one vote, one holder at a time, a lease; bad input
answered in words; the ballot kept across a kill -9; no secret in what it shows."""

from __future__ import annotations

import asyncio

import pytest

from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.witness_process import WitnessProcess
from ipics_server.adapters.httpclient import ApiClient
from ipics_server.adapters.secret_files import load_key
from ipics_server.witness.__main__ import KEY_BYTES
from ipics_server.witness.__main__ import main as witness_main

from ..prometheus_text import Exposition


@pytest.fixture
@starts_processes
async def witness(tmp_path):
    from ipics_lab.supervisor import free_port_on
    from ipics_lab.witness_process import LOOPBACK_HOST

    w = WitnessProcess(tmp_path, port=free_port_on(LOOPBACK_HOST))
    await w.start()
    try:
        yield w
    finally:
        w.stop()


async def test_one_vote_one_holder_a_lease_bad_input_and_a_restart(witness):
    key = load_key(witness.key_file, "the witness key", KEY_BYTES).hex()
    async with ApiClient(witness.url, token=key) as c, ApiClient(witness.url, token="0" * 64) as wrong:
        first = await c.post("/witness/vote", {"server": "primary", "lease_s": 0.5, "role": "active"})
        assert first.ok and first["granted"] and first["holder"] == "primary"
        refused = await c.post("/witness/vote", {"server": "secondary", "lease_s": 0.5, "role": "standby"})
        assert refused.ok and not refused["granted"] and "with the primary" in refused["reason"]
        # The lease runs out: the vote may go to the other server.
        await asyncio.sleep(0.6)
        taken = await c.post("/witness/vote", {"server": "secondary", "lease_s": 30, "role": "standby"})
        assert taken["granted"] and taken["holder"] == "secondary" and taken["term"] == first["term"] + 1

        # Bad input: a sentence, and the ballot unchanged.
        for body in (
            {"server": "tertiary", "lease_s": 1},
            {"server": "primary", "lease_s": -1},
            {"server": "primary", "lease_s": "10"},
            {"server": "primary", "lease_s": 1e9},
            [1, 2],
            {"server": "primary", "lease_s": 10**400},
            {"server": "primary", "lease_s": True},
            {"server": "primary", "lease_s": 1, "term": -1},
            {"server": "primary", "lease_s": 1, "term": "2"},
            {"server": "primary", "lease_s": 1, "term": 2**70},
        ):
            reply = await c.post("/witness/vote", body)
            assert reply.status == 400 and reply["message"], (body, reply.body)
        not_json = await c.request(
            "POST", "/witness/vote", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert not_json.status == 400
        deep = b"[" * 5000 + b"]" * 5000
        headers = {"Content-Type": "application/json"}
        assert (await c.request("POST", "/witness/vote", data=deep, headers=headers)).status == 400
        big = await c.request("POST", "/witness/vote", data=b" " * 10_000, headers={"Content-Type": "application/json"})
        assert big.status in (400, 413)
        denied = await wrong.post("/witness/vote", {"server": "primary", "lease_s": 30})
        assert denied.status == 401 and "0" * 64 not in str(denied.body)
        assert (await c.get("/witness/status"))["holder"] == "secondary"

        # kill -9 and start again: the vote is still the secondary's (its lease runs on).
        witness.kill()
        await witness.start()
        st = (await c.get("/witness/status")).body
        # (the file keeps one lease of headroom, so renewals need not be written each time:
        # after a restart the holder keeps the vote up to that much longer, never less)
        assert st["holder"] == "secondary" and 30 - 5 < st["remaining_s"] <= 2 * 30
        again = await c.post("/witness/vote", {"server": "primary", "lease_s": 1, "role": "standby"})
        assert not again["granted"]
        # A hand-back naming another grant (a late one) ends nothing: the term survived the restart.
        await c.post("/witness/release", {"server": "secondary", "term": taken["term"] - 1})
        assert (await c.get("/witness/status"))["holder"] == "secondary"
        # The holder hands its grant back: the other server gets the vote at once.
        await c.post("/witness/release", {"server": "secondary", "term": taken["term"]})
        given = await c.post("/witness/vote", {"server": "primary", "lease_s": 1, "role": "standby"})
        assert given["granted"] and given["term"] == taken["term"] + 1

        metrics = await c.request("GET", "/metrics")
        text = metrics.body
        exposition = Exposition(text)
        assert exposition.value("ipics_witness_vote_holder", server="primary") == 1
        assert exposition.value("ipics_witness_vote_holder", server="secondary") == 0
        # counters since this process started: the one refusal after the restart
        assert exposition.value("ipics_witness_votes_total", server="primary", result="refused") == 1
        assert key not in text and key not in str((await c.get("/witness/status")).body)


def test_a_key_others_may_read_is_refused_in_a_sentence(tmp_path, capsys):
    key = tmp_path / "key"
    key.write_text("ab" * 32)
    key.chmod(0o644)
    assert witness_main(["--data-dir", str(tmp_path), "--key-file", str(key)]) == 2
    err = capsys.readouterr().err
    assert "may be read by others" in err and "ab" * 32 not in err
