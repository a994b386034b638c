"""Monitoring: ``GET /metrics`` for Prometheus (the modes beyond IPICS included), and
health checks in Patroni's shape for load balancers (``/primary``, ``/standby``,
``/health``, ``/liveness``; GET or HEAD).

Open to anyone without a token, as Patroni's are: they say what role a server has and
how its HA is, never a record, a user name or a secret.  "Primary" here is Patroni's
word: the server that takes the writes, which the chapter calls the active server
(whichever of the primary and secondary servers it is).
"""

from __future__ import annotations

from aiohttp import web

from ..appkeys import SERVER
from ..core.exposition import CONTENT_TYPE, Family, render
from ..core.modes import SynchronousState
from ..core.roles import HAState, Role, StandbyServerStatus
from ..core.throttle import LOGIN, SHELL, TRUST
from ..ha.synchronous import ACK_TIMES_KEPT
from .middlewares import ANSWERED

WAYS_IN = (LOGIN, SHELL, TRUST)
#: what this server asked of the witness got: a vote, a refusal, or no answer
WITNESS_RESULTS = {"granted": "votes_granted", "refused": "votes_refused", "unreachable": "unreachable"}
#: the time-to-acknowledge quantiles the status keeps (``ha/synchronous.py``)
ACK_QUANTILES = {"0.5": "ack_ms_p50", "0.99": "ack_ms_p99"}


# ------------------------------------------------------------------------ health
def _check(request: web.Request, ok: bool) -> web.Response:
    """Patroni answers every check with the node's state: 200 when it passes, else 503."""
    server = request.app[SERVER]
    engine = server.engine
    ready = engine.standby_server_status
    body = {
        "ok": ok,
        "role": engine.role.value,
        "ha": engine.ha.value,
        "standby_server_status": ready.value if ready else None,
        "tomcat": server.services.state["tomcat"],
    }
    return web.json_response(body, status=200 if ok else 503)


async def primary(request: web.Request) -> web.Response:
    engine = request.app[SERVER].engine
    return _check(request, engine.role == Role.ACTIVE and engine.accepts_writes)


async def standby(request: web.Request) -> web.Response:
    engine = request.app[SERVER].engine
    ready = engine.role == Role.STANDBY and engine.standby_server_status == StandbyServerStatus.READY
    return _check(request, ready)


