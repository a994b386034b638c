"""The replay core: a recording indexed by time (each server's view, the events and the
actions up to any time), and the player's play, pause, speed and seek."""

from __future__ import annotations

import pytest

from ipics_lab.recording import Header, RecordingError, RecordingWriter
from ipics_lab.replay import SPEEDS, Player, Replay
from ipics_lab.trainer.timeline import Event


def view(role: str, reachable: bool = True, **more) -> dict:
    return {"reachable": reachable, "role": role, "ha": "configured", "standby_server_status": "Ready", **more}


async def write(path, lines) -> None:
    """``lines``: (at, emulated, type, payload) in the order a run writes them."""
    writer = RecordingWriter(path, Header("exercise", "split-brain", 1.7e9, 0.1))
    for at, emulated, kind, payload in lines:
        if kind == "event":
            writer.event(Event(at=at, emulated=emulated, **payload))
        elif kind == "status":
            writer.status(payload[0], payload[1], at, emulated)
        elif kind == "action":
            writer.action(payload[0], payload[1], at, emulated)
    await writer.close()


@pytest.fixture
async def replay(tmp_path):
    path = tmp_path / "run.ipicsrec"
    await write(
        path,
        [
            (0.0, 0.0, "status", ("primary", view("active"))),
            (0.0, 0.0, "status", ("secondary", view("standby"))),
            (0.5, 5.0, "event", {"kind": "heartbeat", "text": "primary: 1 heartbeat sent", "server": "primary"}),
            (1.0, 10.0, "event", {"kind": "heartbeat", "text": "primary: 2 heartbeats sent", "server": "primary"}),
            (2.0, 20.0, "event", {"kind": "fault", "text": "primary powered off", "server": "primary"}),
            (2.1, 21.0, "status", ("primary", view(None, reachable=False))),
            (3.0, 30.0, "event", {"kind": "missed", "text": "secondary: heartbeat missed", "server": "secondary"}),
            (6.0, 60.0, "status", ("secondary", view("active"))),
            (6.0, 60.0, "event", {"kind": "role", "text": "secondary: standby -> active", "server": "secondary"}),
            (7.0, 70.0, "action", ("secondary", {"action": "go-standby", "via": "console", "ok": True})),
            (7.0, 70.0, "event", {"kind": "action", "text": "secondary, console: go-standby", "server": "secondary"}),
            (10.0, 100.0, "event", {"kind": "narration", "text": "the end", "server": None}),
        ],
    )
    return Replay.load(path)


def roles(state) -> dict:
    return {name: s.view["role"] if s.view and s.view["reachable"] else "down" for name, s in state.servers.items()}


def test_the_state_at_a_time_is_each_servers_last_view_and_what_happened_by_then(replay):
    assert replay.duration_s == 10.0 and replay.header.name == "split-brain"
    assert roles(replay.state_at(0)) == {"primary": "active", "secondary": "standby"}
    at_2 = replay.state_at(2.05)  # the fault is on the timeline, the primary's silence not yet seen
    assert roles(at_2) == {"primary": "active", "secondary": "standby"}
    assert [e.text for e in replay.events_until(2.05)][-1] == "primary powered off"
    assert roles(replay.state_at(5)) == {"primary": "down", "secondary": "standby"}
    late = replay.state_at(6.5)
    assert roles(late) == {"primary": "down", "secondary": "active"}
    assert late.servers["primary"].heartbeats_sent == 3 and late.servers["secondary"].heartbeats_missed == 1
    assert (late.actions, replay.state_at(7).actions) == (0, 1)
    assert [a.entry["action"] for a in replay.actions_until(7)] == ["go-standby"]
    # the debrief's list: what was done and said, not the heartbeats
    assert [e.text for e in replay.listed[: replay.state_at(10).listed]] == [
        "primary powered off",
        "secondary, console: go-standby",
        "the end",
    ]


def test_the_emulated_time_is_read_between_records(replay):
    assert replay.state_at(0.75).emulated == pytest.approx(7.5)
    assert replay.state_at(99).emulated == 100.0 and replay.state_at(99).at == 10.0  # clamped to the end
    assert replay.state_at(-5).at == 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_play_advances_at_the_speed_pause_holds_and_the_end_stops_it(replay):
    clock = FakeClock()
    player = Player(replay, clock)
    clock.now += 5
    assert player.tick() == 0.0  # not playing: nothing moves
    player.play()
    clock.now += 1.5
    assert player.tick() == pytest.approx(1.5)
    player.set_speed(2.0)
    clock.now += 1
    assert player.tick() == pytest.approx(3.5)
    player.pause()
    clock.now += 100
    assert player.tick() == pytest.approx(3.5)
    assert roles(player.state()) == {"primary": "down", "secondary": "standby"}
    player.set_speed(60.0)
    player.play()
    clock.now += 1
    assert player.tick() == 10.0 and not player.playing  # the end: stopped there
    player.play()  # again from the start
    assert player.position == 0.0 and player.playing


def test_seek_goes_to_any_time_within_the_recording_and_speeds_are_the_offered_ones(replay):
    player = Player(replay, FakeClock())
    assert player.seek(6.5) == 6.5 and roles(player.state())["secondary"] == "active"
    assert player.seek(-1) == 0.0 and player.seek(1e9) == 10.0
    assert SPEEDS == (1.0, 2.0, 5.0, 10.0, 60.0)
    with pytest.raises(ValueError, match="the speed is one of 1x, 2x, 5x, 10x, 60x, not 3"):
        player.set_speed(3)


def test_a_foreign_or_damaged_file_is_refused_in_words(tmp_path):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("minutes of the debrief\n")
    with pytest.raises(RecordingError, match="is not a recording of the IPICS HA Lab"):
        Replay.load(foreign)
    with pytest.raises(RecordingError, match="no such file"):
        Replay.load(tmp_path / "missing.ipicsrec")


async def test_an_empty_recording_replays_as_nothing_happened(tmp_path):
    path = tmp_path / "empty.ipicsrec"
    await write(path, [])
    replay = Replay.load(path)
    state = replay.state_at(3)
    assert (replay.duration_s, state.at, state.events) == (0.0, 0.0, 0)
    assert {n: s.view for n, s in state.servers.items()} == {"primary": None, "secondary": None}
    player = Player(replay, FakeClock())
    player.play()
    assert player.tick() == 0.0 and not player.playing
