"""Call one documented operation with a fixed request and check the answer against the
OpenAPI document, as schemathesis checks the requests it generates: the status is
declared, the body matches its declared schema and media type, the declared headers
are there.  For the operations a test calls in a chosen order, with chosen data."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: no 5xx check: the caller asserts the status it expects (a 503 is the documented
#: answer of health/active on a standby)
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]


class DocumentedCalls:
    """``await calls(url, operation_id, status=..., token=..., body=...)``: the answer's
    JSON body (or bytes), after checking it against ``document``."""

    def __init__(self, document: dict):
        self.schema = schemathesis.openapi.from_dict(document)
        self.session = requests.Session()
        self.called: set[str] = set()

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        url: str,
        operation_id: str,
        *,
        token: str | None = None,
        body: Any = None,
        path_parameters: dict | None = None,
        query: dict | None = None,
        raw: bytes | None = None,
        media_type: str = "application/json",
    ):
        operation = self.schema.find_operation_by_id(operation_id)
        self.called.add(operation_id)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {}
        if body is not None or raw is not None:
            kwargs = {"body": raw if raw is not None else body, "media_type": media_type}
        case = operation.Case(headers=headers, path_parameters=path_parameters or {}, query=query or {}, **kwargs)
        return case.call_and_validate(base_url=url, session=self.session, checks=CHECKS)

    async def __call__(self, url: str, operation_id: str, *, status: int, **kwargs):
        reply = await asyncio.to_thread(self.call, url, operation_id, **kwargs)
        assert reply.status_code == status, (operation_id, reply.status_code, reply.text)
        if reply.headers.get("content-type", [""])[0].startswith("application/json"):
            return reply.json()
        return reply.content
