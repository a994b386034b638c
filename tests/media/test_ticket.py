"""The ticket format and its key file, without processes: what a ticket says in the
open, that its signature binds it, and that a key file others may read is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ipics_server.media.issuer import EVERYONE, affected_users
from ipics_server.media.ticket import (
    MAX_TICKET_GROUPS,
    TICKET_LIFETIME_S,
    TicketError,
    TicketKeyError,
    create_key_file,
    issue,
    load_key,
    peek,
    verify,
)

from .conftest import FIRE, POLICE

KEY = bytes(range(32))


def test_a_ticket_says_who_and_what_in_the_open_for_its_holder():
    claims = peek(issue(KEY, "dan", [FIRE, POLICE], issuer="primary"))
    assert (claims.who, claims.groups, claims.kind, claims.issuer) == ("dan", {FIRE, POLICE}, "user", "primary")
    assert TICKET_LIFETIME_S - 5 < claims.expires_at - time.time() <= TICKET_LIFETIME_S == 1800


def test_the_signature_binds_every_claim_and_time_is_real_time():
    ticket = issue(KEY, "dan", [FIRE])
    assert verify(KEY, ticket).groups == {FIRE}
    head, _body, mac = ticket.split(".")
    for other in (issue(KEY, "dan", [FIRE, POLICE]), issue(KEY, "adam", [FIRE])):
        with pytest.raises(TicketError, match="not issued by"):
            verify(KEY, ".".join((head, other.split(".")[1], mac)))
    with pytest.raises(TicketError, match="expired"):
        verify(KEY, ticket, now=time.time() + TICKET_LIFETIME_S + 1)


def test_a_ticket_names_at_most_so_many_groups_and_only_valid_names():
    with pytest.raises(ValueError, match=f"at most {MAX_TICKET_GROUPS}"):
        issue(KEY, "dan", [f"{i:032x}" for i in range(MAX_TICKET_GROUPS + 1)])
    with pytest.raises(ValueError, match="printable"):
        issue(KEY, "dan\nadam", [])


def test_the_key_file_is_made_for_its_owner_only_and_kept(tmp_path):
    path = create_key_file(tmp_path / "lab" / "media-ticket.key")
    assert path.stat().st_mode & 0o777 == 0o600
    key = load_key(path)
    assert len(key) == 32 and create_key_file(path) == path and load_key(path) == key  # kept


@pytest.mark.parametrize(
    ("content", "mode", "words"),
    [
        ("ab" * 32, 0o644, "may be read by others: chmod 600"),
        ("ab" * 32, 0o640, "may be read by others"),
        ("not a key", 0o600, "holds no media ticket key"),
        ("ab" * 8, 0o600, "at least 32 random bytes"),
    ],
)
def test_a_key_file_others_may_read_or_that_holds_no_key_is_refused_without_showing_it(tmp_path, content, mode, words):
    path = tmp_path / "key"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(TicketKeyError, match=words) as refused:
        load_key(path)
    assert content not in str(refused.value)
    with pytest.raises(TicketKeyError, match="cannot read"):
        load_key(tmp_path / "missing")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], check=False, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.pair
def test_the_router_and_a_server_refuse_to_start_without_a_key_only_their_user_may_read(tmp_path):
    open_key = tmp_path / "open.key"
    open_key.write_text("cd" * 32)
    open_key.chmod(0o644)

    router = run("ipics_server.media", "--port", "0")
    assert router.returncode == 2 and "--ticket-key-file" in router.stderr
    router = run("ipics_server.media", "--ticket-key-file", str(open_key))
    assert router.returncode == 2 and "may be read by others: chmod 600" in router.stderr

    server = ["ipics_server", "server", "--data-dir", str(tmp_path / "data"), "--ssh-port", "-1"]
    alone = run(*server, "--media-router", "ws://127.0.0.1:9/media")
    assert alone.returncode != 0 and "--media-router needs --media-ticket-key-file" in alone.stderr
    shared = run(*server, "--media-ticket-key-file", str(open_key))
    assert shared.returncode != 0 and "may be read by others" in shared.stderr
    for refused in (router, shared):
        assert "cd" * 32 not in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("event", "users"),
    [
        ({"type": "record", "table": "assignments", "key": f"{FIRE}:fred", "deleted": True}, {"fred"}),
        ({"type": "record", "table": "assignments", "key": f"{FIRE}:fred", "deleted": False}, set()),
        ({"type": "record", "table": "channels", "key": FIRE, "deleted": True}, EVERYONE),
        ({"type": "record", "table": "channels", "key": FIRE, "deleted": False}, set()),
        ({"type": "record", "table": "vtgs", "key": POLICE, "deleted": False}, EVERYONE),
        ({"type": "record", "table": "incidents", "key": POLICE, "deleted": True}, set()),
        ({"type": "role", "role": "active"}, set()),
    ],
)
def test_who_may_have_lost_a_talk_group_by_a_data_change(event, users):
    """Whose tickets the server's link sends the router as a revocation."""
    assert affected_users(event) == users
