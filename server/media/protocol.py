"""The media router's wire format: JSON control messages and binary audio frames, with limits.

One WebSocket per device at ``ws://host:port/media``.  Text messages are JSON objects
for control; binary messages are audio.  Everything a peer sends is checked here, so
the router answers bad input with an ``error`` event and keeps serving.

Control, device -> router (one JSON object per text message, at most
``MAX_CONTROL_BYTES``, those carrying a ticket ``MAX_TICKET_BYTES`` more; unknown extra
fields are ignored)::

    {"op": "hello", "ticket": "ipt1..."}     first; the ticket (module ``ticket``) names the
                                             user listeners see; an optional "who" must be him
    {"op": "join", "group": "<id>"}          listen to a channel or VTG the ticket names
    {"op": "leave", "group": "<id>"}
    {"op": "press", "group": "<id>"}         ask for the floor
    {"op": "release", "group": "<id>"}       give it back (ignored if not holding it)
    {"op": "renew", "ticket": "ipt1..."}     a newer ticket of the same user: before the
                                             old one expires, or when the talk groups change
    {"op": "supersede", "ticket": "ipt1..."} a server only: the user's talk groups now; his
                                             older tickets grant no more than these

Events, router -> device::

    {"event": "welcome", "who": ..., "protocol": 1, "floor_timeout_s": ..., "expires_at": ...,
     "limits": {...}}
    {"event": "joined", "group": ..., "slot": n, "talker": "adam" | null}
    {"event": "left", "group": ..., "reason"?: "revoked"}   revoked: the group was taken away
    {"event": "renewed", "expires_at": ...}
    {"event": "superseded", "who": ...}                 answer to supersede
    {"event": "granted", "group": ...}                  answer to press: you talk
    {"event": "denied", "group": ..., "talker": "adam"} answer to press: adam holds it
    {"event": "talker", "group": ..., "talker": "dan" | null}   to every member, on change
    {"event": "error", "code": ..., "message": ..., "op"?: ..., "group"?: ...}

When a device's ticket expires without a renewal the router sends the error
``ticket_expired`` and closes the connection with ``CLOSE_TICKET_EXPIRED`` (4401).

Audio, a binary message: an 18-byte big-endian header, then the talker's name (router
-> device only), then the payload (20 ms of 8 kHz 16-bit little-endian mono PCM, 320
bytes, from ``tone``; any payload up to ``MAX_PAYLOAD_BYTES`` is carried)::

    offset size
    0      1    kind        0x01 (audio)
    1      1    talker_len  0 from a device; the router writes the UTF-8 length of the talker
    2      4    slot        the group's number, from the "joined" event
    6      4    seq         the sender's frame counter for that group (wraps at 2**32)
    10     8    sent_ns     the sender's CLOCK_MONOTONIC in ns when it sent the frame
    18     L    talker      router -> device: the floor holder's name, stamped by the router
    18+L   ...  payload
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Any

PROTOCOL = 1
PATH = "/media"

#: a control message (JSON text) larger than this is answered with "too_big" and ignored
MAX_CONTROL_BYTES = 1024
#: a ticket is at most this long; a message carrying one may be this much longer
MAX_TICKET_BYTES = 16 * 1024
#: audio payload per frame; larger frames are dropped, counted and answered with "too_big"
MAX_PAYLOAD_BYTES = 4096
#: aiohttp's hard limit per WebSocket message: beyond it the connection is closed (1009)
WS_MAX_MSG_SIZE = 64 * 1024
MAX_WHO_BYTES = 64
MAX_GROUPS_PER_CLIENT = 64
#: talk groups with at least one member, router-wide
MAX_GROUPS = 10_000
MAX_CLIENTS = 5_000

#: 20 ms of 8 kHz 16-bit mono: the frame every device sends
SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2

KIND_AUDIO = 0x01
HEADER = struct.Struct(">BBIIQ")  # kind, talker_len, slot, seq, sent_ns
HEADER_BYTES = HEADER.size
SEQ_MOD = 2**32

#: the WebSocket close code of a connection whose ticket expired
CLOSE_TICKET_EXPIRED = 4401

OPS = ("hello", "join", "leave", "press", "release", "renew", "supersede")
#: the ops that carry a ticket
TICKET_OPS = ("hello", "renew", "supersede")
#: a channel's or VTG's id is 32 hex digits; any short opaque id of these characters is accepted
GROUP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class ProtocolError(ValueError):
    """Bad input from a peer: ``code`` for programs, ``message`` for people."""

    def __init__(self, code: str, message: str, *, op: str | None = None, group: str | None = None):
        super().__init__(message)
        self.code, self.message, self.op, self.group = code, message, op, group

    def event(self) -> dict[str, Any]:
        ev: dict[str, Any] = {"event": "error", "code": self.code, "message": self.message}
        if self.op:
            ev["op"] = self.op
        if self.group:
            ev["group"] = self.group
        return ev


@dataclass(frozen=True, slots=True)
class Control:
    op: str
    who: str | None = None
    group: str | None = None
    ticket: Any = None  # checked by the router, which holds the key

    @property
    def group_id(self) -> str:
        """The group of a group op (join, leave, press, release): ``parse_control``
        reads and validates one for each of them."""
        if self.group is None:
            raise ProtocolError("bad_field", '"group" is missing', op=self.op)
        return self.group


def limits() -> dict[str, int]:
    """What the welcome event tells a device about the limits."""
    return {
        "max_control_bytes": MAX_CONTROL_BYTES,
        "max_payload_bytes": MAX_PAYLOAD_BYTES,
        "max_message_bytes": WS_MAX_MSG_SIZE,
        "max_who_bytes": MAX_WHO_BYTES,
        "max_ticket_bytes": MAX_TICKET_BYTES,
        "max_groups_per_client": MAX_GROUPS_PER_CLIENT,
    }


def parse_control(text: str) -> Control:
    size = len(text.encode("utf-8", "surrogatepass"))
    too_big = ProtocolError(
        "too_big",
        f"control messages are at most {MAX_CONTROL_BYTES} bytes "
        f"({MAX_TICKET_BYTES} more with a ticket: {', '.join(TICKET_OPS)})",
    )
    if size > MAX_CONTROL_BYTES + MAX_TICKET_BYTES:
        raise too_big
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        if size > MAX_CONTROL_BYTES:
            raise too_big from None
        raise ProtocolError("bad_json", f"not JSON: {str(exc)[:100]}") from None
    if size > MAX_CONTROL_BYTES and not (isinstance(msg, dict) and msg.get("op") in TICKET_OPS):
        raise too_big
    if not isinstance(msg, dict):
        raise ProtocolError("bad_message", 'a control message is a JSON object with an "op"')
    op = msg.get("op")
    if not isinstance(op, str):
        raise ProtocolError("bad_field", '"op" must be a string: one of ' + ", ".join(OPS))
    if op not in OPS:
        raise ProtocolError("unknown_op", f"unknown op {op[:32]!r}: expected one of " + ", ".join(OPS))
    if op == "hello":
        proto = msg.get("protocol", PROTOCOL)
        if proto != PROTOCOL or isinstance(proto, bool):
            raise ProtocolError("bad_protocol", f"this router speaks protocol {PROTOCOL}", op=op)
        who = msg.get("who")
        return Control(op, who=None if who is None else validate_who(who, op), ticket=msg.get("ticket"))
    if op in TICKET_OPS:
        return Control(op, ticket=msg.get("ticket"))
    return Control(op, group=validate_group(msg.get("group"), op))


def validate_who(who: Any, op: str | None = "hello") -> str:
    if not isinstance(who, str) or not who:
        raise ProtocolError("bad_field", '"who" must be a non-empty string: the name listeners see', op=op)
    if len(who.encode("utf-8", "surrogatepass")) > MAX_WHO_BYTES:
        raise ProtocolError("bad_field", f'"who" is at most {MAX_WHO_BYTES} bytes of UTF-8', op=op)
    if not who.isprintable() or who != who.strip():
        raise ProtocolError("bad_field", '"who" must be printable, without leading or trailing spaces', op=op)
    try:
        who.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError("bad_field", '"who" must be valid Unicode', op=op) from None
    return who


def validate_group(group: Any, op: str | None = None) -> str:
    if not isinstance(group, str):
        raise ProtocolError("bad_field", "\"group\" must be a string: the channel's or VTG's id", op=op)
    if not GROUP_ID.fullmatch(group):
        raise ProtocolError(
            "bad_field", "\"group\" must be 1-64 letters, digits or _.:- (a channel's or VTG's id)", op=op
        )
    return group


def encode_event(event: str, **fields: Any) -> str:
    return json.dumps({"event": event, **fields}, separators=(",", ":"))


def encode_control(op: str, **fields: Any) -> str:
    return json.dumps({"op": op, **fields}, separators=(",", ":"))


def parse_event(text: str) -> dict[str, Any]:
    """An event from the router, for the client: a JSON object with a string "event"."""
    msg = json.loads(text)
    if not isinstance(msg, dict) or not isinstance(msg.get("event"), str):
        raise ValueError("not a router event")  # bad input, as json.loads raises
    return msg


# ----------------------------------------------------------------------- audio frames
def encode_audio(slot: int, seq: int, sent_ns: int, payload: bytes) -> bytes:
    """A device's audio frame (no talker: the router stamps it)."""
    return HEADER.pack(KIND_AUDIO, 0, slot, seq % SEQ_MOD, sent_ns) + payload


