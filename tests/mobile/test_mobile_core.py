"""The mobile client's core against a real pair (no widgets): login, the user's
incidents, photo upload, the automatic switch to the new active, and the uploads a
failover lost, reported and uploaded again."""

from __future__ import annotations

import asyncio
import os
import signal
from types import SimpleNamespace

import pytest

from ipics_clients.known_servers import KnownServers
from ipics_clients.mobile import MAX_UPLOAD_BYTES, MediaError, MobileClient
from ipics_clients.session import (
    ConsoleSession,
    LoginError,
    State,
    UploadError,
    UploadInterrupted,
    offline_deadline_s,
)
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.seed import demo_photo_png, seed_demo_data
from ipics_lab.supervisor import LabPair, wait_until

from ..pair.conftest import (  # noqa: F401
    INTERVAL_S,
    MISSED,
    TAKEOVER_DEADLINE_S,
    TIME_SCALE,
    lab,
    pair,
)
from ..recording_clock import RecordingClock

USER_PASSWORD = "Demo-Pass-2026"
WAREHOUSE = "Warehouse fire, 5th Street"
#: emulated seconds before the standby fetches an upload's content: 1000 real seconds
#: here, so records replicate at once and no file content does during a test
NEVER_S = "100000"


async def seeded(ha: LabPair) -> SimpleNamespace:
    async with await ha.admin(ha.primary) as admin:
        data = await seed_demo_data(admin, USER_PASSWORD)
    await ha.wait_ready()
    return SimpleNamespace(pair=ha, seeded=data, password=USER_PASSWORD)


@pytest.fixture
async def demo(pair):  # noqa: F811
    return await seeded(pair)


@pytest.fixture
@starts_processes
async def slow_files(tmp_path):
    """The demo ha, its standby fetching uploaded files' content only after NEVER_S:
    the lower priority of files, made deterministic."""
    slow = LabPair(tmp_path / "slow-files", time_scale=TIME_SCALE, secondary_args=["--file-replication-delay", NEVER_S])
    try:
        await slow.up(INTERVAL_S, MISSED)
        yield await seeded(slow)
    finally:
        slow.stop()


@pytest.fixture
async def open_mobile(tmp_path):
    """``open_mobile(profile, servers)``: a mobile client with its own profile folder."""
    opened: list[MobileClient] = []

    def make(profile: str = "fred", servers: list[str] = ()) -> MobileClient:
        folder = tmp_path / "profiles" / profile
        known = KnownServers.load(folder / "servers.json")
        for url in servers:
            known.add(url)
        client = MobileClient(ConsoleSession(known, clock=RecordingClock(TIME_SCALE)), folder)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()


def names(items) -> list[str]:
    return [i["name"] for i in items]


def kinds(client) -> list[str]:
    return [n.kind for n in client.notices]


def warehouse(client) -> dict:
    return next(i for i in client.incidents() if i["name"] == WAREHOUSE)


def online_on(client, server):
    return lambda: client.session.state == State.ONLINE and client.session.server == server.url


# ------------------------------------------------------------------ login, incidents
async def test_login_through_the_standby_lists_only_the_users_incidents(demo, open_mobile):
    ha = demo.pair
    async with await ha.admin(ha.primary) as admin:
        await admin.post("/api/v1/incidents", {"name": "Flooded underpass", "participants": ["amy"]})
    fred = open_mobile("fred", [ha.secondary.url])
    await fred.login(ha.secondary.url, "fred", demo.password)  # the standby: redirected
    assert fred.session.server == ha.primary.url and "redirected" in kinds(fred)
    assert names(fred.incidents()) == [WAREHOUSE]

    # A dispatcher's server listing has every incident; the phone shows hers only.
    amy = open_mobile("amy", [ha.primary.url])
    await amy.login(ha.primary.url, "amy", demo.password)
    assert len(amy.session.config.incidents) == 2 and names(amy.incidents()) == ["Flooded underpass"]
    assert amy.missing == [] and "missing" not in kinds(amy)


