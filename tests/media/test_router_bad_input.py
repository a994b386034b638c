"""Bad input to the media router: each is answered with a clear error (or dropped and
counted, or, beyond the WebSocket's hard limit, that one connection closed) and the
router keeps serving everyone else."""

from __future__ import annotations

import pytest

from ipics_lab.supervisor import wait_until
from ipics_server.media import tone
from ipics_server.media.protocol import (
    HEADER,
    KIND_AUDIO,
    MAX_CONTROL_BYTES,
    MAX_GROUPS_PER_CLIENT,
    MAX_PAYLOAD_BYTES,
    WS_MAX_MSG_SIZE,
    encode_audio,
)

from .conftest import FIRE, POLICE, Ear, joined, raw, ticket_maker


@pytest.fixture
async def still_serving(router, connect):
    """After the test: the router process is alive and two new clients still talk."""
    yield
    assert router.proc.poll() is None, "the router died"
    dan, adam = await connect("dan-after"), await connect("adam-after")
    ear = Ear(adam)
    await joined(dan, adam, group=POLICE)
    assert await dan.talk(POLICE, 0.1) == 5
    await wait_until(lambda: len(ear.heard(POLICE)) == 5, 10, "audio after the bad input")


pytestmark = pytest.mark.usefixtures("still_serving")


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        ("{not json", "bad_json", "not JSON"),
        ("[" * 1000 + "]" * 1000, "too_big", "at most 1024 bytes"),
        ("[1, 2]", "bad_message", "JSON object"),
        ('"hello"', "bad_message", "JSON object"),
        ("{}", "bad_field", '"op" must be a string'),
        ({"op": 5}, "bad_field", '"op" must be a string'),
        ({"op": "shout", "who": "dan"}, "unknown_op", "unknown op 'shout'"),
        ({"op": "hello"}, "no_ticket", "only ticket holders"),
        ({"op": "hello", "who": "dan"}, "no_ticket", "only ticket holders"),  # anonymous, as dan
        ({"op": "hello", "who": "dan", "ticket": 7}, "bad_ticket", "the string the server issued"),
        ({"op": "hello", "who": 42}, "bad_field", '"who" must be a non-empty string'),
        ({"op": "hello", "who": ""}, "bad_field", '"who" must be a non-empty string'),
        ({"op": "hello", "who": "x" * 65}, "bad_field", "at most 64 bytes"),
        ({"op": "hello", "who": "\u00e4" * 33}, "bad_field", "at most 64 bytes"),  # 33 letters, 66 bytes
        ({"op": "hello", "who": "dan\nadam"}, "bad_field", "printable"),
        ({"op": "hello", "who": " dan"}, "bad_field", "leading or trailing"),
        ({"op": "hello", "who": "\ud800"}, "bad_field", "printable"),
        ({"op": "hello", "who": "dan", "protocol": 2}, "bad_protocol", "protocol 1"),
        ({"op": "hello", "who": "dan", "protocol": True}, "bad_protocol", "protocol 1"),
        ({"op": "join", "group": FIRE}, "hello_first", "say hello"),
    ],
)
async def test_bad_control_messages_are_answered_and_the_connection_keeps_working(router, message, code, words):
    async with raw(router) as ws:
        error = await ws.ask(message)
        assert error["event"] == "error" and error["code"] == code, error
        assert words in error["message"]
        await ws.hello("dan")  # the same connection still works
        joined_ = await ws.ask({"op": "join", "group": FIRE})
        assert joined_ == {"event": "joined", "group": FIRE, "slot": joined_["slot"], "talker": None}
    counters = (await router.stats())["counters"]
    assert counters[f"error.{code}"] == 1


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        ({"op": "join"}, "bad_field", '"group" must be a string'),
        ({"op": "join", "group": 7}, "bad_field", '"group" must be a string'),
        ({"op": "join", "group": ["a"]}, "bad_field", '"group" must be a string'),
        ({"op": "join", "group": ""}, "bad_field", "1-64 letters"),
        ({"op": "join", "group": "../etc"}, "bad_field", "1-64 letters"),
        ({"op": "join", "group": "a" * 65}, "bad_field", "1-64 letters"),
        ({"op": "press", "group": FIRE}, "not_joined", "join group"),
        ({"op": "release", "group": FIRE}, "not_joined", "join group"),
        ({"op": "leave", "group": FIRE}, "not_joined", "join group"),
        ({"op": "hello", "who": "adam"}, "already_hello", "already said hello as 'dan'"),
    ],
)
async def test_bad_requests_after_hello_are_answered_with_the_op_and_group(router, message, code, words):
    async with raw(router) as ws:
        await ws.hello("dan")
        error = await ws.ask(message)
        assert error["event"] == "error" and error["code"] == code, error
        assert words in error["message"]
        assert error["op"] == message["op"]
        if code == "not_joined":
            assert error["group"] == FIRE
        assert (await ws.ask({"op": "join", "group": FIRE}))["event"] == "joined"


async def test_a_control_message_over_the_limit_is_refused_but_not_fatal(router):
    async with raw(router) as ws:
        await ws.hello("dan")
        error = await ws.ask({"op": "join", "group": FIRE, "padding": "x" * MAX_CONTROL_BYTES})
        assert error["code"] == "too_big" and f"at most {MAX_CONTROL_BYTES} bytes" in error["message"]
        assert (await ws.ask({"op": "join", "group": FIRE}))["event"] == "joined"


