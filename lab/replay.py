"""Replaying a recorded run without any server: the state at any time, and a player.

A recording (``ipics_lab.recording``) is read once and indexed by time: the timeline's
events, each server's views, the administrators' actions, each list sorted by the
record's real seconds.  "The state at time t" is then a few binary searches: each
server's last view at or before t, how many events and actions happened by t, the
emulated time at t, the heartbeats sent and missed by t.  Nothing is rebuilt per look,
so a trainer can scrub a two-hour debrief as fast as the slider moves.

Time here is the recording's real seconds (``at``): a run at 100x replays in its own
real minutes at 1x, and the speeds (``SPEEDS``) multiply that.  The emulated time
(what the chapter's durations are in) is shown beside it, read from the records.

``Player`` is the play/pause/speed/seek state machine, on an injected monotonic clock
(the replay window ticks it from a timer; the tests tick it by hand).
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipics_lab.recording import Header, Recording, read_recording
from ipics_lab.trainer.timeline import Event

#: the player's speeds: times the recording's own real pace
SPEEDS = (1.0, 2.0, 5.0, 10.0, 60.0)
#: the events a debrief lists (the rest are on the plot): what was done and said
LISTED_KINDS = ("narration", "fault", "action", "expectation")
_SENT = re.compile(r"(\d+) heartbeats? sent")


@dataclass(frozen=True)
class ServerState:
    """A server's view at a time (``STATUS_FIELDS``; None before its first one), and
    the heartbeats it sent and missed by then (counted from the timeline)."""

    view: dict[str, Any] | None
    heartbeats_sent: int
    heartbeats_missed: int
    #: which of the server's views this is (0-based; -1: none yet): a view changes only when this does
    index: int


@dataclass(frozen=True)
class State:
    at: float  #: real seconds since the run started
    emulated: float  #: emulated seconds since the run started, at ``at``
    servers: dict[str, ServerState]
    events: int  #: how many of ``Replay.events`` happened by ``at``
    listed: int  #: how many of ``Replay.listed`` happened by ``at``
    actions: int  #: how many of ``Replay.actions`` happened by ``at``


@dataclass(frozen=True)
class Action:
    """An administrator's action as a server's audit trail said it."""

    at: float
    emulated: float
    server: str
    entry: dict[str, Any]


class _Track:
    """One server's views and heartbeat counts, by time."""

    def __init__(self) -> None:
        self.view_at: list[float] = []
        self.views: list[dict[str, Any]] = []
        self.beat_at: list[float] = []
        self.sent: list[int] = []  # cumulative, per heartbeat event
        self.miss_at: list[float] = []

    def state(self, t: float) -> ServerState:
        i = bisect.bisect_right(self.view_at, t) - 1
        b = bisect.bisect_right(self.beat_at, t)
        return ServerState(
            view=self.views[i] if i >= 0 else None,
            heartbeats_sent=self.sent[b - 1] if b else 0,
            heartbeats_missed=bisect.bisect_right(self.miss_at, t),
            index=i,
        )