async def test_an_incident_fred_is_taken_off_leaves_his_phone_at_once(demo, open_mobile):
    """Pushed: a dispatcher adds Fred to an incident, then takes him off it again."""
    ha = demo.pair
    fred = open_mobile("fred", [ha.primary.url])
    await fred.login(ha.primary.url, "fred", demo.password)
    async with ha.primary.client(await ha.login(ha.primary, "dan", demo.password)) as dan:
        incident = await dan.post("/api/v1/incidents", {"name": "Gas leak", "participants": ["fred", "dan"]})
        await wait_until(lambda: "Gas leak" in names(fred.incidents()), 10, "the incident on Fred's phone")
        assert (await dan.put(f"/api/v1/incidents/{incident['id']}/participants", {"participants": ["dan"]})).ok
    await wait_until(lambda: names(fred.incidents()) == [WAREHOUSE], 10, "the incident to leave Fred's phone")
    assert fred.session.state == State.ONLINE
    with pytest.raises(UploadError, match="not one of yours"):
        await fred.upload(incident["id"], "late.png", demo_photo_png(16, 12))


async def test_a_wrong_password_says_so_and_the_client_keeps_working(demo, open_mobile):
    fred = open_mobile("fred", [demo.pair.primary.url])
    with pytest.raises(LoginError, match="wrong user name or password"):
        await fred.login(demo.pair.primary.url, "fred", "not-" + demo.password)
    assert fred.session.state == State.LOGGED_OUT
    await fred.login(demo.pair.primary.url, "fred", demo.password)
    assert names(fred.incidents()) == [WAREHOUSE]


# ------------------------------------------------------------------------ uploads
async def test_an_uploaded_photo_is_listed_and_can_be_downloaded(demo, open_mobile):
    fred = open_mobile("fred", [demo.pair.primary.url])
    await fred.login(demo.pair.primary.url, "fred", demo.password)
    photo = demo_photo_png(64, 48)
    upload = await fred.upload(warehouse(fred)["id"], "hydrant.png", photo, "photo")
    listed = {f["name"]: f for f in fred.files(warehouse(fred))}
    assert listed["hydrant.png"]["available"] and listed["hydrant.png"]["uploaded_by"] == "fred"
    assert listed["hydrant.png"]["content_type"] == "image/png"
    assert await fred.session.file_content(upload.incident_id, upload.file_id) == photo
    assert kinds(fred)[-1] == "uploaded" and fred.missing == []


async def test_bad_files_are_refused_with_a_clear_message_and_the_client_keeps_working(demo, open_mobile, tmp_path):
    fred = open_mobile("fred", [demo.pair.primary.url])
    await fred.login(demo.pair.primary.url, "fred", demo.password)
    incident = warehouse(fred)["id"]
    too_big = b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES)
    with pytest.raises(MediaError, match=r"big\.jpg is 20\.0 MB: the largest photo or video .* is 20\.0 MB"):
        await fred.upload(incident, "big.jpg", too_big)
    huge = tmp_path / "long.mp4"
    with huge.open("wb") as f:
        f.truncate(3 * MAX_UPLOAD_BYTES)  # sparse: refused by its size before it is read
    with pytest.raises(MediaError, match=r"long\.mp4 is 60\.0 MB"):
        await fred.upload_path(incident, huge, "video")
    with pytest.raises(MediaError, match=r"notes\.txt is not a photo or video .*JPEG, PNG.*MP4"):
        await fred.upload(incident, "notes.txt", b"hello")
    with pytest.raises(MediaError, match=r"scene\.jpg is not a JPEG photo"):
        await fred.upload(incident, "scene.jpg", demo_photo_png())  # a PNG under another name
    with pytest.raises(MediaError, match=r"clip\.mp4 is a video, not a photo: use Upload video"):
        await fred.upload(incident, "clip.mp4", b"\0\0\0\x18ftypmp42", "photo")
    with pytest.raises(MediaError, match=r"empty\.png is empty"):
        await fred.upload(incident, "empty.png", b"")
    with pytest.raises(MediaError, match="must not contain a path"):
        await fred.upload(incident, "../x.png", demo_photo_png())
    with pytest.raises(UploadError, match="not one of yours"):
        await fred.upload("0" * 32, "x.png", demo_photo_png())
    assert fred.uploads == [] and not list((fred.store.directory).glob("*.bin"))

    video = b"\0\0\0\x18ftypmp42" + bytes(2048)
    await fred.upload(incident, "clip.mp4", video, "video")  # still works
    assert "clip.mp4" in names(fred.files(warehouse(fred)))


