"""The media router process with several clients: floor control, the talker's name on
every listener, the audio itself, and the floor freed on release, disconnect, kill -9
of the talker, silence, and a router that is killed and started again."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipics_lab.media_process import MediaProcess
from ipics_lab.supervisor import free_port_on, wait_until
from ipics_server.media import tone
from ipics_server.media.client import MediaClient, MediaUnavailable
from ipics_server.media.ticket import create_key_file, issue

from .conftest import FIRE, POLICE, Ear, joined, talker_everywhere, ticket_maker

TALKER = Path(__file__).with_name("talker.py")


async def test_one_talker_at_a_time_and_a_second_press_is_denied_naming_the_holder(connect):
    dan, adam, ursula = await connect("dan"), await connect("adam"), await connect("ursula")
    await joined(dan, adam, ursula, group=FIRE)

    assert await dan.press(FIRE)
    assert not await adam.press(FIRE)
    assert adam.talker(FIRE) == "dan"  # the denial names the holder
    assert not await ursula.press(FIRE)
    assert await dan.press(FIRE)  # pressing again while holding keeps it

    dan.release(FIRE)
    await talker_everywhere([dan, adam, ursula], FIRE, None)
    assert await adam.press(FIRE)
    assert not await dan.press(FIRE)
    assert dan.talker(FIRE) == "adam"


async def test_groups_have_their_own_floor(connect):
    dan, adam = await connect("dan"), await connect("adam")
    await joined(dan, adam, group=FIRE)
    await joined(dan, adam, group=POLICE)
    assert await dan.press(FIRE)
    assert await adam.press(POLICE)
    await talker_everywhere([dan, adam], FIRE, "dan")
    await talker_everywhere([dan, adam], POLICE, "adam")


async def test_every_listener_hears_who_talks_and_a_late_joiner_learns_the_current_talker(connect):
    dan, adam, ursula = await connect("dan"), await connect("adam"), await connect("ursula")
    ears = {c.who: Ear(c) for c in (dan, adam, ursula)}
    await joined(dan, adam, ursula, group=FIRE)

    assert await dan.press(FIRE)
    await talker_everywhere([dan, adam, ursula], FIRE, "dan")
    amy = await connect("amy")
    assert await amy.join(FIRE)
    assert amy.talker(FIRE) == "dan"  # told on joining, not only on the next change

    dan.release(FIRE)
    await talker_everywhere([dan, adam, ursula, amy], FIRE, None)
    for ear in ears.values():
        assert ear.changes(FIRE) == ["dan", None], ear.client.who


async def test_the_audio_arrives_intact_as_the_tone_stamped_with_the_talker(connect, router):
    dan, adam, ursula = await connect("dan"), await connect("adam"), await connect("ursula")
    ears = {c.who: Ear(c) for c in (dan, adam, ursula)}
    await joined(dan, adam, ursula, group=FIRE)

    sent = await dan.talk(FIRE, 0.5)
    assert sent == 25  # 0.5 s of 20 ms frames
    for who in ("adam", "ursula"):
        await wait_until(lambda w=who: len(ears[w].heard(FIRE)) == sent, 10, f"{who} to hear every frame")
        heard = ears[who].heard(FIRE)
        assert {h.talker for h in heard} == {"dan"}
        assert [h.seq for h in heard] == list(range(sent))  # in order, none lost
        for h in heard:
            assert h.payload == tone.tone_frame(h.seq)  # bit for bit
            assert tone.sounds_like_voice(h.payload)
        assert max(h.latency_ms for h in heard) < 1000
    assert ears["dan"].heard(FIRE) == []  # a talker does not hear itself
    counters = (await router.stats())["counters"]
    assert counters["frames_in"] == sent and counters["frames_out"] == 2 * sent


async def test_only_the_floor_holder_is_heard(connect, router):
    dan, adam = await connect("dan"), await connect("adam")
    ear = Ear(dan)
    await joined(dan, adam, group=FIRE)
    assert adam.send_audio(FIRE, tone.tone_frame(0)) is not None  # sent, but adam has no floor
    await wait_until(lambda: adam.stats["errors.not_holder"] == 1, 10, "the router to refuse adam's audio")
    assert ear.heard(FIRE) == []
    assert (await router.stats())["counters"]["frames_dropped.not_holder"] == 1

    assert await dan.press(FIRE)
    assert not await adam.press(FIRE)
    adam.send_audio(FIRE, tone.tone_frame(1))  # denied, still not heard
    await wait_until(lambda: adam.stats["errors.not_holder"] == 2, 10, "the second refusal")
    assert ear.heard(FIRE) == []


async def test_the_floor_is_freed_when_the_talker_closes_or_leaves(connect):
    dan, adam = await connect("dan"), await connect("adam")
    await joined(dan, adam, group=FIRE)
    assert await dan.press(FIRE)
    await talker_everywhere([adam], FIRE, "dan")
    dan.leave(FIRE)
    await talker_everywhere([adam], FIRE, None, "the floor freed when dan left")

    fred = await connect("fred")
    assert await fred.press(FIRE)
    await talker_everywhere([adam], FIRE, "fred")
    await fred.close()
    await talker_everywhere([adam], FIRE, None, "the floor freed when fred disconnected")
    assert await adam.press(FIRE)


async def test_the_floor_is_freed_when_the_talkers_process_is_killed(connect, router, ticket):
    adam = await connect("adam")
    ear = Ear(adam)
    await joined(adam, group=FIRE)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(TALKER),
        router.url,
        FIRE,
        env={**os.environ, "TALKER_TICKET": ticket("dan")},
        stdout=subprocess.PIPE,
    )
    try:
        assert (await asyncio.wait_for(proc.stdout.readline(), 15)).strip() == b"talking"
        await wait_until(lambda: len(ear.heard(FIRE)) >= 5, 10, "adam to hear dan's process")
        assert not await adam.press(FIRE)
        proc.kill()  # kill -9: no goodbye from the talker
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    await talker_everywhere([adam], FIRE, None, "the router to free the dead talker's floor")
    assert await adam.press(FIRE)
    assert ear.changes(FIRE)[:2] == ["dan", None]
    assert (await router.stats())["counters"]["floor_freed.gone"] == 1


@pytest.mark.pair
async def test_a_silent_talker_loses_the_floor_after_the_timeout_but_a_speaking_one_keeps_it(tmp_path):
    # 60 emulated seconds at time scale 0.01: 0.6 real seconds of silence free the floor.
    media = MediaProcess(tmp_path / "media", time_scale=0.01)
    await media.start()
    ticket = ticket_maker(media)
    dan = adam = None
    try:
        dan = await MediaClient.connect(media.url, ticket("dan"))
        adam = await MediaClient.connect(media.url, ticket("adam"))
        assert dan.floor_timeout_s == 60
        ear = Ear(adam)
        await joined(dan, adam, group=FIRE)

        assert await dan.press(FIRE)  # a stuck PTT: no audio
        pressed = time.monotonic()
        await talker_everywhere([adam], FIRE, "dan")
        await talker_everywhere([dan, adam], FIRE, None, "the silent floor to be freed")
        assert time.monotonic() - pressed >= 0.6
        assert not dan.holding(FIRE)  # the client knows it lost the floor

        # Talking for 1.5 s (longer than the timeout) keeps the floor all along.
        assert await dan.talk(FIRE, 1.5) == 75
        await talker_everywhere([adam], FIRE, None)
        assert ear.changes(FIRE) == ["dan", None, "dan", None]
        assert (await media.stats())["counters"]["floor_freed.silent"] == 1
    finally:
        for c in (dan, adam):
            if c is not None:
                await c.close()
        media.stop()


async def test_clients_reconnect_to_a_router_started_again_on_the_same_port_and_keep_talking(router, connect):
    dan, adam = await connect("dan"), await connect("adam")
    ear = Ear(adam)
    await joined(dan, adam, group=FIRE)
    assert await dan.press(FIRE)
    await talker_everywhere([adam], FIRE, "dan")

    router.kill()  # kill -9 of the router itself
    await wait_until(lambda: not dan.connected and not adam.connected, 10, "the clients to notice")
    assert adam.talker(FIRE) is None  # the floor is unknown without a router
    assert await dan.press(POLICE) is False  # no router: no floor
    assert dan.send_audio(FIRE, tone.tone_frame(0)) is None  # dropped, counted
    assert dan.stats["audio_dropped_offline"] == 1
    assert dan.holding(FIRE)  # dan still holds the PTT button

    await router.start()  # same port: the devices' configuration does not change
    await wait_until(lambda: dan.connected and adam.connected, 15, "the clients to reconnect")
    # Dan was holding: the client asks for the floor again and gets it.
    await talker_everywhere([dan, adam], FIRE, "dan", "dan to hold the floor again")
    assert dan.connections == adam.connections == 2
    before = len(ear.heard(FIRE))
    await dan.stream(FIRE, count=10)
    await wait_until(lambda: len(ear.heard(FIRE)) == before + 10, 10, "adam to hear dan again")
    assert {h.talker for h in ear.heard(FIRE)} == {"dan"}
    dan.release(FIRE)
    await talker_everywhere([dan, adam], FIRE, None)


async def test_a_floor_taken_while_the_router_was_away_is_not_given_back(router, connect):
    # Dan's client retries only after 4 s; Adam's at once: Adam is back first and talks.
    dan, adam = await connect("dan", backoff_s=(4.0, 4.0)), await connect("adam")
    await joined(dan, adam, group=FIRE)
    assert await dan.press(FIRE)
    router.kill()
    await wait_until(lambda: not dan.connected and not adam.connected, 10, "the clients to notice")
    await router.start()
    await wait_until(lambda: adam.joined(FIRE), 15, "adam to reconnect")
    assert not dan.connected
    assert await adam.press(FIRE)

    await wait_until(lambda: dan.joined(FIRE), 15, "dan to reconnect")
    await wait_until(lambda: not dan.holding(FIRE), 10, "dan's second press to be denied")
    assert dan.talker(FIRE) == "adam"
    assert adam.talker(FIRE) == "adam"


async def test_sigterm_stops_the_router_cleanly_and_clients_wait_for_the_next(router, connect):
    dan = await connect("dan")
    await joined(dan, group=FIRE)
    router.stop()
    assert router.proc.returncode == 0
    await wait_until(lambda: not dan.connected, 10, "dan to notice")
    assert dan.stats["disconnects"] == 1 and not dan.refused  # it keeps trying
    await router.start()
    await wait_until(lambda: dan.joined(FIRE), 15, "dan to join again")


async def test_connecting_to_no_router_fails_clearly():
    port = free_port_on("127.0.0.1")
    started = time.monotonic()
    try:
        await MediaClient.connect(f"ws://127.0.0.1:{port}/media", issue(b"k" * 32, "dan", []), timeout_s=0.5)
    except MediaUnavailable as exc:
        assert f"127.0.0.1:{port}" in str(exc)
    else:
        raise AssertionError("connected to nothing")
    assert time.monotonic() - started < 3


@pytest.mark.pair
def test_the_router_refuses_bad_arguments_and_a_busy_port(tmp_path):
    key_file = create_key_file(tmp_path / "key")

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ipics_server.media", "--ticket-key-file", str(key_file), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )

    bad = run("--port", "70000")
    assert bad.returncode == 2 and "--port must be 0-65535" in bad.stderr
    bad = run("--time-scale", "0")
    assert bad.returncode == 2 and "--time-scale" in bad.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = run("--port", str(s.getsockname()[1]), "--port-file", str(tmp_path / "p"))
    assert busy.returncode == 1 and "cannot listen on 127.0.0.1" in busy.stderr
    assert not (tmp_path / "p").exists()
