"""The IDC's session core against real servers: the chapter's HA Affect on the IDC
Connections, behaviour by behaviour (no widgets)."""

from __future__ import annotations

import contextlib
import json
import urllib.request

from ipics_clients.known_servers import KnownServers
from ipics_clients.session import LoginError, State
from ipics_lab.supervisor import wait_until

from ..pair.conftest import TAKEOVER_DEADLINE_S, create_channel


def kinds(console) -> list[str]:
    return [n.kind for n in console.notices]


async def test_login_on_the_active_fills_the_selector_and_the_configuration(pair, console, known):
    async with await pair.admin(pair.primary) as admin:
        await create_channel(admin, "Police")
    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    assert console.state == State.ONLINE and console.server == pair.primary.url
    assert "Police" in console.config.channel_names()
    assert {(s.address, s.role) for s in known.servers} == {
        (pair.primary.url, "active"),
        (pair.secondary.url, "standby"),
    }
    # The selector's list is kept for the next run.
    again = KnownServers.load(known.path)
    assert again.active() == pair.primary.url


async def test_choosing_the_standby_is_refused_and_redirected_to_the_active(pair, console):
    await console.login(pair.secondary.url, "ipicsadmin", pair.admin_password)
    assert console.state == State.ONLINE and console.server == pair.primary.url
    redirected = [n for n in console.notices if n.kind == "redirected"]
    assert redirected and "standby" in redirected[0].text and pair.primary.url in redirected[0].text
    # The notice that stays on screen once online says why this is not the chosen server.
    assert console.notices[-1].kind == "online"
    assert console.notices[-1].text == (
        f"logged in to the active server {pair.primary.url}, not to "
        f"{pair.secondary.url} as chosen: {pair.secondary.url} is the standby server"
    )


async def test_a_server_that_does_not_answer_pauses_about_5_seconds_then_redirects(pair, console, known):
    # Amy's console still lists the old active first; it is down now.
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    known.set_role(pair.primary.url, "active")
    known.set_role(pair.secondary.url, "standby")

    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    assert console.server == pair.secondary.url and kinds(console)[:2] == ["paused", "online"]
    assert console.clock.slept == [5.0]  # the pause, in emulated seconds
    assert KnownServers.load(known.path).active() == pair.secondary.url


async def test_a_server_that_answers_but_cannot_take_the_login_says_why_and_the_console_tries_the_other(
    pair, console, known
):
    async with await pair.admin(pair.primary) as admin:
        crashed = await admin.post("/api/v1/lab/faults", {"fault": "crash-service", "service": "tomcat"})
        assert crashed.ok, crashed.body
    known.add(pair.primary.url)
    known.add(pair.secondary.url)
    # The secondary names the primary as the active until it takes over: the login may fail.
    with contextlib.suppress(LoginError):
        await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    assert console.notices[0].kind == "paused"
    assert console.notices[0].text == (
        f"{pair.primary.url} cannot take a login now (tomcat is not running on "
        f"this server): trying {pair.secondary.url} in about 5 seconds"
    )


async def test_a_wrong_password_says_so_and_stays_logged_out(pair, console):
    try:
        await console.login(pair.primary.url, "ipicsadmin", "not-" + pair.admin_password)
    except LoginError as exc:
        assert "wrong user name or password" in str(exc)
    else:
        raise AssertionError("the login should have failed")
    assert console.state == State.LOGGED_OUT


async def test_failover_goes_offline_keeps_the_configuration_and_reconnects_by_itself(pair, console):
    async with await pair.admin(pair.primary) as admin:
        await create_channel(admin, "Police")
    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)

    pair.primary.kill()  # the earthquake
    await wait_until(lambda: "offline" in kinds(console), 10, "the console to go offline")
    assert "Police" in console.config.channel_names()  # the last configuration stays
    assert "offline" in kinds(console)

    await wait_until(_state(console, State.ONLINE), TAKEOVER_DEADLINE_S + 5, "the console to reconnect")
    assert console.server == pair.secondary.url
    assert kinds(console)[-1] == "reconnected" and pair.secondary.url in console.notices[-1].text
    assert "Police" in console.config.channel_names()

    # The original comes back as standby: the console stays on the new active.
    await pair.primary.power_on()
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    assert console.state == State.ONLINE and console.server == pair.secondary.url

    # After logout, the selector shows which server to log in to.
    await console.logout()
    assert console.known.active() == pair.secondary.url


async def test_a_channel_that_never_replicated_disappears_after_the_failover(pair, console):
    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    await pair.fault(pair.primary, fault="cut-link", direction="outbound")  # nothing ships any more
    async with await pair.admin(pair.primary) as admin:
        await create_channel(admin, "Fire")
    await wait_until(_has_channel(console, "Fire"), 10, "the console to show Fire (pushed)")

    pair.primary.kill()
    await wait_until(
        _state(console, State.ONLINE, pair.secondary.url),
        TAKEOVER_DEADLINE_S + 5,
        "the console to reconnect to the secondary",
    )
    assert "Fire" not in console.config.channel_names()  # Ursula's Fire channel is gone


async def test_a_change_made_while_the_events_socket_opens_still_reaches_the_console(pair, console):
    """A channel created right after the login fetched the listings, before the events
    socket is open (a scenario's operator creates one at once), still shows: once the
    socket says hello it pushes every change, and the console fetches what came before."""
    token = await pair.login(pair.primary)

    def create_channel_now(_session, notice) -> None:
        if notice is not None and notice.kind == "online":
            # Synchronously on purpose: the write is done after the login's listing and
            # before the console's events socket even connects.
            request = urllib.request.Request(
                f"{pair.primary.url}/api/v1/channels",
                data=json.dumps({"name": "Staging Area"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as reply:
                assert reply.status == 201

    console.on_change = create_channel_now
    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    assert "Staging Area" not in console.config.channel_names()  # the listing came first
    await wait_until(_has_channel(console, "Staging Area"), 10, "the console to show Staging Area")


def _state(console, state, server=None):
    async def check():
        return console.state == state and (server is None or console.server == server)

    return check


def _has_channel(console, name):
    async def check():
        return name in console.config.channel_names()

    return check


async def test_a_stale_selector_on_the_now_standby_pauses_then_redirects(pair, console, known):
    # Amy's case as the chapter tells it: the old active is back, as the standby.
    pair.primary.kill()
    await pair.wait_status(pair.secondary, TAKEOVER_DEADLINE_S, role="active")
    await pair.primary.power_on()
    await pair.wait_status(pair.primary, 30, role="standby", standby_server_status="Ready")
    known.set_role(pair.primary.url, "active")
    known.set_role(pair.secondary.url, "standby")

    await console.login(pair.primary.url, "ipicsadmin", pair.admin_password)
    assert console.clock.slept == [5.0]
    assert console.server == pair.secondary.url and kinds(console)[:2] == ["paused", "online"]
    assert "no longer the active server" in console.notices[0].text
    assert known.active() == pair.secondary.url and known.get(pair.primary.url).role == "standby"


async def test_choosing_a_server_known_as_standby_redirects_at_once(pair, console, known):
    await console.learn_unknown_roles()
    assert known.get(pair.secondary.url) is None or known.get(pair.secondary.url).role in (None, "standby")
    known.set_role(pair.secondary.url, "standby")
    await console.login(pair.secondary.url, "ipicsadmin", pair.admin_password)
    assert kinds(console)[:2] == ["redirected", "online"]
    assert console.clock.slept == []  # no pause: the redirect is immediate