# ----------------------------------------------------------------------- failover
async def test_the_client_switches_to_the_new_active_by_itself(demo, open_mobile):
    ha = demo.pair
    fred = open_mobile("fred", [ha.primary.url, ha.secondary.url])
    await fred.login(ha.primary.url, "fred", demo.password)
    upload = await fred.upload(warehouse(fred)["id"], "early.png", demo_photo_png(16, 12))
    await wait_until(lambda: (ha.secondary.data_dir / "files" / upload.file_id).exists(), 10, "the photo to replicate")

    ha.primary.kill()  # kill -9 of the active
    await wait_until(lambda: fred.session.state == State.OFFLINE, 10, "the client offline")
    assert names(fred.incidents()) == [WAREHOUSE]  # the last listing stays on screen
    await wait_until(online_on(fred, ha.secondary), TAKEOVER_DEADLINE_S + 5, "the switch to the new active")
    assert kinds(fred)[-1] == "reconnected"
    assert names(fred.incidents()) == [WAREHOUSE]
    assert fred.missing == [] and "missing" not in kinds(fred)
    # The new active lists the photo as available: it replicated, the copy is dropped.
    assert upload.settled and not upload.kept and not list(fred.store.directory.glob("*.bin"))
    # Its audit trail says a mobile client came back by itself (not a console: an exercise tells them apart).
    async with await ha.admin(ha.secondary) as admin:
        trail = (await admin.get("/api/v1/ha/audit")).body["actions"]
    back = [(a["action"], a["user"], a["result"]) for a in trail if a["action"] == "reconnect"]
    assert back == [("reconnect", "fred", "mobile client reconnected by itself (active)")], trail


async def test_an_upload_whose_file_did_not_replicate_is_reported_and_uploaded_again(slow_files, open_mobile):
    ha = slow_files.pair
    fred = open_mobile("fred", [ha.primary.url, ha.secondary.url])
    await fred.login(ha.primary.url, "fred", slow_files.password)
    photo = demo_photo_png(80, 60)
    upload = await fred.upload(warehouse(fred)["id"], "just-before.png", photo, "photo")
    # Its record reaches the standby; its content, at the lower priority, does not.
    await ha.wait_replicated(what="the upload's record on the standby")
    assert not (ha.secondary.data_dir / "files" / upload.file_id).exists()

    ha.primary.kill()
    await wait_until(online_on(fred, ha.secondary), TAKEOVER_DEADLINE_S + 5, "the switch to the new active")
    assert fred.missing == [upload]
    assert upload.problem == f"not on {ha.secondary.url}: it did not replicate before the failover"
    assert kinds(fred)[-2:] == ["reconnected", "missing"]
    assert "just-before.png" in fred.notices[-1].text
    assert await fred.session.file_content(upload.incident_id, upload.file_id) is None  # 404 file_missing
    old_id = upload.file_id

    await fred.upload_again(upload)
    # The same file record, its content restored: available again for everyone.
    assert fred.missing == [] and upload.file_id == old_id and upload.server == ha.secondary.url
    listed = [f for f in fred.files(warehouse(fred)) if f["name"] == "just-before.png"]
    assert [(f["id"], f["available"]) for f in listed] == [(upload.file_id, True)]
    assert await fred.session.file_content(upload.incident_id, upload.file_id) == photo
    dan = await ha.login(ha.secondary, "dan", slow_files.password)
    async with ha.secondary.client(dan) as c:
        reply = await c.get(f"/api/v1/incidents/{upload.incident_id}")
        assert [f["available"] for f in reply.body["files"] if f["id"] == old_id] == [True]
        # Only the same content restores it.
        reply = await c.put(f"/api/v1/incidents/{upload.incident_id}/files/{old_id}", data=b"other bytes")
        assert reply.status == 409 and "checksum" in reply.body["message"]


