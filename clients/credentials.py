"""The login dialog's "remember me": the password in the system keyring, never on disk.

The user name and the choice to be remembered are not secrets and go in the profile
(``login.json``); the password goes to ``keyring`` only.  Where no usable keyring
backend exists (a machine with no desktop session has ``keyring.backends.fail``), or
the backend would store the password in plain text (``keyrings.alt``) or drop it
(``null``), remember me is unavailable, the dialog says so, and the password is asked
each time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import keyring
from keyring.errors import KeyringError

from ipics_clients.atomic import write_atomically

log = logging.getLogger("ipics.console")

KEYRING_SERVICE = "ipics-ha-lab IDC"
#: backends that cannot keep a password safely: none at all, one that drops it, plain-text files
_UNUSABLE_BACKEND_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


@dataclass
class Remembered:
    username: str = ""
    password: str | None = None  # from the keyring, when remembered


class Credentials:
    def __init__(self, profile_dir: Path | None):
        self.path = profile_dir / "login.json" if profile_dir else None

    # ---------------------------------------------------------------- backend
    @staticmethod
    def unavailable_reason() -> str | None:
        """None when remember me can work; else a sentence for the login dialog."""
        try:
            backend = keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 (a broken keyring configuration must not stop a login)
            return f"Remember me is unavailable: the keyring cannot be opened ({exc})."
        module = _backend_module(backend)
        if module.startswith(_UNUSABLE_BACKEND_MODULES):
            return (
                "Remember me is unavailable: this computer has no secure keyring "
                "(password store), so the password is asked each time."
            )
        return None

    def available(self) -> bool:
        return self.unavailable_reason() is None

    # ------------------------------------------------------------ load / save
    def load(self) -> Remembered:
        username = self._profile().get("username", "")
        if not username or not self.available():
            return Remembered(username)
        try:
            return Remembered(username, keyring.get_password(KEYRING_SERVICE, username))
        except KeyringError as exc:
            log.warning("keyring read failed: %s", type(exc).__name__)
            return Remembered(username)

    def remember(self, username: str, password: str) -> bool:
        """Keep the user name, and the password in the keyring; False if the keyring refused."""
        previous = self._profile().get("username")
        self._save_profile({"username": username})
        if previous and previous != username:
            self._forget_password(previous)
        if not self.available():
            return False
        try:
            keyring.set_password(KEYRING_SERVICE, username, password)
            return True
        except KeyringError as exc:
            log.warning("keyring write failed: %s", type(exc).__name__)
            return False

    def forget(self) -> None:
        """Remember me unticked: drop the password, keep nothing of the user."""
        username = self._profile().get("username")
        self._save_profile({})
        if username:
            self._forget_password(username)

    def _forget_password(self, username: str) -> None:
        if not self.available():
            return
        try:
            keyring.delete_password(KEYRING_SERVICE, username)
        except KeyringError:
            pass  # nothing stored, or the backend refused: nothing left to delete either way

    def _profile(self) -> dict:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) and isinstance(data.get("username", ""), str) else {}

    def _save_profile(self, data: dict) -> None:
        if self.path is None:
            return
        write_atomically(self.path, json.dumps(data))


def _backend_module(backend) -> str:
    # A ChainerBackend writes to its first backend and reads from all of them: it is
    # only as safe as the least safe one (a plain-text file among them would be read).
    inner = getattr(backend, "backends", None)
    if inner:
        unusable = [m for m in map(_backend_module, inner) if m.startswith(_UNUSABLE_BACKEND_MODULES)]
        return unusable[0] if unusable else _backend_module(inner[0])
    return type(backend).__module__
