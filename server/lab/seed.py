"""Demo data for the lab: the people of the chapter's example, channels, VTGs, an incident."""

from __future__ import annotations

from ..adapters.httpclient import ApiClient

DEMO_USERS = [
    # (user name, role, full name) -- Dan, Adam, Ursula and Amy are the chapter's example
    ("dan", "dispatcher", "Dan (dispatcher)"),
    ("adam", "operator", "Adam (administrator)"),
    ("ursula", "dispatcher", "Ursula (dispatcher)"),
    ("amy", "dispatcher", "Amy (dispatcher)"),
    ("fred", "user", "Fred (field responder)"),
]
DEMO_CHANNELS = ["Fire", "Police", "EMS", "Public Works"]


class SeedError(RuntimeError):
    pass


async def seed_demo_data(client: ApiClient, user_password: str) -> dict:
    """Create the demo data through the client API of the active server."""

    async def post(path: str, body: dict) -> dict:
        reply = await client.post(path, body)
        if reply.status != 201:
            raise SeedError(f"POST {path} failed: {reply.body}")
        return reply.body

    for username, role, full_name in DEMO_USERS:
        await post("/api/v1/users", {"username": username, "password": user_password, "role": role,
                                     "full_name": full_name})
    channels = {name: await post("/api/v1/channels", {"name": name}) for name in DEMO_CHANNELS}
    for username, names in {"dan": ["Fire", "Police", "EMS"], "ursula": ["Police"], "amy": ["EMS"],
                            "fred": ["Fire"]}.items():
        for name in names:
            await post(f"/api/v1/channels/{channels[name]['id']}/assignments", {"username": username})
    await post("/api/v1/vtgs", {"name": "Downtown Response", "channels": [channels["Fire"]["id"],
               channels["Police"]["id"]], "members": ["dan", "ursula", "fred"]})
    await post("/api/v1/vtgs", {"name": "Mutual Aid", "channels": [channels["EMS"]["id"]],
                                "members": ["dan", "amy"]})
    incident = await post("/api/v1/incidents", {"name": "Warehouse fire, 5th Street",
                                                "description": "Two-alarm fire; crews on scene",
                                                "participants": ["dan", "ursula", "fred"]})
    return {"channels": {n: c["id"] for n, c in channels.items()}, "incident": incident["id"]}
