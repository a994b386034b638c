"""The mobile client's core: the incidents its user takes part in, photo and video
upload, and the uploads a failover lost.

Chapter, HA Affect On Connected Devices: "Mobile clients automatically switch to the
new active server."  The switch is the console session's (``ConsoleSession``: redirect
from the standby, the 5 s pause, offline mode, reconnect with no user action); this
module adds what the phone does on top of it.

Files replicate at a lower priority than records (``server/ha.py``, the standby's file
fetcher), so an upload made just before a failover can be listed on the new active with
``available: false``, or not listed at all when even its record did not replicate.
After every (re)connect the client compares the uploads it made with the server's
listing, reports the missing ones, and uploads them again from its own copy.

The copies live in a private folder of the profile (``<profile>/uploads``, mode 0700),
not in memory: a video may be 20 MB, and a phone app may be closed or killed during the
outage, yet the copy must still be there when the user taps Upload again.  A copy is
deleted once another server lists the file as available (it replicated); the folder
keeps at most ``KEEP_BYTES`` of copies, the oldest dropped first.

Qt-free: widgets observe ``notices`` through ``on_change``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ipics_clients.atomic import write_atomically
from ipics_clients.session import ConsoleSession, Notice, State, UploadError, UploadInterrupted
from ipics_server.adapters.files import FileNameError, check_file_name

log = logging.getLogger("ipics.mobile")

#: the server's default ``--max-upload-bytes``: refused here before sending 20 MB for nothing
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: copies kept for Upload again, in bytes, and upload entries remembered
KEEP_BYTES = 200 * 1024 * 1024
KEEP_ENTRIES = 500


# ------------------------------------------------------------------ photos and videos
class MediaError(ValueError):
    """Not a photo or video the client sends; the message says why, for the user."""


@dataclass(frozen=True)
class MediaType:
    content_type: str
    kind: str  # photo | video
    label: str
    extensions: tuple[str, ...]


MEDIA_TYPES = (
    MediaType("image/jpeg", "photo", "JPEG photo", (".jpg", ".jpeg")),
    MediaType("image/png", "photo", "PNG photo", (".png",)),
    MediaType("video/mp4", "video", "MP4 video", (".mp4", ".m4v")),
    MediaType("video/quicktime", "video", "QuickTime video", (".mov",)),
    MediaType("video/3gpp", "video", "3GP video", (".3gp",)),
)
KNOWN = "photos (JPEG, PNG) and videos (MP4, MOV, 3GP)"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def media_type(name: str) -> MediaType | None:
    suffix = Path(name).suffix.lower()
    return next((m for m in MEDIA_TYPES if suffix in m.extensions), None)


def _content_matches(m: MediaType, content: bytes) -> bool:
    """The file's first bytes, so a renamed document is not sent as a photo."""
    if m.content_type == "image/jpeg":
        return content[:3] == b"\xff\xd8\xff"
    if m.content_type == "image/png":
        return content[:8] == b"\x89PNG\r\n\x1a\n"
    # MP4, MOV and 3GP are ISO media files: a box size, then "ftyp" (old QuickTime
    # files may start with another box).
    return content[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def check_name(name: str, kind: str | None = None) -> MediaType:
    """The media type a file's name says; ``kind`` (photo or video) is what the user
    asked to upload."""
    try:
        check_file_name(name)
    except FileNameError as exc:
        raise MediaError(f"{name!r} cannot be uploaded: the {exc}") from None
    m = media_type(name)
    if m is None:
        raise MediaError(f"{name} is not a photo or video this client can send: it sends {KNOWN}")
    if kind is not None and m.kind != kind:
        raise MediaError(f"{name} is a {m.kind}, not a {kind}: use Upload {m.kind}")
    return m


def check_media(name: str, content: bytes, kind: str | None = None) -> MediaType:
    """The media type of a photo or video to upload; ``MediaError`` says what is wrong."""
    m = check_name(name, kind)
    check_size(name, len(content))
    if not _content_matches(m, content):
        raise MediaError(f"{name} is not a {m.label}: its content is something else")
    return m


def check_size(name: str, size: int) -> None:
    if size == 0:
        raise MediaError(f"{name} is empty")
    if size > MAX_UPLOAD_BYTES:
        raise MediaError(
            f"{name} is {megabytes(size)}: the largest photo or video the client sends is {megabytes(MAX_UPLOAD_BYTES)}"
        )


def read_media(path: Path) -> bytes:
    """A file's content, refusing a too-large one before reading it (blocking: run it in
    a thread)."""
    try:
        check_size(path.name, path.stat().st_size)
        return path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{path.name} cannot be read: {exc.strerror or exc}") from None


def dialog_filter(kind: str) -> str:
    """The file dialog's name filter for Upload photo or Upload video."""
    patterns = " ".join(f"*{e}" for m in MEDIA_TYPES if m.kind == kind for e in m.extensions)
    return f"{kind.capitalize()}s ({patterns})"


# ----------------------------------------------------------------------- uploads
@dataclass
class Upload:
    """One photo or video this client uploaded, and what became of it."""

    local_id: str
    username: str
    incident_id: str
    incident_name: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: float
    server: str | None = None  # where it was last sent
    file_id: str | None = None  # the server's id; None: the link broke before the answer
    previous_ids: list[str] = field(default_factory=list)  # missing copies it replaced
    kept: bool = True  # the local copy is still in the profile
    settled: bool = False  # another server listed it as available: it replicated
    problem: str | None = None  # why it is missing, when it is

    @property
    def kind(self) -> str:
        return "photo" if self.content_type.startswith("image/") else "video"


def _entry(raw: dict) -> Upload:
    """One index entry, checked: the file is ours, but a damaged one must not crash the app."""
    u = Upload(**{**raw, "problem": None})
    texts = (u.local_id, u.username, u.incident_id, u.incident_name, u.name, u.content_type, u.sha256)
    if not (
        all(isinstance(t, str) for t in texts)
        and isinstance(u.size, int)
        and isinstance(u.uploaded_at, (int, float))
        and isinstance(u.previous_ids, list)
    ):
        raise TypeError("an upload entry with a wrong field type")
    uuid.UUID(hex=u.local_id)  # our own ids only: never a path from the file
    return u


class UploadStore:
    """The profile's ``uploads`` folder: an index and one private file per copy."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.index = directory / "index.json"

    def load(self) -> list[Upload]:
        try:
            raw = json.loads(self.index.read_text())
            return [_entry(e) for e in raw["uploads"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: start again, say so
            log.warning("ignored the damaged upload index %s: %s", self.index, exc)
            return []

    def save(self, uploads: list[Upload]) -> None:
        entries = [{k: v for k, v in asdict(u).items() if k != "problem"} for u in uploads]
        write_atomically(self.index, json.dumps({"uploads": entries}, indent=1))

    def _path(self, local_id: str) -> Path:
        return self.directory / f"{uuid.UUID(hex=local_id).hex}.bin"  # our own ids only

    async def keep(self, local_id: str, content: bytes) -> None:
        await asyncio.to_thread(write_atomically, self._path(local_id), content)

    async def content(self, local_id: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(local_id).read_bytes)
        except OSError:
            return None

    def drop(self, local_id: str) -> None:
        self._path(local_id).unlink(missing_ok=True)


# ------------------------------------------------------------------------ client
class MobileClient:
    """A mobile client over one ``ConsoleSession``.

    Notices (``on_change(client, notice)``): the session's (online, offline,
    reconnected, redirected, paused, error, logged-out) and its own: ``missing`` (after
    a (re)connect, uploads this server lacks), ``uploaded``, ``uploaded-again``.
    """

    def __init__(
        self,
        session: ConsoleSession,
        profile_dir: Path,
        *,
        on_change: Callable[[MobileClient, Notice | None], None] | None = None,
    ):
        self.session = session
        session.client_kind = "mobile"  # its reconnects are a mobile client's in the audit trail
        self.store = UploadStore(profile_dir / "uploads")
        self.on_change = on_change
        self.notices: list[Notice] = []
        self.missing: list[Upload] = []
        self._uploads = self.store.load()
        self._sending: set[str] = set()  # local ids being uploaded again: not compared meanwhile
        session.on_change = self._on_session_change

    # ------------------------------------------------------------- session
    async def login(self, address: str, username: str, password: str) -> None:
        self.missing = []
        await self.session.login(address, username, password)

    async def logout(self) -> None:
        self.missing = []
        await self.session.logout()

    close = logout

    def _on_session_change(self, _session: ConsoleSession, notice: Notice | None) -> None:
        if notice is not None:
            self.notices.append(notice)
        if self.session.state != State.ONLINE:
            self._emit(notice)
            return
        # After a (re)connect the listing is the server's, fetched just before the notice:
        # compare and report.  Otherwise (pushed changes) only clear what came back; an
        # upload is not "missing" from a listing fetched while it was on its way.
        new = self._compare(report=notice is not None and notice.kind in ("online", "reconnected"))
        self._emit(notice)
        if new:
            names = ", ".join(u.name for u in new)
            self._notify(
                "missing",
                f"{len(new)} upload{'s' if len(new) > 1 else ''} missing on "
                f"{self.session.server}, lost in a failover: {names}. Upload again",
            )

    def _notify(self, kind: str, text: str) -> None:
        notice = Notice(kind, text)
        self.notices.append(notice)
        log.info("%s: %s", kind, text)
        self._emit(notice)

    def _emit(self, notice: Notice | None) -> None:
        if self.on_change:
            self.on_change(self, notice)

    # ----------------------------------------------------------- incidents
    def incidents(self) -> list[dict]:
        """The incidents the user takes part in (a dispatcher's server listing has them all)."""
        me = self.session.username
        return [i for i in self.session.config.incidents if me in i.get("participants", [])]

    def incident(self, incident_id: str | None) -> dict | None:
        return next((i for i in self.incidents() if i["id"] == incident_id), None)

    def files(self, incident: dict) -> list[dict]:
        """The incident's files, without the missing copies this user uploaded again."""
        replaced = {old for u in self.uploads for old in u.previous_ids}
        return [f for f in incident.get("files", []) if f["id"] not in replaced]

    @property
    def uploads(self) -> list[Upload]:
        """This user's uploads, oldest first."""
        return [u for u in self._uploads if u.username == self.session.username]

    def upload_for(self, file_id: str) -> Upload | None:
        return next((u for u in self.uploads if u.file_id == file_id), None)

    async def local_copy(self, upload: Upload) -> bytes | None:
        return await self.store.content(upload.local_id) if upload.kept else None

    # -------------------------------------------------------------- upload
    async def upload_path(self, incident_id: str | None, path: Path, kind: str | None = None) -> Upload:
        """Upload a photo or video file (``kind``: what the user asked for; ``incident_id``
        None: the incident shown is gone, refused like one not the user's)."""
        path = Path(path)
        check_name(path.name, kind)  # before reading it: the name says the type
        content = await asyncio.to_thread(read_media, path)
        return await self.upload(incident_id, path.name, content, kind)

    async def upload(self, incident_id: str | None, name: str, content: bytes, kind: str | None = None) -> Upload:
        """Check, keep a copy, send.  ``MediaError`` or ``UploadError`` say what went wrong;
        if the link broke on the way (``UploadInterrupted``) the upload is listed as
        missing, with its copy, for Upload again."""
        m = check_media(name, content, kind)
        incident = self.incident(incident_id)
        if incident is None or incident_id is None:  # (no incident has the id None)
            raise UploadError("that incident is not one of yours on this server")
        username = self.session.username  # set from the login to the logout, so when ONLINE
        if self.session.state != State.ONLINE or username is None:
            raise UploadError("offline: reconnecting to the active server; upload when the status says Online")
        digest = (await asyncio.to_thread(hashlib.sha256, content)).hexdigest()  # 20 MB: off the loop
        upload = Upload(
            uuid.uuid4().hex,
            username,
            incident_id,
            incident["name"],
            name,
            m.content_type,
            len(content),
            digest,
            time.time(),
        )
        await self.store.keep(upload.local_id, content)  # first: the link may break on the way
        try:
            record = await self.session.upload_file(incident_id, name, m.content_type, content)
        except UploadInterrupted as exc:
            upload.server, upload.problem = self.session.server, f"not sent: {exc}"
            self._uploads.append(upload)
            self.missing.append(upload)
            self._save()
            self._emit(None)
            raise
        except BaseException:
            self.store.drop(upload.local_id)
            raise
        upload.file_id, upload.server = record["id"], self.session.server
        self._uploads.append(upload)
        self._save()
        self._notify("uploaded", f"{name} uploaded to {incident['name']}")
        return upload

    async def upload_again(self, upload: Upload) -> Upload:
        """Send a missing upload again from the kept copy, to the current server."""
        content = await self.local_copy(upload)
        if content is None:
            raise UploadError(f"the copy of {upload.name} on this device is gone: choose the file again")
        if self.session.state != State.ONLINE:
            raise UploadError("offline: reconnecting to the active server; upload when the status says Online")
        self._sending.add(upload.local_id)
        try:
            if upload.file_id and self._listed(upload):
                # The record survived the failover, only its content did not: restore it,
                # so every client (the IDC too) sees the same file available again.
                record = await self.session.restore_file(upload.incident_id, upload.file_id, content)
            else:
                record = await self.session.upload_file(upload.incident_id, upload.name, upload.content_type, content)
        finally:
            self._sending.discard(upload.local_id)
        if upload.file_id and upload.file_id != record["id"]:
            upload.previous_ids.append(upload.file_id)
        upload.file_id, upload.server, upload.problem = record["id"], self.session.server, None
        if upload in self.missing:
            self.missing.remove(upload)
        self._save()
        self._notify("uploaded-again", f"{upload.name} uploaded again to {self.session.server}")
        return upload

    def _listed(self, upload: Upload) -> bool:
        incident = next((i for i in self.session.config.incidents if i["id"] == upload.incident_id), None)
        return incident is not None and any(f["id"] == upload.file_id for f in incident.get("files", []))

    # ------------------------------------------------------------ compare
    def _compare(self, *, report: bool) -> list[Upload]:
        """Check this user's uploads against the current server's listing; the newly
        missing ones (only when ``report``)."""
        s = self.session
        if s.config.source != s.server:
            return []
        incidents = {i["id"]: i for i in s.config.incidents}
        claimed = {u.file_id for u in self.uploads if u.file_id}
        new, changed = [], False
        for u in self.uploads:
            incident = incidents.get(u.incident_id)
            if incident is None or u.local_id in self._sending:
                continue  # the incident itself is not here (another lab): nothing to upload to
            file_id = u.file_id
            problem = self._problem(u, incident, claimed)
            changed |= u.file_id != file_id  # the server did get it before the link broke
            if problem is None:
                if u in self.missing:
                    self.missing.remove(u)
                    u.problem, changed = None, True
                if not u.settled and u.server != s.server:
                    self._settle(u)
                    changed = True
            elif u in self.missing:
                u.problem = problem
            elif report:
                u.problem = problem
                self.missing.append(u)
                new.append(u)
        if new or changed:
            self._save()
        return new

    def _problem(self, u: Upload, incident: dict, claimed: set[str]) -> str | None:
        server = self.session.server
        if u.file_id is None:
            # The link broke before the answer: did the server store it all the same?
            same = next(
                (
                    f
                    for f in incident.get("files", [])
                    if f["id"] not in claimed and f.get("sha256") == u.sha256 and f.get("uploaded_by") == u.username
                ),
                None,
            )
            if same is None:
                return f"not sent: the connection broke during the upload to {u.server}"
            u.file_id = same["id"]
            claimed.add(same["id"])
        listed = next((f for f in incident.get("files", []) if f["id"] == u.file_id), None)
        if listed is None:
            return f"not on {server}: the upload was lost in the failover"
        if not listed.get("available", True):
            return f"not on {server}: it did not replicate before the failover"
        return None

    def _settle(self, u: Upload) -> None:
        """Another server has it: it replicated, the copy is no longer needed."""
        u.settled = True
        if u.kept:
            self.store.drop(u.local_id)
            u.kept = False

    def _save(self) -> None:
        # The oldest copies go first when over the budget; missing ones last.
        kept = sorted((u for u in self._uploads if u.kept), key=lambda u: (u in self.missing, u.uploaded_at))
        total = sum(u.size for u in kept)
        for u in kept:
            if total <= KEEP_BYTES:
                break
            self.store.drop(u.local_id)
            u.kept, total = False, total - u.size
        for u in self._uploads[:-KEEP_ENTRIES]:
            self.store.drop(u.local_id)
        del self._uploads[:-KEEP_ENTRIES]
        try:
            self.store.save(self._uploads)
        except OSError as exc:  # a full disk must not stop the phone: the uploads stay in memory
            log.warning("could not save the upload index: %s", exc)