class Replay:
    """A recording indexed by time; ``load`` reads and indexes one (off the GUI loop:
    ``asyncio.to_thread(Replay.load, path)``), ``RecordingError`` if it is not one."""

    def __init__(self, recording: Recording):
        self.recording = recording
        self.header: Header = recording.header
        records = sorted(recording.records, key=lambda r: r["at"])  # stable: a file's order within a time
        self.events: list[Event] = []
        self.actions: list[Action] = []
        self.tracks: dict[str, _Track] = {}
        self._clock_at: list[float] = []
        self._clock_emulated: list[float] = []
        for r in records:
            at, emulated = float(r["at"]), float(r["emulated"])
            if not self._clock_emulated or emulated >= self._clock_emulated[-1]:
                self._clock_at.append(at)
                self._clock_emulated.append(emulated)
            kind = r["type"]
            if kind == "event":
                self._add_event(r, at, emulated)
            elif kind == "status" and isinstance(r.get("server"), str) and isinstance(r.get("view"), dict):
                track = self._track(r["server"])
                track.view_at.append(at)
                track.views.append(r["view"])
            elif kind == "action" and isinstance(r.get("entry"), dict):
                self.actions.append(Action(at, emulated, str(r.get("server")), r["entry"]))
        for name in ("primary", "secondary"):  # the two cards, whatever the file holds
            self._track(name)
        self._event_at = [e.at for e in self.events]
        #: the events a debrief lists (narration, faults, actions, expectations), in time order
        self.listed: list[Event] = [e for e in self.events if e.kind in LISTED_KINDS]
        self._listed_at = [e.at for e in self.listed]
        self._action_at = [a.at for a in self.actions]
        #: real seconds from the start to the last record
        self.duration_s: float = recording.duration_s
        #: where the replay starts: the servers' first views (the recorder's baseline; before
        #: it the lab was starting, nothing to see), else the first record
        firsts = [track.view_at[0] for track in self.tracks.values() if track.view_at]
        first = min(firsts) if firsts else (self._clock_at[0] if self._clock_at else 0.0)
        self.start_s: float = min(first, self.duration_s)

    def _track(self, server: str) -> _Track:
        return self.tracks.setdefault(server, _Track())

    def _add_event(self, r: dict[str, Any], at: float, emulated: float) -> None:
        kind, text, server = str(r.get("kind", "message")), str(r.get("text", "")), r.get("server")
        ok = r.get("ok") if isinstance(r.get("ok"), bool) else None
        event = Event(at=at, emulated=emulated, kind=kind, text=text, server=server, ok=ok)
        self.events.append(event)
        if isinstance(server, str) and kind in ("heartbeat", "missed"):
            track = self._track(server)
            if kind == "heartbeat":
                sent = _SENT.search(text)
                track.beat_at.append(at)
                track.sent.append((track.sent[-1] if track.sent else 0) + (int(sent.group(1)) if sent else 1))
            else:
                track.miss_at.append(at)

    @classmethod
    def load(cls, path: Path) -> Replay:
        return cls(read_recording(Path(path)))

    # ------------------------------------------------------------------ looking
    def clamp(self, t: float) -> float:
        """``t`` within the recording: from its first record to its last."""
        return min(max(self.start_s, t), self.duration_s)

    def emulated_at(self, t: float) -> float:
        """The emulated seconds at real second ``t``: between two records, in proportion."""
        at, em = self._clock_at, self._clock_emulated
        i = bisect.bisect_right(at, t)
        if i == 0:
            return em[0] if em else 0.0
        if i == len(at):
            return em[-1]
        a0, a1, e0, e1 = at[i - 1], at[i], em[i - 1], em[i]
        return e0 if a1 <= a0 else e0 + (e1 - e0) * (t - a0) / (a1 - a0)

    def state_at(self, t: float) -> State:
        """Everything at real second ``t`` (clamped to the recording): O(log n)."""
        t = self.clamp(t)
        return State(
            at=t,
            emulated=self.emulated_at(t),
            servers={name: track.state(t) for name, track in self.tracks.items()},
            events=bisect.bisect_right(self._event_at, t),
            listed=bisect.bisect_right(self._listed_at, t),
            actions=bisect.bisect_right(self._action_at, t),
        )

    def events_until(self, t: float) -> list[Event]:
        return self.events[: bisect.bisect_right(self._event_at, t)]

    def actions_until(self, t: float) -> list[Action]:
        return self.actions[: bisect.bisect_right(self._action_at, t)]


def describe_speed(speed: float) -> str:
    return f"{speed:g}x"


class Player:
    """Play, pause, speed and seek over a ``Replay``: ``position`` (real seconds of the
    recording) moves at ``speed`` times the monotonic clock while playing, and stops
    (paused) at the end; ``tick()`` brings it up to now."""

    def __init__(self, replay: Replay, clock: Callable[[], float] = time.monotonic):
        self.replay, self._clock = replay, clock
        self.position = replay.start_s
        self.speed = SPEEDS[0]
        self.playing = False
        self._since = clock()

    def play(self) -> None:
        if self.position >= self.replay.duration_s:
            self.position = self.replay.start_s  # Play at the end plays it again
        self.playing, self._since = True, self._clock()

    def pause(self) -> None:
        self.tick()
        self.playing = False

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"the speed is one of {', '.join(describe_speed(s) for s in SPEEDS)}, not {speed!r}")
        self.tick()  # what was played so far at the old speed
        self.speed = speed

    def seek(self, t: float) -> float:
        self.position, self._since = self.replay.clamp(t), self._clock()
        return self.position

    def tick(self) -> float:
        now = self._clock()
        if self.playing:
            self.position = self.replay.clamp(self.position + (now - self._since) * self.speed)
            if self.position >= self.replay.duration_s:
                self.playing = False
        self._since = now
        return self.position

    def state(self) -> State:
        return self.replay.state_at(self.position)