async def test_an_upload_lost_with_its_record_is_reported_after_the_switch(demo, open_mobile):
    ha = demo.pair
    fred = open_mobile("fred", [ha.primary.url, ha.secondary.url])
    await fred.login(ha.primary.url, "fred", demo.password)
    await ha.wait_replicated(what="Fred's session on the standby")
    await ha.fault(ha.primary, fault="cut-link", direction="outbound")  # nothing ships any more
    upload = await fred.upload(warehouse(fred)["id"], "lost.png", demo_photo_png(32, 24))

    ha.primary.kill()
    await wait_until(online_on(fred, ha.secondary), TAKEOVER_DEADLINE_S + 5, "the switch to the new active")
    assert fred.missing == [upload] and "lost in the failover" in upload.problem
    assert "lost.png" not in names(fred.files(warehouse(fred)))
    await fred.upload_again(upload)
    assert fred.missing == [] and "lost.png" in names(fred.files(warehouse(fred)))


async def test_an_upload_cut_off_by_the_failover_is_listed_as_not_sent(demo, open_mobile):
    ha = demo.pair
    fred = open_mobile("fred", [ha.primary.url, ha.secondary.url])
    await fred.login(ha.primary.url, "fred", demo.password)
    await ha.wait_replicated(what="Fred's session on the standby")
    # The active goes silent while the photo is on its way, then dies.  The upload ends
    # when the events socket finds the server silent, not at UPLOAD_TIMEOUT_S (120 s).
    os.kill(ha.primary.pid, signal.SIGSTOP)
    try:
        async with asyncio.timeout(offline_deadline_s(fred.session.clock) + 1):
            with pytest.raises(UploadInterrupted, match="lost during the upload"):
                await fred.upload(warehouse(fred)["id"], "cut-off.png", demo_photo_png(24, 18))
    finally:
        ha.primary.kill()
    [upload] = fred.missing
    assert upload.name == "cut-off.png" and upload.file_id is None and upload.problem.startswith("not sent")

    await wait_until(online_on(fred, ha.secondary), TAKEOVER_DEADLINE_S + 5, "the switch to the new active")
    assert fred.missing == [upload] and "broke during the upload" in upload.problem
    await fred.upload_again(upload)
    assert fred.missing == [] and upload.kept and not upload.settled
    assert [f["available"] for f in fred.files(warehouse(fred)) if f["name"] == "cut-off.png"] == [True]


async def test_the_copies_outlive_the_app(slow_files, open_mobile):
    """The phone app closed during the outage: started again, it still reports the
    missing upload and still has the copy to send."""
    ha = slow_files.pair
    fred = open_mobile("fred", [ha.primary.url, ha.secondary.url])
    await fred.login(ha.primary.url, "fred", slow_files.password)
    incident = warehouse(fred)["id"]
    upload = await fred.upload(incident, "scene-2.png", demo_photo_png(40, 30))
    await ha.wait_replicated(what="the upload's record on the standby")
    copies = list(fred.store.directory.glob("*.bin"))
    assert len(copies) == 1 and copies[0].stat().st_mode & 0o777 == 0o600
    assert fred.store.directory.stat().st_mode & 0o777 == 0o700
    ha.primary.kill()
    await fred.close()
    await ha.wait_status(ha.secondary, TAKEOVER_DEADLINE_S, role="active")

    again = open_mobile("fred", [])  # the same profile: the selector still says primary is active
    await again.login(ha.primary.url, "fred", slow_files.password)  # the 5 s pause, then the secondary
    assert again.session.server == ha.secondary.url
    assert [u.name for u in again.missing] == ["scene-2.png"] and kinds(again)[-1] == "missing"
    await again.upload_again(again.missing[0])
    assert again.missing == [] and again.uploads[0].file_id == upload.file_id  # the same file, restored
    assert again.uploads[0].kept  # sent to this server now: kept against a later failover
