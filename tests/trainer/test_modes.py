"""The trainer's timeline in the modes beyond IPICS, on a real lab in witness + strict
synchronous mode: the witness's votes (who asked, granted, unanswered), synchronous
replication's state changes, and an active that steps down by self-demotion."""

from __future__ import annotations

import pytest

from ipics_lab.supervisor import wait_until
from ipics_lab.trainer.actions import Actions
from ipics_lab.trainer.witness_view import witness_view

from .conftest import INTERVAL_S, MISSED, TIME_SCALE

#: real seconds: a takeover (150-180 emulated s) and the failover window, with room
DEADLINE_S = 20 + (180 + INTERVAL_S * MISSED) * TIME_SCALE


def events(lab, kind: str, server: str, words: str):
    return [e for e in lab.timeline.events if e.kind == kind and e.server == server and words in e.text]


@pytest.mark.parametrize("trainer_modes", ["witness+synchronous-strict"])
async def test_the_timeline_shows_who_the_witness_voted_for_and_a_step_down_by_self_demotion(trainer_lab):
    lab = trainer_lab
    assert lab.summary["modes"] == {"name": "witness+synchronous-strict", "label": "synchronous (strict) + witness"}
    monitor = lab.monitor  # the lab's own (it records): one poller on the timeline
    monitor.period_s = 0.05
    await monitor.poll_once()
    monitor.start()
    try:
        witness = witness_view(monitor.views)
        assert witness is not None and witness.address == lab.summary["witness"]["url"]
        assert witness.holder == "primary", witness

        # The active hears neither its partner (the link cut) nor the witness (paused):
        # it steps down once its lease has run out; the standby cannot take over either.
        lab.pair.witness.pause()
        await Actions(lab.pair, lab.timeline).cut_link("primary", "both")
        await wait_until(
            lambda: events(lab, "role", "primary", "active (configured) -> standby (configured) self-demoted"),
            DEADLINE_S,
            "the primary's step down on the timeline",
        )
        assert events(lab, "witness", "primary", "witness vote unanswered: the witness does not answer")
        # the link cut: no standby to hold writes, refused; stepped down: nothing to wait for
        refusing = events(lab, "synchronous", "primary", "synchronous replication synchronous -> refusing")
        assert refusing and refusing[0].ok is False
        assert events(lab, "synchronous", "primary", "synchronous replication refusing -> idle")

        # The witness back: whichever server asks first gets its vote and takes over (the
        # primary may win it again: it is a standby missing its partner too); with no
        # standby, strict synchronous replication refuses writes there.
        lab.pair.witness.resume()

        def took_over():
            return [e for e in lab.timeline.of_kind("role") if "-> active (configured)" in e.text]

        await wait_until(took_over, DEADLINE_S, "a takeover with the witness's vote")
        takeover = took_over()[0]
        winner = takeover.server
        granted = events(lab, "witness", winner, f"witness vote granted: the witness votes for the {winner}")
        assert granted and granted[-1].ok is True
        assert "(asked because the missed heartbeats would make this server assume the active role)" in granted[-1].text
        await wait_until(
            lambda: [
                e
                for e in events(lab, "synchronous", winner, "-> refusing (refusing writes: no standby is Ready)")
                if e.at >= takeover.at
            ],
            DEADLINE_S,
            "the new active refusing writes, on the timeline",
        )
        assert witness_view(monitor.views).holder == winner
        # one event per vote, however many polls saw it
        texts = [e.text for e in lab.timeline.of_kind("witness")]
        assert len(texts) == len(set(texts)), texts
    finally:
        await monitor.stop()
