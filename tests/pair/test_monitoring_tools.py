"""The monitoring endpoints with the real programs (issue 18): a Prometheus scraping both
servers and an HAProxy routing by ``/primary``, started here from their Debian packages
on loopback ports, with their own configuration in ``tmp_path`` (never as system
services), and stopped after.

What an operator would notice: a query through Prometheus's HTTP API finds exactly one
server with ``ipics_primary == 1`` before and after a failover, and a client that only
knows HAProxy's address reaches the active server before and after it: the API, the
Administration Console and the IP phone service.  The pair runs in witness + strict
synchronous mode (issue 18), so the same failover shows the witness's vote and the
synchronous state following the active, on the servers' metrics and the witness's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from ipics_clients.phone_browser import PhoneBrowser, ipics_service
from ipics_clients.phone_xml import Menu
from ipics_lab.supervisor import free_port_on, wait_until
from ipics_server.adapters.httpclient import ApiClient

from ..prometheus_text import Exposition, documented_metrics
from .conftest import TAKEOVER_DEADLINE_S

pytestmark = pytest.mark.pair

ALERTS = Path(__file__).resolve().parents[2] / "packaging" / "prometheus" / "alerts.yml"
PROGRAMS = {"prometheus": "prometheus", "haproxy": "haproxy"}  # Debian package per program
#: real seconds for Prometheus or HAProxy to start and see both servers (checked every 0.2 s)
SEE_BOTH_S = 30
#: answers in a row from one server through HAProxy: round robin over two servers
#: would alternate, so these say the other one is out of the backend
IN_A_ROW = 6


def need(program: str) -> str:
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(
            f"{program} is not installed: packaging/bootstrap.sh installs the Debian package {PROGRAMS[program]}"
        )
    return path


@contextmanager
def running(cmd: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A program of ours, its output in ``log``; killed (by its own id) when done."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def prometheus_config(pair, path: Path) -> Path:
    """Both servers as the job ``ipics``, the witness as a job of its own."""
    jobs = {"ipics": (pair.servers, pair.primary.tls), "ipics-witness": ([pair.witness], pair.witness.tls)}
    scrapes = "".join(
        f"  - job_name: {job}\n    scheme: {'https' if tls else 'http'}\n"
        "    tls_config:\n      insecure_skip_verify: true\n"
        f"    static_configs:\n      - targets: {json.dumps([f'{t.host}:{t.port}' for t in targets])}\n"
        for job, (targets, tls) in jobs.items()
    )
    path.write_text(
        "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n  evaluation_interval: 500ms\n"
        f"rule_files: [{str(ALERTS)!r}]\n"
        "scrape_configs:\n" + scrapes
    )
    return path


def haproxy_config(pair, port: int, path: Path) -> Path:
    ssl = " ssl verify none check-ssl" if pair.primary.tls else ""
    servers = "".join(f"  server {s.name} {s.host}:{s.port} check{ssl}\n" for s in pair.servers)
    path.write_text(
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
        f"frontend ipics\n  bind 127.0.0.1:{port}\n  default_backend active\n"
        "backend active\n  balance roundrobin\n  option httpchk HEAD /primary\n  http-check expect status 200\n"
        "  default-server inter 200ms fall 1 rise 1\n" + servers
    )
    return path


#: what follows the active, each a query whose answers' ``server`` label names it: the
#: servers' own word, the witness's vote as each server and as the witness says, and
#: which server replicates synchronously
FOLLOW_THE_ACTIVE = (
    'ipics_primary{job="ipics"} == 1',
    'ipics_witness_vote_held{job="ipics"} == 1',
    'ipics_witness_vote_holder{job="ipics-witness"} == 1',
    'ipics_synchronous_state{job="ipics",state="synchronous"} == 1',
)


async def servers_where(prometheus: ApiClient, query: str) -> list[str]:
    reply = await prometheus.get("/api/v1/query?query=" + quote(query))
    return sorted(r["metric"]["server"] for r in reply["data"]["result"])


async def primaries(prometheus: ApiClient) -> list[str] | None:
    """The servers Prometheus says have ``ipics_primary == 1`` (their ``server`` label),
    once it scrapes both servers and the witness; None before."""
    up = await prometheus.get("/api/v1/query?query=" + quote("sum(up)"))
    if up.status != 200 or not up["data"]["result"] or float(up["data"]["result"][0]["value"][1]) != 3:
        return None
    return await servers_where(prometheus, FOLLOW_THE_ACTIVE[0])


async def following(prometheus: ApiClient) -> dict[str, list[str]]:
    return {query: await servers_where(prometheus, query) for query in FOLLOW_THE_ACTIVE}


async def alert_rules_evaluated(prometheus: ApiClient) -> bool:
    """packaging/prometheus/alerts.yml is loaded, each rule evaluated without error, and
    none fires on the pair (a takeover is pending at most: it alerts after 4 minutes without an active)."""
    rules = [r for g in (await prometheus.get("/api/v1/rules"))["data"]["groups"] for r in g["rules"]]
    names = {r["name"] for r in rules}
    evaluated = all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("2") for r in rules)
    firing = [a for a in (await prometheus.get("/api/v1/alerts"))["data"]["alerts"] if a["state"] == "firing"]
    assert not firing, firing
    return evaluated and names == {
        "IpicsSplitBrain",
        "IpicsNoActive",
        "IpicsStandbyNotReady",
        "IpicsTransactionLogOver75",
        "IpicsSynchronousReplicationSuspended",
        "IpicsSynchronousReplicationRefusing",
        "IpicsWitnessUnreachable",
    }


async def reached_through(balancer: ApiClient) -> list[tuple[str, str]]:
    """Who answers ``IN_A_ROW`` clients that only know HAProxy's address: (server, role)."""
    seen = []
    for _ in range(IN_A_ROW):
        reply = await balancer.get("/api/v1/ha/status")
        seen.append((reply["server"], reply["role"]) if reply.status == 200 else ("none", str(reply.status)))
    return seen