async def health(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    return _check(request, server.services.running("tomcat") and not server.engine.suspended)


async def liveness(request: web.Request) -> web.Response:
    return _check(request, True)  # the process answers: that is all a liveness probe asks


# ----------------------------------------------------------------------- metrics
async def metrics(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    engine = server.engine
    st = await engine.status()
    hb, rep = st["heartbeat"], st["replication"]
    lag = engine.replication_lag_ms()
    discarded = await server.store.get_local("discarded", [])
    accounts = server.data.accounts
    families = [
        Family("ipics_role", "gauge", "1 for this server's role now (active, standby, standalone, transitioning)."),
        Family(
            "ipics_primary",
            "gauge",
            "1 if this server is the active server taking clients and writes (Patroni's primary), else 0.",
        ).add(int(engine.role == Role.ACTIVE and engine.accepts_writes)),
        Family("ipics_standby", "gauge", "1 if this server is the standby server, else 0.").add(
            int(engine.role == Role.STANDBY)
        ),
        Family("ipics_ha_state", "gauge", "1 for this server's HA state (unconfigured, trusted, configured)."),
        Family(
            "ipics_standby_ready", "gauge", "1 if the Standby Server Status this server reports is Ready, else 0."
        ).add(int(st["standby_server_status"] == StandbyServerStatus.READY.value)),
        Family("ipics_split_brain", "gauge", "1 while this server sees itself in a split brain, else 0.").add(
            int(st["split_brain"])
        ),
        Family(
            "ipics_heartbeats_sent_total", "counter", "Heartbeats sent to the partner since this process started."
        ).add(hb["sent"]),
        Family(
            "ipics_heartbeats_missed_total",
            "counter",
            "Scheduled heartbeats the partner did not answer since this process started.",
        ).add(hb["missed_total"]),
        Family("ipics_heartbeats_missed_now", "gauge", "Heartbeats missed in a row now.").add(hb["missed_now"]),
        Family(
            "ipics_takeovers_total", "counter", "Times this server took the active role since this process started."
        ).add(engine.became_active_total),
        Family(
            "ipics_replication_pending_entries",
            "gauge",
            "On the active: transaction log entries the standby has not acknowledged yet; else 0.",
        ).add(rep["pending"]),
        Family(
            "ipics_replication_lag_seconds",
            "gauge",
            "On the active: the time the last replicated batch took to be acknowledged (0 before the first).",
        ).add(lag[-1] / 1000 if lag else 0),
        Family(
            "ipics_transaction_log_used_ratio",
            "gauge",
            "On the active: the share of the transaction log in use (0.75 warning, 0.9 HA unconfigured, 1 DDRBLOCK).",
        ).add(rep["transaction_log_used_percent"] / 100),
        Family(
            "ipics_discarded_records",
            "gauge",
            "Entries in this server's discarded log (records a standby dropped adopting the active's data).",
        ).add(len(discarded)),
        Family(
            "ipics_logins_refused_total",
            "counter",
            "Wrong passwords since this process started, by way in (login: API and Administration Console).",
        ),
        Family(
            "ipics_logins_throttled_total",
            "counter",
            "Attempts refused unchecked while their client was locked out, by way in.",
        ),
        Family("ipics_service_running", "gauge", "1 if this IPICS service (tomcat, database, ...) runs, else 0."),
        Family("ipics_http_requests_total", "counter", "HTTP answers given since this process started, by status."),
    ]
    by_name = {f.name: f for f in families}
    for role in Role:
        by_name["ipics_role"].add(int(engine.role == role), role=role.value)
    for ha in HAState:
        by_name["ipics_ha_state"].add(int(engine.ha == ha), ha=ha.value)
    for way in WAYS_IN:
        by_name["ipics_logins_refused_total"].add(accounts.logins_refused[way], way=way)
        by_name["ipics_logins_throttled_total"].add(accounts.logins_throttled[way], way=way)
    for service, state in st["services"].items():
        by_name["ipics_service_running"].add(int(state == "running"), service=service)
    for code, count in sorted(request.app[ANSWERED].items()):
        by_name["ipics_http_requests_total"].add(count, code=str(code))
    families += modes_families(st["modes"], st["synchronous"], st["witness"])
    common = {"server": st["server"] or ""}
    return web.Response(body=render(families, common).encode(), headers={"Content-Type": CONTENT_TYPE})


def modes_families(modes: dict, synchronous: dict | None, witness: dict | None) -> list[Family]:
    """The modes beyond IPICS (issue 18): which are on, synchronous replication and the
    witness's vote as this server sees them.  The families are always listed (a scraper
    and a dashboard find the same names on every pair); their samples only where the
    mode is on, as the status's ``synchronous`` and ``witness`` are null otherwise."""
    info = Family(
        "ipics_modes_info",
        "gauge",
        "Always 1: the pair's modes as labels (replication async or synchronous, synchronous_policy, witness).",
    ).add(
        1,
        replication=modes["replication"],
        synchronous_policy=modes["synchronous_policy"] or "",
        witness=str(bool(modes["witness"])).lower(),
    )
    state = Family(
        "ipics_synchronous_state",
        "gauge",
        "Synchronous replication: 1 for its state now (synchronous, waiting, suspended, refusing, idle).",
    )
    waiting = Family(
        "ipics_synchronous_writes_waiting", "gauge", "Writes waiting now for the standby to acknowledge them."
    )
    refused = Family(
        "ipics_synchronous_writes_refused_total",
        "counter",
        "Writes refused or not acknowledged by synchronous replication since this process started.",
    )
    without = Family(
        "ipics_synchronous_acknowledged_without_standby_total",
        "counter",
        "Writes acknowledged without the standby (fallback policy, suspended) since this process started.",
    )
    ack = Family(
        "ipics_synchronous_ack_seconds",
        "gauge",
        f"Real seconds a write waited for the standby's acknowledgement: quantile of the last {ACK_TIMES_KEPT} writes.",
    )
    if synchronous is not None:
        for s in SynchronousState:
            state.add(int(synchronous["state"] == s.value), state=s.value)
        waiting.add(synchronous["writes_waiting"])
        refused.add(synchronous["writes_refused"])
        without.add(synchronous["acknowledged_without_standby"])
        for quantile, key in ACK_QUANTILES.items():
            if synchronous[key] is not None:  # no write acknowledged yet: no quantile to say
                ack.add(synchronous[key] / 1000, quantile=quantile)
    held = Family("ipics_witness_vote_held", "gauge", "1 while this server holds the witness's vote, else 0.")
    reachable = Family(
        "ipics_witness_reachable",
        "gauge",
        "1 if the witness answered this server's last request, 0 if not; none before the first request.",
    )
    asked = Family(
        "ipics_witness_vote_requests_total",
        "counter",
        "This server's requests for the witness's vote since this process started, by result.",
    )
    if witness is not None:
        held.add(int(witness["holds_vote"]))
        if witness["reachable"] is not None:  # a standby asks only when it would take over
            reachable.add(int(witness["reachable"]))
        for result, key in WITNESS_RESULTS.items():
            asked.add(witness[key], result=result)
    return [info, state, waiting, refused, without, ack, held, reachable, asked]
