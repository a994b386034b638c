"""The login form's flow (``ipics_clients.login``), without widgets: what the IDC's login
dialog and the mobile client's login page say and do, step by step, against real
servers and dead ports."""

from __future__ import annotations

import asyncio

import pytest

from ipics_clients.known_servers import KnownServers
from ipics_clients.login import LoginForm
from ipics_clients.session import ConsoleSession, State
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TIME_SCALE
from ..recording_clock import RecordingClock


class Screen:
    """What a login form shows: its messages in order, whether it is busy, the server
    the selector shows."""

    def __init__(self, session: ConsoleSession):
        self.said: list[tuple[str, str]] = []
        self.busy: list[bool] = []
        self.selected: list[str | None] = []
        self.logged_in: list[str] = []

        async def logged_in(user: str, _password: str) -> None:
            assert self.busy[-1] is True  # the form is released after this, not before
            self.logged_in.append(user)

        self.form = LoginForm(
            session,
            say=lambda kind, text: self.said.append((kind, text)),
            busy=self.busy.append,
            select=self.selected.append,
            start=asyncio.get_running_loop().create_task,
            logged_in=logged_in,
        )
        session.on_change = lambda _session, notice: self.form.on_notice(notice)


@pytest.fixture
async def session(tmp_path, request):
    """A session on its own selector; its clock at the tests' time scale unless a test
    asks for another (indirect parameter)."""
    scale = getattr(request, "param", TIME_SCALE)
    session = ConsoleSession(KnownServers.load(tmp_path / "servers.json"), clock=RecordingClock(scale))
    try:
        yield session
    finally:
        await session.close()


@pytest.mark.parametrize(
    "address, user, password, says",
    [
        ("", "dan", "pw", "Choose a login server or type its address."),
        ("127.0.0.1:8443", "dan", "", "Enter your user name and password."),
        ("ftp://host", "dan", "pw", "ftp://host is not a server address: type host:port or http://host:port."),
        (
            "http://198.18.0.11:8080",
            "dan",
            "pw",
            "Plain http to 198.18.0.11 is refused: off this machine a server's client API is reached over "
            "https only (type 198.18.0.11 or https://198.18.0.11:PORT).",
        ),
    ],
)
async def test_a_form_that_is_not_filled_in_says_what_is_missing_and_starts_nothing(
    session, address, user, password, says
):
    screen = Screen(session)
    assert screen.form.submit(address, user, password) is None
    assert screen.said == [("error", says)] and screen.busy == [] and screen.form.task is None


async def test_servers_that_do_not_answer_pause_then_fail_in_words(session, unused_tcp_port_factory):
    first, second = (f"http://127.0.0.1:{unused_tcp_port_factory()}" for _ in range(2))
    session.known.add(second)
    screen = Screen(session)
    task = screen.form.submit(first.removeprefix("http://"), "dan", "pw")  # typed as host:port
    assert screen.busy == [True] and screen.said == [("redirected", f"Connecting to {first} ...")]
    assert screen.form.submit(first, "dan", "pw") is None  # Log In again while it runs: nothing new
    assert await task is False
    assert [kind for kind, _ in screen.said] == ["redirected", "paused", "error"]
    assert screen.said[1][1].startswith(f"{first} does not answer: trying {second} in about 5 seconds")
    assert screen.said[2] == ("error", f"Login failed: no server answers (tried {first}, {second}).")
    assert screen.busy == [True, False] and screen.selected[-1] is None and screen.logged_in == []


@pytest.mark.parametrize("session", [1.0], indirect=True)  # a real 5 s pause: cancelled inside it
async def test_cancel_stops_the_login_during_the_pause(session, unused_tcp_port_factory):
    first, second = (f"http://127.0.0.1:{unused_tcp_port_factory()}" for _ in range(2))
    session.known.add(second)
    screen = Screen(session)
    task = screen.form.submit(first, "dan", "pw")
    await wait_until(lambda: any(kind == "paused" for kind, _ in screen.said), 5, "the pause")
    assert screen.form.cancel() is True
    with pytest.raises(asyncio.CancelledError):
        await task
    assert screen.said[-1] == ("error", "Login cancelled.") and screen.busy[-1] is False
    assert session.state == State.LOGGED_OUT and screen.form.cancel() is False


async def test_the_standby_redirects_to_the_active_and_the_form_says_so(pair, session):
    screen = Screen(session)
    assert await screen.form.submit(pair.secondary.url, "ipicsadmin", pair.admin_password) is True
    assert session.state == State.ONLINE and session.server == pair.primary.url
    assert screen.said[0] == ("redirected", f"Connecting to {pair.secondary.url} ...")
    redirect = [text for kind, text in screen.said if kind == "redirected"][1]
    assert redirect.startswith(
        f"{pair.secondary.url} is the standby server: the login was refused and "
        f"redirected to the active server {pair.primary.url}"
    )
    assert redirect.endswith(".")  # a sentence on the form
    assert screen.logged_in == ["ipicsadmin"] and screen.busy == [True, False]
    assert screen.selected[-1] == pair.primary.url  # the selector shows where it logged in