async def phone_menu(phone: PhoneBrowser, url: str, balancer_url: str) -> list[str]:
    """The phone opens ``url`` through HAProxy: the IPICS menu's items, each of whose
    URLs (and the page's own) stays on HAProxy's address: no redirect to a server's own."""
    await phone.open(url)
    screen = phone.screen
    assert isinstance(screen.obj, Menu) and screen.obj.title == "IPICS", (screen.obj, screen.url)
    assert screen.url and screen.url.startswith(balancer_url + "/phone/ipics/"), screen.url
    assert all(item.url.startswith(balancer_url + "/phone/ipics/") for item in screen.obj.items), screen.obj
    return [item.name for item in screen.obj.items]


@pytest.mark.parametrize("ipics_modes", ["witness+synchronous-strict"])
async def test_prometheus_and_haproxy_see_one_active_before_and_after_a_failover(pair, tmp_path):
    prometheus_bin, haproxy_bin = need("prometheus"), need("haproxy")
    prom_port, lb_port = free_port_on("127.0.0.1"), free_port_on("127.0.0.1")
    prometheus_cmd = [
        prometheus_bin,
        f"--config.file={prometheus_config(pair, tmp_path / 'prometheus.yml')}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    haproxy_cmd = [haproxy_bin, "-db", "-f", str(haproxy_config(pair, lb_port, tmp_path / "haproxy.cfg"))]
    with (
        running(prometheus_cmd, tmp_path / "prometheus.log"),
        running(haproxy_cmd, tmp_path / "haproxy.log"),
    ):
        async with (
            ApiClient(f"http://127.0.0.1:{prom_port}", timeout_s=2) as prometheus,
            ApiClient(f"http://127.0.0.1:{lb_port}", timeout_s=2) as balancer,
        ):
            active = [("primary", "active")] * IN_A_ROW
            await wait_until(lambda: primaries(prometheus), SEE_BOTH_S, "Prometheus to scrape both servers")
            assert await primaries(prometheus) == ["primary"]
            await wait_until(
                lambda: _equals(following(prometheus), dict.fromkeys(FOLLOW_THE_ACTIVE, ["primary"])),
                SEE_BOTH_S,
                "Prometheus to see the primary hold the witness's vote and replicate synchronously",
            )
            await wait_until(lambda: alert_rules_evaluated(prometheus), SEE_BOTH_S, "the alert rules to be evaluated")
            await wait_until(
                lambda: _equals(reached_through(balancer), active),
                SEE_BOTH_S,
                "HAProxy to send every client to the active primary",
            )
            # A phone that knows only HAProxy's address logs in with its Dial Login.
            async with await pair.admin(pair.primary) as admin:
                assert (await admin.post("/api/v1/channels", {"name": "Through HAProxy"})).status == 201
                dial_login = {"user_id": "4242", "pin": "86420"}
                assert (await admin.put("/api/v1/users/ipicsadmin/dial-login", dial_login)).ok
            balancer_url = f"http://127.0.0.1:{lb_port}"
            phone = PhoneBrowser([ipics_service("through HAProxy", balancer_url)])
            try:
                login = f"{balancer_url}/phone/ipics/login?userid=4242&pin=86420"
                assert "Through HAProxy" in await phone_menu(phone, login, balancer_url)
                async with await pair.admin(pair.primary) as admin:
                    assert (await admin.post("/api/v1/ha/failover")).ok
                # Over once the old active is the new one's Ready standby: strict synchronous
                # replication takes writes again (the phone's session records its activity).
                await pair.wait_status(
                    pair.secondary, TAKEOVER_DEADLINE_S, role="active", standby_server_status="Ready"
                )
                await wait_until(
                    lambda: _equals(following(prometheus), dict.fromkeys(FOLLOW_THE_ACTIVE, ["secondary"])),
                    SEE_BOTH_S,
                    "Prometheus to see the new active, holding the witness's vote and replicating synchronously",
                )
                await wait_until(
                    lambda: _equals(reached_through(balancer), [("secondary", "active")] * IN_A_ROW),
                    SEE_BOTH_S,
                    "HAProxy to send every client to the new active",
                )
                # The same phone, same address, same session: the new active's menu.
                assert "Through HAProxy" in await phone_menu(phone, f"{balancer_url}/phone/ipics/menu", balancer_url)
            finally:
                await phone.close()
            # A client through HAProxy logs in: only the active takes logins.
            login = await balancer.post(
                "/api/v1/auth/login", {"username": "ipicsadmin", "password": pair.admin_password}
            )
            assert login.status == 200 and login["role"] == "active", login.body
            # A browser through HAProxy gets the active's Administration Console at once,
            # not the standby's redirect to the active's own address ("you were sent ...").
            page = await balancer.get("/admin/login")
            active_address = (await pair.status(pair.secondary))["address"]
            assert page.status == 200 and f'id="server-address">{active_address}<' in page.body, page.body
            assert 'id="notice"' not in page.body, page.body
            # packaging/prometheus/alerts.yml, on the real series: a failover is no split brain.
            assert await alert_rules_evaluated(prometheus)
        # The witness's own /metrics: what docs/server.md lists, no key in it.
        async with ApiClient(pair.witness.url, timeout_s=2) as witness:
            text = (await witness.get("/metrics")).body
        exposition = Exposition(text)
        assert {n: kind for n, (kind, _) in exposition.families.items()} == documented_metrics("witness metric")
        assert exposition.value("ipics_witness_vote_holder", server="secondary") == 1
        assert pair.witness.key_file.read_text().strip() not in text  # the Bearer token is this hex


async def _equals(awaitable, expected) -> bool:
    return await awaitable == expected
