"""Trainees on other machines: an IDC session, a mobile client and an IP phone run in
the clients' site (a namespace of their own, another host on the lab's network), given
the servers' addresses and the lab CA only; they log in over HTTPS, lose the active when
it is powered off, and are on the new active again as the chapter says: the console and
the mobile client reconnect by themselves, the new active pushes the phone over (to the
clients' site's address)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from . import SITES

pytestmark = SITES

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ipics_topology() -> str:
    return "sites"


async def test_trainees_in_the_clients_site_log_in_fail_over_and_reconnect(
    ipics_demo, ipics_faults, ipics_takeover_deadline_s
):
    pair = ipics_demo.pair
    clients = pair.sites["clients"]
    trainee = await asyncio.create_subprocess_exec(
        *clients.exec_prefix(),
        sys.executable,
        "-m",
        "tests.sites.trainee",
        *("--server", pair.primary.url, "--server", pair.secondary.url),
        *("--ca-file", str(pair.ca_file), "--console-user", "dan", "--mobile-user", "amy"),
        *("--phone-user-id", ipics_demo.dial_ids["adam"]),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=CHECKOUT,
    )
    assert trainee.stdin is not None and trainee.stdout is not None
    trainee.stdin.write(f"{ipics_demo.password}\n{ipics_demo.pin}\n".encode())
    await trainee.stdin.drain()
    latest: dict[str, tuple[str, str | None]] = {}

    async def until(what, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not what():
                line = await trainee.stdout.readline()
                assert line, "the trainee's clients stopped"
                seen = json.loads(line)
                latest[seen["who"]] = (seen["state"], seen["server"])

    def all_on(url: str):
        host = url.split("://")[1].split(":")[0]
        return lambda: (
            all(latest.get(who) == ("online", url) for who in ("console", "mobile"))
            and latest.get("phone") == ("page", f"https://{host}:443")
        )

    try:
        await until(all_on(pair.primary.url), 30)
        await ipics_faults.power_off("primary")  # kill -9: from the clients' site, it falls silent
        await until(lambda: all(latest.get(w, ("",))[0] == "offline" for w in ("console", "mobile")), 30)
        await until(all_on(pair.secondary.url), ipics_takeover_deadline_s)
    finally:
        trainee.kill()
        await trainee.wait()
