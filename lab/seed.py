"""Demo data for the lab: the people of the chapter's example, channels, VTGs, an incident."""

from __future__ import annotations

import secrets
import struct
import zlib

from ipics_server.adapters.httpclient import ApiClient

DEMO_USERS = [
    # (user name, role, full name) -- Dan, Adam, Ursula and Amy are the chapter's example
    ("dan", "dispatcher", "Dan (dispatcher)"),
    ("adam", "operator", "Adam (administrator)"),
    ("ursula", "dispatcher", "Ursula (dispatcher)"),
    ("amy", "dispatcher", "Amy (dispatcher)"),
    ("fred", "user", "Fred (field responder)"),
]
DEMO_CHANNELS = ["Fire", "Police", "EMS", "Public Works"]
#: the Dial Login user IDs of the IP phone service and the dial engine
DEMO_DIAL_IDS = {"dan": "1001", "adam": "1002", "ursula": "1003", "amy": "1004", "fred": "1005"}


class SeedError(RuntimeError):
    pass


async def seed_demo_data(client: ApiClient, user_password: str, pin: str | None = None) -> dict:
    """Create the demo data through the client API of the active server.  Every demo
    user gets a Dial Login (``DEMO_DIAL_IDS``) with ``pin`` (random if not given)."""
    pin = pin or f"{secrets.randbelow(10**6):06d}"

    async def post(path: str, body: dict) -> dict:
        reply = await client.post(path, body)
        if reply.status != 201:
            raise SeedError(f"POST {path} failed: {reply.body}")
        return reply.body

    for username, role, full_name in DEMO_USERS:
        await post(
            "/api/v1/users", {"username": username, "password": user_password, "role": role, "full_name": full_name}
        )
    for username, dial_id in DEMO_DIAL_IDS.items():
        reply = await client.put(f"/api/v1/users/{username}/dial-login", {"user_id": dial_id, "pin": pin})
        if not reply.ok:
            raise SeedError(f"dial login of {username} failed: {reply.body}")
    channels = {name: await post("/api/v1/channels", {"name": name}) for name in DEMO_CHANNELS}
    for username, names in {
        "dan": ["Fire", "Police", "EMS"],
        "ursula": ["Police"],
        "amy": ["EMS"],
        "fred": ["Fire"],
    }.items():
        for name in names:
            await post(f"/api/v1/channels/{channels[name]['id']}/assignments", {"username": username})
    await post(
        "/api/v1/vtgs",
        {
            "name": "Downtown Response",
            "channels": [channels["Fire"]["id"], channels["Police"]["id"]],
            "members": ["dan", "ursula", "fred"],
        },
    )
    await post("/api/v1/vtgs", {"name": "Mutual Aid", "channels": [channels["EMS"]["id"]], "members": ["dan", "amy"]})
    incident = await post(
        "/api/v1/incidents",
        {
            "name": "Warehouse fire, 5th Street",
            "description": "Two-alarm fire; crews on scene",
            "participants": ["dan", "ursula", "fred"],
        },
    )
    reply = await client.post(
        f"/api/v1/incidents/{incident['id']}/files?name=scene.png",
        data=demo_photo_png(),
        headers={"Content-Type": "image/png"},
    )
    if reply.status != 201:
        raise SeedError(f"photo upload failed: {reply.body}")
    return {
        "channels": {n: c["id"] for n, c in channels.items()},
        "incident": incident["id"],
        "photo": reply.body["id"],
        "dial_ids": dict(DEMO_DIAL_IDS),
        "pin": pin,
    }


def demo_photo_png(width: int = 160, height: int = 120) -> bytes:
    """A small generated "scene photo" (smoke over a skyline at dusk), as a real PNG:
    the demo incident needs a photo, and the lab ships no image files."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            skyline = height * 0.62 - (18 if (x // 20) % 3 == 0 else 8 if (x // 20) % 3 == 1 else 26)
            if y > skyline:
                r, g, b = 40, 40, 52  # buildings
            else:
                t = y / height
                r, g, b = int(250 - 90 * t), int(150 - 60 * t), int(60 + 40 * t)  # orange sky
                smoke = max(0.0, 1 - abs(x - width * 0.6 - (height - y) * 0.3) / 22)
                r, g, b = (int(c * (1 - smoke) + 90 * smoke) for c in (r, g, b))
            row += bytes((r, g, b))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )
