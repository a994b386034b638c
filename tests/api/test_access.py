"""What each IPICS role may see and do: every cell of docs/server.md's table, checked
against a real server (issue 14, item 20).

One user of each role.  The system administrator seeds, for each kind of record, one
that is the users' own ("mine": a channel assigned to all four, a VTG they are all
members of, an incident they all take part in, a file in it) and one that is nobody's
("theirs").  Each probe does what the row says as that role and names what it saw
in the table's words: ``all`` (both), ``his`` (only "mine"), ``yes``, ``no``...
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipics_server.adapters.httpclient import ApiClient

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("system administrator", "operator", "dispatcher", "user")
PASSWORD = "access-pass-1"
JPEG = {"Content-Type": "image/jpeg"}


def documented_table() -> dict[str, dict[str, str]]:
    """docs/server.md, "Users and what they may see": row -> role -> cell."""
    text = (ROOT / "docs/server.md").read_text()
    section = text.split("## Users and what they may see", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["what", "API", *ROLES], header
    table = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = dict(zip(ROLES, cells[2:], strict=True))
    return table


@dataclass
class World:
    url: str
    tokens: dict[str, str]  # role -> token of that role's user
    usernames: dict[str, str]  # role -> user name
    mine: dict[str, str]  # kind -> id of the record every role's user has
    theirs: dict[str, str]  # kind -> id of nobody's record
    files: dict[str, str]  # "mine"/"theirs" -> file id in that incident

    def client(self, role: str) -> ApiClient:
        return ApiClient(self.url, token=self.tokens[role], timeout_s=10)


@pytest.fixture(scope="module")
def world(live_server) -> World:
    async def seed() -> World:
        usernames = {role: f"{role.split()[-1][:5]}-{secrets.token_hex(3)}" for role in ROLES}
        mine, theirs, files = {}, {}, {}
        async with live_server.admin() as c:
            for role, name in usernames.items():
                reply = await c.post(
                    "/api/v1/users", {"username": name, "password": PASSWORD, "role": role.replace(" ", "_")}
                )
                assert reply.status == 201, reply.body
            members = list(usernames.values())
            for which, people in (("mine", members), ("theirs", [])):
                ids = mine if which == "mine" else theirs
                channel = await c.post("/api/v1/channels", {"name": f"access-{which}"})
                ids["channel"] = channel["id"]
                for name in people:
                    assert (
                        await c.post(f"/api/v1/channels/{channel['id']}/assignments", {"username": name})
                    ).status == 201
                ids["vtg"] = (await c.post("/api/v1/vtgs", {"name": f"access-{which}", "members": people}))["id"]
                ids["incident"] = (
                    await c.post("/api/v1/incidents", {"name": f"access-{which}", "participants": people})
                )["id"]
                upload = await c.request(
                    "POST",
                    f"/api/v1/incidents/{ids['incident']}/files?name={which}.jpg",
                    data=b"\xff\xd8" + which.encode(),
                    headers=JPEG,
                )
                assert upload.status == 201, upload.body
                files[which] = upload["id"]
        tokens = {role: await live_server.login(name, PASSWORD) for role, name in usernames.items()}
        return World(live_server.url, tokens, usernames, mine, theirs, files)

    return asyncio.run(seed())


def _seen(world: World, kind: str, ids: set[str]) -> str:
    """ "all", "his" or "none" from the ids a listing holds."""
    has = (world.mine[kind] in ids, world.theirs[kind] in ids)
    return {(True, True): "all", (True, False): "his", (False, False): "none"}.get(has, f"only theirs {has}")


def _allowed(*statuses: int) -> str:
    """ "yes" if every call was done, "no" if every one was refused as forbidden."""
    if all(200 <= s < 300 for s in statuses):
        return "yes"
    return "no" if all(s == 403 for s in statuses) else f"mixed {statuses}"


Probe = Callable[[World, str, ApiClient], Awaitable[str]]


async def list_channels(w: World, role: str, c: ApiClient) -> str:
    return _seen(w, "channel", {ch["id"] for ch in (await c.get("/api/v1/channels"))["channels"]})


async def manage_channels(w: World, role: str, c: ApiClient) -> str:
    made = await c.post("/api/v1/channels", {"name": f"made by {w.usernames[role]}"})
    if made.status != 201:
        # Refused to create: is the rest refused too (on a channel that exists)?
        made_id = w.theirs["channel"]
        return _allowed(
            made.status,
            *[
                (await c.post(f"/api/v1/channels/{made_id}/assignments", {"username": w.usernames["user"]})).status,
                (await c.delete(f"/api/v1/channels/{w.mine['channel']}/assignments/{w.usernames['user']}")).status,
                (await c.delete(f"/api/v1/channels/{made_id}")).status,
            ],
        )
    path = f"/api/v1/channels/{made['id']}"
    return _allowed(
        made.status,
        (await c.post(f"{path}/assignments", {"username": w.usernames["user"]})).status,
        (await c.delete(f"{path}/assignments/{w.usernames['user']}")).status,
        (await c.delete(path)).status,
    )


async def list_assignments(w: World, role: str, c: ApiClient) -> str:
    reply = await c.get("/api/v1/assignments")
    if reply.status == 403:
        return "no"
    holders = {a["username"] for a in reply["assignments"] if a["channel_id"] == w.mine["channel"]}
    return {frozenset(w.usernames.values()): "all", frozenset({w.usernames[role]}): "his"}.get(
        frozenset(holders), f"holders {holders}"
    )


async def list_users(w: World, role: str, c: ApiClient) -> str:
    reply = await c.get("/api/v1/users")
    return (
        _allowed(reply.status)
        if reply.status != 200 or set(w.usernames.values()) <= {u["username"] for u in reply["users"]}
        else "incomplete"
    )


async def create_users(w: World, role: str, c: ApiClient) -> str:
    tag = secrets.token_hex(3)
    made = {
        r: (await c.post("/api/v1/users", {"username": f"new-{r}-{tag}", "password": PASSWORD, "role": r})).status
        for r in ("user", "dispatcher", "operator", "system_administrator")
    }
    if all(s == 201 for s in made.values()):
        return "any role"
    if made.pop("system_administrator") == 403 and all(s == 201 for s in made.values()):
        return "not a system administrator"
    return _allowed(*made.values())


async def set_dial_login(w: World, role: str, c: ApiClient) -> str:
    dial_id = str(9000 + ROLES.index(role))
    reply = await c.put(f"/api/v1/users/{w.usernames[role]}/dial-login", {"user_id": dial_id, "pin": "4321"})
    return _allowed(reply.status)


async def list_vtgs(w: World, role: str, c: ApiClient) -> str:
    return _seen(w, "vtg", {v["id"] for v in (await c.get("/api/v1/vtgs"))["vtgs"]})


async def manage_vtgs(w: World, role: str, c: ApiClient) -> str:
    made = await c.post("/api/v1/vtgs", {"name": f"made by {w.usernames[role]}"})
    dialled = await c.post(f"/api/v1/vtgs/{w.mine['vtg']}/dial-out", {"number": "5550000"})
    return _allowed(made.status, dialled.status)


async def read_incidents(w: World, role: str, c: ApiClient) -> str:
    listed = _seen(w, "incident", {i["id"] for i in (await c.get("/api/v1/incidents"))["incidents"]})
    read = {
        (await c.get(f"/api/v1/incidents/{w.mine['incident']}")).status,
        (await c.get(f"/api/v1/incidents/{w.theirs['incident']}")).status,
    }
    expected_reads = {"all": {200}, "his": {200, 404}}.get(listed)
    return listed if read == expected_reads else f"listed {listed}, read {read}"


async def manage_incidents(w: World, role: str, c: ApiClient) -> str:
    made = await c.post("/api/v1/incidents", {"name": f"made by {w.usernames[role]}"})
    # Everyone stays a participant: the other probes rely on it.
    participants = await c.put(
        f"/api/v1/incidents/{w.mine['incident']}/participants", {"participants": list(w.usernames.values())}
    )
    return _allowed(made.status, participants.status)


async def incident_files(w: World, role: str, c: ApiClient) -> str:
    done = set()
    for which in ("mine", "theirs"):
        incident = (w.mine if which == "mine" else w.theirs)["incident"]
        path = f"/api/v1/incidents/{incident}/files"
        statuses = {
            (await c.request("POST", f"{path}?name=by-{role.split()[-1]}.jpg", data=b"\xff\xd8x", headers=JPEG)).status,
            (await c.get(f"{path}/{w.files[which]}", binary=True)).status,
        }
        if statuses == {201, 200}:
            done.add(incident)
        elif statuses != {404}:
            return f"{which}: {statuses}"
    return _seen(w, "incident", done)


async def administer(w: World, role: str, c: ApiClient) -> str:
    return _allowed((await c.get("/api/v1/ha/config")).status, (await c.get("/api/v1/licenses")).status)


PROBES: dict[str, Probe] = {
    "list channels": list_channels,
    "create, delete and assign channels": manage_channels,
    "list who has which channel": list_assignments,
    "list users": list_users,
    "create users": create_users,
    "set a Dial Login": set_dial_login,
    "list VTGs": list_vtgs,
    "create VTGs, invite dial-out participants": manage_vtgs,
    "list and read incidents": read_incidents,
    "create incidents, set their participants": manage_incidents,
    "upload to incidents, download their files": incident_files,
    "HA, licenses, NTP, lab faults": administer,
}


def test_every_row_of_the_table_has_a_probe():
    assert set(documented_table()) == set(PROBES)


@pytest.mark.parametrize("row", list(PROBES))
async def test_each_role_may_do_what_the_table_says(world: World, row: str):
    documented = documented_table()[row]
    seen = {}
    for role in ROLES:
        async with world.client(role) as c:
            seen[role] = await PROBES[row](world, role, c)
    assert seen == documented, row