def check_audio(data: bytes) -> int:
    """The slot of a device's audio frame, after checking its header and size."""
    if len(data) < HEADER_BYTES:
        raise ProtocolError("bad_frame", f"an audio frame starts with a {HEADER_BYTES}-byte header")
    kind, talker_len, slot, _seq, _sent = HEADER.unpack_from(data)
    if kind != KIND_AUDIO:
        raise ProtocolError("bad_frame", f"unknown binary kind {kind}: audio is {KIND_AUDIO}")
    if talker_len != 0:
        raise ProtocolError("bad_frame", "talker_len must be 0: the router stamps the talker")
    if len(data) - HEADER_BYTES > MAX_PAYLOAD_BYTES:
        raise ProtocolError("too_big", f"audio payloads are at most {MAX_PAYLOAD_BYTES} bytes")
    return slot


def stamp_talker(data: bytes, talker: bytes) -> bytes:
    """The router's copy of a checked device frame, with the floor holder's name in it:
    built once and sent to every listener."""
    return b"".join((data[:1], bytes((len(talker),)), data[2:HEADER_BYTES], talker, data[HEADER_BYTES:]))


@dataclass(frozen=True, slots=True)
class AudioFrame:
    slot: int
    seq: int
    sent_ns: int
    talker: str
    payload: bytes


def decode_audio(data: bytes) -> AudioFrame:
    """An audio frame from the router (with the talker)."""
    if len(data) < HEADER_BYTES:
        raise ValueError("audio frame shorter than its header")
    kind, talker_len, slot, seq, sent_ns = HEADER.unpack_from(data)
    if kind != KIND_AUDIO or len(data) < HEADER_BYTES + talker_len:
        raise ValueError("not an audio frame")
    end = HEADER_BYTES + talker_len
    return AudioFrame(slot, seq, sent_ns, data[HEADER_BYTES:end].decode("utf-8", "replace"), data[end:])
