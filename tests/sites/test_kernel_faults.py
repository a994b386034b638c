"""The pair in the sites topology: each server in a network namespace of its own, the
faults made by the kernel (nftables), as root.

Real partitions do not fail fast: these tests check that what the kernel drops is
silent (a connect hangs, it is not refused), that the standby still takes over within
the chapter's window, that the clients' site can be isolated from one server while the
servers hear each other, that packet loss drops at the rate asked, and that heal brings
the link back without restarting anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ipics_clients.addresses import address_seen_by
from ipics_lab.netfaults import CannotMake

from . import SITES

pytestmark = SITES


@pytest.fixture
def ipics_topology() -> str:
    return "sites"


def run_in(site, code: str, timeout_s: float = 20) -> subprocess.CompletedProcess[str]:
    """Python ``code`` run in ``site``'s network namespace (a host of that site)."""
    return subprocess.run(
        [*site.exec_prefix(), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def connect_outcome(site, address: str, port: int, timeout_s: float = 0.5) -> str:
    """What a TCP connect from ``site`` to ``address:port`` meets: connected, refused or timeout."""
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({address!r}, {port}), timeout={timeout_s}).close(); print('connected')\n"
        "except ConnectionRefusedError: print('refused')\n"
        "except (TimeoutError, socket.timeout): print('timeout')\n"
    )
    return run_in(site, code).stdout.strip()


def net_namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


async def test_the_pair_on_two_sites_and_a_silent_partition(ipics_pair, ipics_faults, ipics_takeover_deadline_s):
    pair = ipics_pair
    sites = pair.sites
    primary, secondary = pair.primary, pair.secondary
    # Each server runs in its own site, with its own address; nothing hands out 127.x.
    assert len({net_namespace(os.getpid()), net_namespace(primary.pid), net_namespace(secondary.pid)}) == 3
    assert (primary.host, secondary.host) == (sites["primary"].address, sites["secondary"].address)
    for server in pair.servers:
        status = await pair.status(server)
        assert status["address"].startswith(("http://198.18.", "https://198.18.")), status["address"]
        assert "127.0.0." not in json.dumps(status), f"{server.name} hands out a loopback address"
    assert (await pair.status(primary))["partner"].split("://")[1].startswith(secondary.host)
    # Plain HTTP off loopback is sent on to HTTPS, from any site.
    redirect = run_in(
        sites["clients"],
        "import http.client\n"
        f"c = http.client.HTTPConnection({primary.host!r}, 80, timeout=5); c.request('GET', '/admin')\n"
        "r = c.getresponse(); print(r.status, r.getheader('Location'))\n",
    )
    status, location = redirect.stdout.split()
    assert status == "308" and location in (f"https://{primary.host}/admin", f"https://{primary.host}:443/admin")
    # A phone or telephone on this host is called back on its bridge address, not 127.x.
    assert address_seen_by([primary.url]) == sites.host_address
    pids = (primary.pid, secondary.pid)

    # The clients' site isolated from the primary: silence there, the secondary still
    # answers them, and the servers still hear each other (the standby stays Ready).
    await ipics_faults.isolate_clients("primary")
    clients = sites["clients"]
    assert connect_outcome(clients, primary.host, primary.port) == "timeout"
    assert connect_outcome(clients, secondary.host, secondary.port) == "connected"
    assert (await pair.status(primary))["standby_server_status"] == "Ready"
    await ipics_faults.heal_network()
    assert connect_outcome(clients, primary.host, primary.port) == "connected"

    # A one-way cut: the secondary's connections to the primary vanish; the primary's
    # connections to the secondary still work (connection tracking keeps their replies).
    await ipics_faults.cut_link("secondary", "outbound")
    assert connect_outcome(sites["secondary"], primary.host, pair.primary.heartbeat_port) == "timeout"
    assert connect_outcome(sites["primary"], secondary.host, secondary.heartbeat_port) == "connected"
    await ipics_faults.heal_link("secondary")

    # The active cut off both ways: the standby's heartbeats hang (no refusal), it counts
    # them missed and takes over within the chapter's window.
    await ipics_faults.cut_link("primary", "both")
    assert connect_outcome(sites["secondary"], primary.host, pair.primary.heartbeat_port) == "timeout"
    await pair.wait_status(secondary, ipics_takeover_deadline_s, role="active")

    # Heal: the same processes talk again over the healed link, without a restart; both
    # were active, so the chapter's split brain is what they find.
    await ipics_faults.heal_network()
    assert (primary.pid, secondary.pid) == pids

    async def heard_again():
        st = await pair.status(secondary)
        return st["heartbeat"]["missed_now"] == 0 and (st["split_brain"] or st["partner_role"] is not None)

    await pair.wait_until(heard_again, ipics_takeover_deadline_s, "the servers to hear each other after heal")
    assert not ipics_faults.pair.network.describe()


