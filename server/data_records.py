"""Records as the client API shows them, and the keys they are stored under.

Shared by the data service and its parts (``accounts.py``, ``incidents.py``).
"""

from __future__ import annotations

import hashlib

from .adapters.store import Store
from .core.records import Record
from .errors import not_found


async def require(store: Store, table: str, key: str, what: str) -> Record:
    """The live record, or ``ApiError`` 404 naming ``what``."""
    record = await store.get(table, key)
    if record is None or record.deleted:
        raise not_found(f"no such {what}: {key}")
    return record


def public_user(value: dict) -> dict:
    return {k: v for k, v in public_record(value).items() if k not in ("password_hash", "pin_hash")}


def public_record(value: dict) -> dict:
    """A record's value without what the store adds for its own checks (``name_key``,
    ``Store.upsert``): not the API's business."""
    return {k: v for k, v in value.items() if k != "name_key"}


def record_key(table: str, value: dict) -> str:
    """The key a listed record is stored under: an assignment is one user's channel."""
    return f"{value['channel_id']}:{value['username']}" if table == "assignments" else value["id"]


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
