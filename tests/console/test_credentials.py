"""Remember me without widgets: the keyring or nothing, never a plain-text password."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail, null

from ipics_clients.credentials import Credentials

from ..memory_keyring import MemoryKeyring


class PlaintextKeyring(MemoryKeyring):
    """Stands for keyrings.alt's file backends, which write passwords in plain text."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


@pytest.fixture
def use_keyring():
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


def test_the_password_goes_to_the_keyring_and_the_user_name_to_the_profile(tmp_path, use_keyring):
    backend = MemoryKeyring()
    use_keyring(backend)
    creds = Credentials(tmp_path)
    assert creds.available() and creds.remember("dan", "s3cret")
    loaded = Credentials(tmp_path).load()
    assert (loaded.username, loaded.password) == ("dan", "s3cret")
    assert b"s3cret" not in (tmp_path / "login.json").read_bytes()

    creds.remember("amy", "other")  # another user: Dan's password is not kept
    assert list(backend.passwords) == [("ipics-ha-lab IDC", "amy")]
    creds.forget()
    assert backend.passwords == {} and Credentials(tmp_path).load().username == ""


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring(), PlaintextKeyring()],
    ids=["no keyring", "null keyring", "plain-text keyring"],
)
def test_an_unusable_keyring_says_so_and_keeps_no_password(tmp_path, use_keyring, backend):
    use_keyring(backend)
    creds = Credentials(tmp_path)
    assert "unavailable" in creds.unavailable_reason()
    assert creds.remember("dan", "s3cret") is False
    assert Credentials(tmp_path).load().password is None
    assert getattr(backend, "passwords", {}) == {}
    assert all(b"s3cret" not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_a_damaged_profile_is_ignored(tmp_path, use_keyring):
    use_keyring(MemoryKeyring())
    (tmp_path / "login.json").write_text("{not json")
    assert Credentials(tmp_path).load().username == ""
    (tmp_path / "login.json").write_text('{"username": 5}')
    assert Credentials(tmp_path).load().username == ""
