"""The API answers as its OpenAPI document says, on a real pair (issue 14, item 21).

Schemathesis, an outside tool, reads ``GET /api/openapi.json`` and sends requests
generated from it (boundary values, wrong types, missing tokens, undeclared methods,
random valid data, chains of calls) to the active server as a system administrator
and as Fred (role ``user``), and a few to the standby.  Every answer must have a
declared status, a body that matches its declared schema and the declared headers;
no answer may be a server error (the 502 and 503 the document declares are answers:
a partner that does not answer, a server that is not the active one).  Generation is
deterministic, so a run is repeatable.

The operations that would change the pair under the check are not generated
(``NOT_GENERATED`` says why, each); they are called once each, in a fixed order, on a
throwaway pair, and their answers checked against the same document.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ipics_lab.supervisor import LabPair, wait_until

from ..openapi_answers import DocumentedCalls
from ..prometheus_text import Exposition
from .conftest import TAKEOVER_DEADLINE_S

pytestmark = pytest.mark.pair

#: left out of the generated requests: called once each in
#: ``test_procedures_and_lab_faults_answer_as_documented``
NOT_GENERATED = {
    "inject_fault": "a lab fault powers a server off, crashes a service or cuts the link under the check",
    "set_time_scale": "another time scale changes every deadline of the pair under the check",
    "logout": "it would end the session the check runs with",
    "configure": "an HA procedure: on this pair it can only refuse, whatever the request",
    "unconfigure": "an HA procedure: it tears the pair down",
    "failover_now": "an HA procedure: it hands the active role over",
    "go_standby": "an HA procedure: on this pair it can only refuse, whatever the request",
    "delete_trust": "an HA procedure: on this pair it can only refuse, whatever the request",
}
#: generated only as requests the document says are invalid (checked to be refused)
NEGATIVE_ONLY = {
    "update_settings": "valid settings would change the heartbeat of the pair under the check",
}
#: what schemathesis checks: the answers against the document.  Left out:
#: positive_data_acceptance, since a schema cannot say what makes a license file valid
#: or a file name acceptable (those are documented 400s); object_level_authorization,
#: which needs the document to name the owner of a record; ensure_resource_availability,
#: which takes the 404 for a record the body names (``POST .../assignments`` for a user
#: who does not exist) for the created channel being gone.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
]
#: 5xx answers that are no server error: each is declared where it is given (a partner
#: that does not answer, a server that is not the active one or whose tomcat is down)
NOT_SERVER_ERRORS = ["2xx", "3xx", "4xx", "502", "503"]
#: the whole check's budget (real seconds), the pair's start not counted
BUDGET_S = 90


def schemathesis_config(path: Path, ids: dict[str, list[str]]) -> Path:
    """A schemathesis.toml: the operations' modes, the documented 5xx answers, and the
    demo data's ids as dictionaries, drawn half of the time, so generated requests also
    reach real records."""
    lines = [
        "[generation]",
        "deterministic = true",
        'database = "none"',
        "",
        "[checks.not_a_server_error]",
        f"expected-statuses = {json.dumps(NOT_SERVER_ERRORS)}",
        "",
    ]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, dictionary in {
        "path.channel_id": "channels",
        "path.vtg_id": "vtgs",
        "path.incident_id": "incidents",
        "path.file_id": "files",
        "path.username": "users",
        "body.channels[*]": "channels",
        "body.members[*]": "users",
        "body.participants[*]": "users",
    }.items():
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    for operation_id in NEGATIVE_ONLY:
        lines += ["", "[[operations]]", f'include-operation-id = "{operation_id}"', 'generation.mode = "negative"']
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(
    url: str, token: str, config: Path, *, examples: int, phases: str, timeout_s: float
) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(examples),
        "--phases",
        phases,
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
        "--warnings",
        "off",
    ]
    for operation_id in NOT_GENERATED:
        command += ["--exclude-operation-id", operation_id]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, cwd=config.parent, stdin=subprocess.DEVNULL
    )


async def demo_ids(demo) -> dict[str, list[str]]:
    async with await demo.pair.admin(demo.pair.primary) as admin:
        vtgs = (await admin.get("/api/v1/vtgs")).body["vtgs"]
        users = (await admin.get("/api/v1/users")).body["users"]
    seeded = demo.seeded
    return {
        "channels": sorted(seeded["channels"].values()),
        "vtgs": sorted(v["id"] for v in vtgs),
        "incidents": [seeded["incident"]],
        "files": [seeded["photo"]],
        "users": sorted(u["username"] for u in users),
    }


async def test_generated_requests_are_answered_as_documented(demo, tmp_path):
    pair: LabPair = demo.pair
    config = schemathesis_config(tmp_path / "schemathesis.toml", await demo_ids(demo))
    admin = await pair.login(pair.primary)
    fred = await pair.login(pair.primary, "fred", demo.password)
    loop = asyncio.get_running_loop()
    started = loop.time()
    runs = [  # (who, where, token, examples per operation, phases)
        ("ipicsadmin", pair.primary, admin, 12, "coverage,fuzzing,stateful"),
        ("fred (role user)", pair.primary, fred, 4, "coverage,fuzzing"),
        # A few calls: the standby answers every client route 409 not_active, naming the
        # active server, before it looks at the token (so no coverage phase, whose
        # missing-token case wants a 401 first).
        ("ipicsadmin on the standby", pair.secondary, admin, 2, "fuzzing"),
    ]
    failed = []
    for who, server, token, examples, phases in runs:
        left = BUDGET_S - (loop.time() - started)
        try:
            result = await asyncio.to_thread(
                run_schemathesis, server.url, token, config, examples=examples, phases=phases, timeout_s=max(left, 1)
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the check as {who} outran its budget of {BUDGET_S} s:\n{exc.stdout or ''}", pytrace=False)
        if result.returncode != 0:
            failed.append(
                f"===== as {who} at {server.url}: exit {result.returncode}\n"
                f"{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
            )
    assert not failed, "\n".join(failed)


# ----------------------------------------------------- the operations not generated
async def metric(calls: DocumentedCalls, url: str, name: str, **labels: str) -> float:
    return Exposition((await calls(url, "metrics", status=200)).decode()).value(name, **labels)


async def monitoring_says(calls: DocumentedCalls, servers, *, primary, standby=None) -> None:
    """What Prometheus and a load balancer see: exactly one server is primary in
    ``/metrics`` and answers ``/primary`` 200, the one ``primary`` names; ``standby``,
    when given, is a Ready standby; both are healthy and alive."""
    others = [s for s in servers if s is not primary]
    assert await metric(calls, primary.url, "ipics_primary") == 1
    assert await metric(calls, primary.url, "ipics_role", role="active") == 1
    await calls(primary.url, "primary", status=200)
    await calls(primary.url, "standby", status=503)
    for other in others:
        assert await metric(calls, other.url, "ipics_primary") == 0
        await calls(other.url, "primary", status=503)
    if standby is not None:
        assert await metric(calls, standby.url, "ipics_standby_ready") == 1
        assert (await calls(standby.url, "standby", status=200))["standby_server_status"] == "Ready"
    for server in (primary, *others):
        await calls(server.url, "health", status=200)
        await calls(server.url, "liveness", status=200)


async def test_procedures_and_lab_faults_answer_as_documented(pair):
    """Each operation of ``NOT_GENERATED``, in an order that leaves the pair usable for
    the next step: refusals first, then Failover Now, Unconfigure, Delete and Save trust
    again, Configure, and a power-off."""
    primary, secondary = pair.primary, pair.secondary
    admin = await pair.login(primary)
    throwaway = await pair.login(primary)
    async with primary.client() as c:
        document = (await c.get("/api/openapi.json")).body
    calls = DocumentedCalls(document)
    try:
        status = await pair.status(primary)
        healthy = {"ha": "configured", "role": "active", "split_brain": False, "standby_server_status": "Ready"}
        assert {k: status[k] for k in healthy} == healthy, "the pair was not healthy before the test"
        # What a configured pair refuses, whatever the request: nothing changes.
        await calls(primary.url, "configure", status=409, token=admin)
        await calls(primary.url, "go_standby", status=409, token=admin)
        await calls(primary.url, "delete_trust", status=409, token=admin, body={"password": pair.admin_password})
        await calls(primary.url, "inject_fault", status=400, token=admin, body={"fault": "crash-service"})
        await calls(primary.url, "inject_fault", status=200, token=admin, body={"fault": "heal-link"})
        await calls(primary.url, "set_time_scale", status=200, token=admin, body={"time_scale": status["time_scale"]})
        unchanged = {k: status["heartbeat"][k] for k in ("port", "interval_s", "missed_count")}
        await calls(primary.url, "update_settings", status=200, token=admin, body=unchanged)
        await calls(primary.url, "logout", status=200, token=throwaway)
        await calls(primary.url, "logout", status=401, token=throwaway)
        # Monitoring sees the healthy pair: one primary (the active), one Ready standby.
        await monitoring_says(calls, pair.servers, primary=primary, standby=secondary)
        takeovers = await metric(calls, secondary.url, "ipics_takeovers_total")
        # Failover Now: the primary hands over, the secondary becomes active.
        await calls(primary.url, "failover_now", status=200, token=admin)
        await calls(primary.url, "unconfigure", status=409, token=admin)  # not from the standby
        await pair.wait_status(secondary, TAKEOVER_DEADLINE_S, role="active")
        await calls(primary.url, "health_active", status=503)
        # ... and after it: the other server is the one primary, and counted its takeover.
        await monitoring_says(calls, pair.servers, primary=secondary)
        assert await metric(calls, secondary.url, "ipics_takeovers_total") == takeovers + 1
        # Unconfigure on the new active: both reconfigure to standalone, still trusted.
        await calls(secondary.url, "unconfigure", status=200, token=admin)
        await calls(secondary.url, "failover_now", status=409, token=admin)  # HA is not configured now
        for server in pair.servers:
            await pair.wait_status(server, TAKEOVER_DEADLINE_S, role="standalone", ha="trusted")
        # Delete the trust, Save it again, Configure (which logs administrators out).
        await calls(primary.url, "delete_trust", status=200, token=admin, body={"password": pair.admin_password})
        await calls(
            primary.url,
            "establish_trust",
            status=200,
            token=admin,
            body={"partner_address": f"{secondary.host}:{secondary.port}", "password": pair.admin_password},
        )
        await calls(primary.url, "configure", status=200, token=admin)
        await pair.wait_ready()
        admin = await pair.login(primary)
        await pair.wait_replicated()  # sessions replicate: the token works on the standby
        # A crashed tomcat, then a power-off, answered before the server dies.
        await calls(
            secondary.url, "inject_fault", status=200, token=admin, body={"fault": "crash-service", "service": "tomcat"}
        )
        await calls(secondary.url, "list_channels", status=503, token=admin)  # tomcat_down
        await calls(secondary.url, "inject_fault", status=202, token=admin, body={"fault": "power-off"})
        await wait_until(lambda: secondary.proc.poll() is not None, 10, "the secondary to power off")
    finally:
        calls.close()
    assert set(NOT_GENERATED) <= calls.called
