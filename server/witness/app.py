"""The witness process: one vote for a pair, given to one server at a time for a lease.

    POST /witness/vote     {"server": "primary"|"secondary", "lease_s": REAL_SECONDS, "role": ROLE,
                            "term": N|null}   -> {"granted", "reason", "holder", "remaining_s", "term"}
    POST /witness/release  {"server": ..., "term": N}
    GET  /witness/status   who holds the vote, for how long, the last votes asked
    GET  /metrics          the same for Prometheus (no secret in it)

Votes and releases need the key shared with both servers (``Authorization: Bearer``);
status and metrics are open, as a server's ``/metrics`` is.  The lease is measured on
this process's clock from the moment it grants the vote; the server measures its own
from the moment it asked, so the server's lease always ends first (``ha/witness.py``).
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..core.exposition import CONTENT_TYPE, Family, render
from ..core.modes import Ballot, cast_vote, release_vote
from . import ballot_file

log = logging.getLogger("ipics.witness")

SERVERS = ("primary", "secondary")
MAX_LEASE_S = 3600.0
MAX_BODY = 4096
VOTES_KEPT = 50


class Witness:
    """The ballot and what was asked of it."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.monotonic):
        self.data_dir = data_dir
        self.clock = clock
        self.ballot: Ballot = ballot_file.read(data_dir, clock())
        #: the ballot as the file holds it (None: not written by this process yet)
        self._written: Ballot | None = None
        self.votes: deque[dict[str, Any]] = deque(maxlen=VOTES_KEPT)
        self.counts: dict[tuple[str, str], int] = {(s, r): 0 for s in SERVERS for r in ("granted", "refused")}

    def vote(self, server: str, lease_s: float, role: str, term: int | None = None) -> dict[str, Any]:
        now = self.clock()
        answer = cast_vote(self.ballot, server, now, lease_s, term)
        changed_holder = answer.ballot.holder != self.ballot.holder
        if answer.granted:
            self.ballot = answer.ballot
            self._save(now, lease_s)
        result = "granted" if answer.granted else "refused"
        self.counts[(server, result)] += 1
        if changed_holder or not answer.granted:
            # renewals by the holder are the steady state: only changes and refusals are news
            self.votes.append(
                {"at": time.time(), "server": server, "role": role, "granted": answer.granted, "reason": answer.reason}
            )
            log.warning("%s (asked by the %s, %s)", answer.reason, server, role)
        return {"granted": answer.granted, "reason": answer.reason, **self.holding(now), "term": self.ballot.term}

    def release(self, server: str, term: int | None = None) -> dict[str, Any]:
        now = self.clock()
        released = release_vote(self.ballot, server, term)
        if released != self.ballot:
            self.ballot = released
            self._written = ballot_file.write(self.data_dir, released, now)
            self.votes.append(
                {
                    "at": time.time(),
                    "server": server,
                    "role": None,
                    "granted": False,
                    "reason": f"the {server} handed the witness's vote back",
                }
            )
            log.warning("the %s handed the vote back", server)
        return self.holding(now)

    def _save(self, now: float, lease_s: float) -> None:
        """On disk, a ballot whose lease ends no earlier than the one just given: a
        restarted witness must never give away a vote still held.  Renewals by the same
        holder are written only once a lease of headroom is used up (the file says one
        lease more than given), so the holder renewing every Heartbeat Interval does not
        cost an fsync each time; after a restart the holder keeps the vote that much
        longer, which is safe."""
        written = self._written
        if (
            written is not None
            and (written.holder, written.term) == (self.ballot.holder, self.ballot.term)
            and written.until >= self.ballot.until
        ):
            return
        self._written = ballot_file.write(
            self.data_dir, Ballot(self.ballot.holder, self.ballot.until + lease_s, self.ballot.term), now
        )

    def holding(self, now: float | None = None) -> dict[str, Any]:
        now = self.clock() if now is None else now
        held = self.ballot.holder is not None and now < self.ballot.until
        return {
            "holder": self.ballot.holder if held else None,
            "remaining_s": round(self.ballot.until - now, 3) if held else None,
        }

    def status(self) -> dict[str, Any]:
        return {**self.holding(), "votes": list(self.votes)}

    def metrics(self) -> str:
        holding = self.holding()
        holder = Family("ipics_witness_vote_holder", "gauge", "1 for the server that holds the witness's vote now.")
        votes = Family("ipics_witness_votes_total", "counter", "Votes asked of the witness, by server and result.")
        for server in SERVERS:
            holder.add(int(holding["holder"] == server), server=server)
            for result in ("granted", "refused"):
                votes.add(self.counts[(server, result)], server=server, result=result)
        return render([holder, votes])


class BadRequest(web.HTTPBadRequest):
    def __init__(self, message: str):
        super().__init__(text=f'{{"error": "bad_request", "message": "{message}"}}', content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise BadRequest(f"the body is larger than {MAX_BODY} bytes")
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    server = body.get("server")
    if server not in SERVERS:
        raise BadRequest("server must be primary or secondary")
    return body


def _term(body: dict[str, Any]) -> int | None:
    """The grant a server names (absent or null: none)."""
    term = body.get("term")
    if term is None:
        return None
    if isinstance(term, bool) or not isinstance(term, int) or not 0 <= term < 2**63:
        raise BadRequest("term must be a whole number, 0 or more, or null")
    return term


def _seconds(value: object) -> float | None:
    """A finite number of seconds, or None (a bool, a string, an integer too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def make_app(witness: Witness, key: bytes) -> web.Application:
    expected = f"Bearer {key.hex()}".encode()

    def authorized(request: web.Request) -> None:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise web.HTTPUnauthorized(
                text='{"error": "unauthorized", "message": "the witness key is missing or wrong"}',
                content_type="application/json",
            )

    async def vote(request: web.Request) -> web.Response:
        authorized(request)
        body = await _body(request)
        lease = _seconds(body.get("lease_s"))
        if lease is None or not 0 < lease <= MAX_LEASE_S:
            raise BadRequest(f"lease_s must be a number of seconds, more than 0 and at most {MAX_LEASE_S:.0f}")
        role = body.get("role")
        term = _term(body)
        return web.json_response(witness.vote(body["server"], lease, role if isinstance(role, str) else "?", term))

    async def release(request: web.Request) -> web.Response:
        authorized(request)
        body = await _body(request)
        return web.json_response(witness.release(body["server"], _term(body)))

    async def status(request: web.Request) -> web.Response:
        return web.json_response(witness.status())

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=witness.metrics().encode(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/witness/vote", vote)
    app.router.add_post("/witness/release", release)
    app.router.add_get("/witness/status", status)
    app.router.add_get("/metrics", metrics)
    return app
