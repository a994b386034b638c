"""The lab's telephone network: which telephone answers which number.

A file of ``{number: ring URL}`` in the lab directory, shared by the processes of one
lab: each telephone registers the WebSocket it rings on, and a server's dial engine
looks numbers up to call dial-out participants.  Writes are atomic and serialized with
a lock file, so telephones in several processes can register at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from pathlib import Path

NUMBER = re.compile(r"^[0-9]{3,15}$")
MAX_ENTRIES = 10_000


class PstnDirectory:
    def __init__(self, path: Path):
        self.path = path

    def lookup(self, number: str) -> str | None:
        return self._read().get(number)

    def register(self, number: str, ring_url: str) -> None:
        if not NUMBER.match(number):
            raise ValueError("a telephone number is 3 to 15 digits")
        with self._locked():
            entries = self._read()
            if len(entries) >= MAX_ENTRIES and number not in entries:
                raise ValueError("the lab's telephone network is full")
            entries[number] = ring_url
            self._write(entries)

    def unregister(self, number: str, ring_url: str | None = None) -> None:
        with self._locked():
            entries = self._read()
            if number in entries and (ring_url is None or entries[number] == ring_url):
                del entries[number]
                self._write(entries)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(data, dict)
            else {}
        )

    def _write(self, entries: dict[str, str]) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