async def test_a_message_over_the_websocket_limit_closes_only_that_connection(router, connect):
    adam = await connect("adam")
    await joined(adam, group=FIRE)
    async with raw(router) as ws:
        await ws.hello("dan")
        await ws.send(b"\x01" * (WS_MAX_MSG_SIZE + 1))
        msg = await ws.ws.receive(timeout=5)
        assert msg.type.name == "CLOSE" and msg.data == 1009  # message too big
    async with raw(router) as ws:
        await ws.hello("dan")
        await ws.send(b"\xff\xfe not UTF-8")  # sent as bytes: fine, it is an audio frame (a bad one)
        assert (await ws.event())["code"] == "bad_frame"
        await ws.ws.send_frame(b"\xff\xfe", 0x1)  # a text frame that is not UTF-8
        msg = await ws.ws.receive(timeout=5)
        assert msg.type.name == "CLOSE" and msg.data == 1007  # invalid frame payload data
    assert adam.connected and adam.joined(FIRE)
    assert (await router.stats())["counters"]["closed.ws_error"] == 2


def frame(slot: int = 1, *, kind: int = KIND_AUDIO, talker_len: int = 0, payload: bytes = b"\0" * 320) -> bytes:
    return HEADER.pack(kind, talker_len, slot, 0, 0) + payload


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda slot: b"\x01\x00\x00", "bad_frame", "18-byte header"),
        (lambda slot: frame(slot, kind=2), "bad_frame", "unknown binary kind 2"),
        (lambda slot: frame(slot, talker_len=3) + b"eve", "bad_frame", "the router stamps the talker"),
        (lambda slot: frame(slot, payload=b"\0" * (MAX_PAYLOAD_BYTES + 1)), "too_big", f"at most {MAX_PAYLOAD_BYTES}"),
        (lambda slot: frame(slot + 1000), "not_joined", "no group of yours"),
        (lambda slot: frame(slot), "not_holder", "you do not hold the floor (adam holds it)"),
    ],
)
async def test_bad_audio_is_dropped_counted_and_answered_and_nobody_hears_it(router, connect, make, code, words):
    adam, ursula = await connect("adam"), await connect("ursula")
    ears = [Ear(adam), Ear(ursula)]
    await joined(adam, ursula, group=FIRE)
    assert await adam.press(FIRE)
    async with raw(router) as ws:
        await ws.hello("eve")
        slot = (await ws.ask({"op": "join", "group": FIRE}))["slot"]
        await ws.send(make(slot))
        error = await ws.event()
        assert error["event"] == "error" and error["code"] == code, error
        assert words in error["message"]
    counters = (await router.stats())["counters"]
    assert counters[f"frames_dropped.{code}"] == 1
    assert counters.get("frames_out", 0) == 0
    assert all(ear.audio == [] for ear in ears)


async def test_audio_before_hello_is_dropped(router):
    async with raw(router) as ws:
        await ws.send(encode_audio(1, 0, 0, tone.tone_frame(0)))
        assert (await ws.event())["code"] == "hello_first"
    assert (await router.stats())["counters"]["frames_dropped.hello_first"] == 1


async def test_too_many_groups_for_one_client(router, connect):
    groups = [f"{i:032x}" for i in range(MAX_GROUPS_PER_CLIENT + 1)]
    dan = await connect("dan", groups=groups)
    answers = [await dan.join(g) for g in groups]
    assert answers == [True] * MAX_GROUPS_PER_CLIENT + [False]
    assert dan.stats["errors.too_many_groups"] == 1
    assert "at most 64 groups" in dan.last_error
    dan.leave(groups[0])
    assert await dan.join(groups[-1])  # room again


async def test_errors_are_rate_limited_and_the_rest_counted(router):
    async with raw(router) as ws:
        await ws.hello("dan")
        for _ in range(200):
            await ws.send("{bad")
        await ws.send({"op": "join", "group": FIRE})
        errors = []
        while (event := await ws.event())["event"] != "joined":
            errors.append(event["code"])
        assert set(errors) == {"bad_json"}
        assert 20 <= len(errors) < 50  # the burst, and a few more as the bucket refills
        stats = await router.stats()
        assert stats["counters"]["error.bad_json"] == 200
        assert stats["errors_suppressed"] >= 150  # not 200 answers: a flood gets a trickle


async def test_the_stats_page_refuses_other_methods_and_unknown_paths(router):
    from ipics_server.adapters.httpclient import ApiClient

    async with ApiClient(router.http_url) as api:
        assert (await api.post("/media/stats", {})).status == 405
        assert (await api.get("/nothing")).status == 404
        assert (await api.get("/media")).status in (400, 426)  # a WebSocket only


async def test_a_router_full_of_devices_refuses_the_next_with_503_and_serves_the_others(tmp_path):
    from ipics_lab.media_process import MediaProcess
    from ipics_server.media.client import MediaClient, MediaUnavailable

    media = MediaProcess(tmp_path / "small", max_clients=2)
    await media.start()
    ticket = ticket_maker(media)
    clients = []
    try:
        clients += [
            await MediaClient.connect(media.url, ticket("dan")),
            await MediaClient.connect(media.url, ticket("adam")),
        ]
        with pytest.raises(MediaUnavailable, match="503"):
            await MediaClient.connect(media.url, ticket("ursula"), timeout_s=0.5)
        assert (await media.stats())["counters"]["refused.router_full"] >= 1
        await joined(*clients, group=FIRE)
        assert await clients[0].talk(FIRE, 0.04) == 2
    finally:
        for c in clients:
            await c.close()
        media.stop()