async def test_packet_loss_drops_at_the_rate_asked(ipics_lab):
    """30 % loss between two sites drops about 30 % of the datagrams between them (each
    way), and none between others; heal ends it."""
    from ipics_lab.trainer.actions import Actions

    sites = ipics_lab.sites
    actions = Actions(ipics_lab)
    await actions.packet_loss("media", "clients", 30)
    received = datagrams_through(sites["clients"], sites["media"], 2000)
    # Binomial(2000, 0.7): sd ~20; +-150 is more than 7 sd, and a rate of 0 % or 100 % is far outside.
    assert 1250 <= received <= 1550, received
    assert datagrams_through(sites["clients"], sites["primary"], 500) == 500
    await actions.heal_network()
    assert datagrams_through(sites["clients"], sites["media"], 500) == 500
    with pytest.raises(Exception, match="percentage") as refused:
        await actions.packet_loss("media", "clients", 130)
    assert not isinstance(refused.value, CannotMake)  # the trainer's sentence: ActionRefused


def datagrams_through(src, dst, count: int) -> int:
    """UDP datagrams from ``src`` that reach ``dst`` out of ``count`` sent."""
    with subprocess.Popen(
        [
            *dst.exec_prefix(),
            sys.executable,
            "-c",
            "import socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"s.bind(({dst.address!r}, 9999)); s.settimeout(1.0)\n"
            "print('ready', flush=True); n = 0\n"
            "try:\n"
            "    while True:\n"
            "        s.recv(64); n += 1\n"
            "except TimeoutError: pass\n"
            "print(n)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as receiver:
        return _count(receiver, src, dst, count)


def _count(receiver: subprocess.Popen, src, dst, count: int) -> int:
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        sent = run_in(
            src,
            "import socket, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for i in range({count}):\n"
            f"    s.sendto(b'x', ({dst.address!r}, 9999))\n"
            "    time.sleep(0.0002)\n",
        )
        assert sent.returncode == 0, sent.stderr
        out, _ = receiver.communicate(timeout=10)
        return int(out.strip())
    finally:
        receiver.kill()
        receiver.wait()


def test_a_crashed_labs_namespaces_are_removed_by_the_next_start(tmp_path):
    """A lab killed with kill -9 leaves its namespaces; the next start removes them."""
    from ipics_lab.sites import Sites, names_of

    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ipics_lab.sites import Sites\ns = Sites.create_sync()\nprint(s.number, flush=True)\n"
            "import time\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as crashed:
        try:
            assert crashed.stdout is not None
            number = int(crashed.stdout.readline())
        finally:
            crashed.kill()  # a crash: nothing removed on the way down
            crashed.wait()
    left = names_of(number)["primary"]
    assert left in namespaces()
    started = Sites.create_sync()
    try:
        assert left not in namespaces() or started.number == number
        assert not [n for n in namespaces() if n.startswith(f"ipicslab{number}-")] or started.number == number
    finally:
        started.remove()
    assert not [n for n in namespaces() if n.startswith(f"ipicslab{started.number}-")]


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_a_one_way_cut_keeps_the_replies_of_connections_opened_before_it(tmp_path):
    """A connection the secondary opened before the primary's outbound cut still carries
    the primary's answers, even when the primary speaks first after the cut (the kernel
    tracks every connection from its first packet, so it knows which side opened it);
    a connection the primary opens afterwards vanishes."""
    import asyncio

    from ipics_lab.netfaults import KernelFaults
    from ipics_lab.sites import Sites

    sites = Sites.create_sync()
    primary, secondary = sites["primary"], sites["secondary"]
    serve = (
        "import socket, sys\n"
        f"s = socket.create_server(({primary.address!r}, 9998)); print('ready', flush=True)\n"
        "c, _ = s.accept(); print('accepted', flush=True)\n"
        "sys.stdin.readline(); c.sendall(b'hello')\n"
        "sys.stdin.readline()\n"
    )
    listen = (
        "import socket\n"
        f"c = socket.create_connection(({primary.address!r}, 9998), timeout=2); print('open', flush=True)\n"
        "try: print(c.recv(64).decode(), flush=True)\n"
        "except TimeoutError: print('timeout', flush=True)\n"
    )
    try:
        with subprocess.Popen(
            [*primary.exec_prefix(), sys.executable, "-c", serve],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as server:
            assert server.stdout is not None and server.stdin is not None
            assert server.stdout.readline().strip() == "ready"
            with subprocess.Popen(
                [*secondary.exec_prefix(), sys.executable, "-c", listen], stdout=subprocess.PIPE, text=True
            ) as client:
                assert client.stdout is not None
                assert client.stdout.readline().strip() == "open"
                assert server.stdout.readline().strip() == "accepted"
                asyncio.run(KernelFaults(sites).cut_link("primary", "outbound"))
                server.stdin.write("speak\n")  # the primary speaks first on the secondary's connection
                server.stdin.flush()
                assert client.stdout.readline().strip() == "hello"  # it flowed
                assert connect_outcome(primary, secondary.address, 22) == "timeout"  # the primary's own: cut
                client.kill()
            server.kill()
    finally:
        sites.remove()
