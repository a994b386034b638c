"""A scenario's console without a media router (no server started: the fast tier)."""

from __future__ import annotations

import pytest

from ipics_lab.scenario.clients import ClientActionFailed, ScenarioClient


@pytest.mark.parametrize("action", ["ptt_press", "ptt_release"])
def test_push_to_talk_without_a_media_router_says_it_is_not_available(tmp_path, action):
    client = ScenarioClient("amy", tmp_path, urls=[], names={}, clock=None, media_url=None, on_event=lambda _text: None)
    with pytest.raises(ClientActionFailed, match="no media router"):
        getattr(client, action)("Dispatch")
