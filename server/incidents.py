"""Incidents and their files: created, their participants changed, read as a user may
see them, a file uploaded, restored after a failover, downloaded.

``DataService`` owns one ``Incidents`` and delegates to it; a record is written through
the service's ``write`` (refused unless active, logged, pushed), a file's content
through the file store.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .adapters.files import FileStore
from .adapters.store import Store
from .clock import Clock
from .core.access import sees_incident
from .data_records import require
from .errors import ApiError, conflict, not_found


@dataclass
class Incidents:
    store: Store
    files: FileStore
    clock: Clock
    engine: Any  # the HA engine: refuse_unless_active
    write: Callable[..., Awaitable[object]]
    require_users: Callable[[list[str]], Awaitable[None]]

    async def create_incident(self, name: str, description: str, participants: list[str]) -> dict:
        await self.require_users(participants)
        key = uuid.uuid4().hex
        value = {
            "id": key,
            "name": name,
            "description": description,
            "participants": participants,
            "created_at": self.clock.now(),
        }
        await self.write("incidents", key, value)
        return value

    async def set_participants(self, incident_id: str, participants: list[str], user: dict) -> dict:
        """A dispatcher adds people to an incident or takes them off it: those taken off
        no longer see it or its files (their events sockets are told it is gone)."""
        record = await require(self.store, "incidents", incident_id, "incident")
        await self.require_users(participants)
        await self.write("incidents", incident_id, {**record.live_value, "participants": participants})
        return await self.incident(incident_id, user)

    async def incidents_for(self, user: dict) -> list[dict]:
        """The incidents ``user`` may see (``core/access.py``), each with its files."""
        incidents = [r.live_value for r in await self.store.table("incidents") if sees_incident(user, r.live_value)]
        files = await self.store.table("files")
        for incident in incidents:
            incident["files"] = [
                self._file_view(f.live_value) for f in files if f.live_value["incident_id"] == incident["id"]
            ]
        return sorted(incidents, key=lambda i: i["created_at"])

    async def incident(self, incident_id: str, user: dict) -> dict:
        for incident in await self.incidents_for(user):
            if incident["id"] == incident_id:
                return incident
        raise not_found("no such incident")

    async def add_file(self, incident_id: str, user: dict, name: str, content_type: str, content: bytes) -> dict:
        await self.incident(incident_id, user)
        self.engine.refuse_unless_active()
        key = uuid.uuid4().hex
        now = self.clock.now()
        await self.files.write(key, content, mtime=now)
        value = {
            "id": key,
            "incident_id": incident_id,
            "name": name,
            "content_type": content_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "uploaded_by": user["username"],
            "uploaded_at": now,
        }
        try:
            await self.write("files", key, value)
        except ApiError as exc:
            if exc.code != "not_acknowledged":  # committed, only not promised: keep its content
                await self.files.delete(key)
            raise
        except BaseException:
            await self.files.delete(key)
            raise
        # synchronous replication: the content on the standby before the upload is acknowledged
        await self.engine.synchronous.after_file(key, content, now)
        return self._file_view(value)

    async def restore_file(self, incident_id: str, file_id: str, user: dict, content: bytes) -> dict:
        """Upload again the content of a file that did not reach this server before a
        failover: the same file record, available again to everyone (its checksum
        proves it is the same file)."""
        await self.incident(incident_id, user)
        self.engine.refuse_unless_active()
        record = await self.store.get("files", file_id)
        if record is None or record.deleted or record.live_value["incident_id"] != incident_id:
            raise not_found("no such file")
        if hashlib.sha256(content).hexdigest() != record.live_value["sha256"]:
            raise conflict(f"this is not the file {record.live_value['name']} that was uploaded (its checksum differs)")
        if not self.files.exists(file_id):
            await self.files.write(file_id, content, mtime=record.live_value["uploaded_at"])
            # The record changes too, so the restored content replicates to the standby.
            await self.write(
                "files",
                file_id,
                {**record.live_value, "restored_by": user["username"], "restored_at": self.clock.now()},
            )
        return self._file_view(record.live_value)

    async def file_content(self, incident_id: str, file_id: str, user: dict) -> tuple[dict, bytes]:
        await self.incident(incident_id, user)
        record = await self.store.get("files", file_id)
        if record is None or record.deleted or record.live_value["incident_id"] != incident_id:
            raise not_found("no such file")
        if not self.files.exists(file_id):
            raise ApiError(
                404,
                "file_missing",
                "this file did not reach this server before the failover: upload it again",
                file=self._file_view(record.live_value),
            )
        return record.live_value, await self.files.read(file_id)

    def _file_view(self, value: dict) -> dict:
        return {**value, "available": self.files.exists(value["id"])}
