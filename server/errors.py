"""The one error type handlers and services raise; the middleware turns it into JSON."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal a client can act on: HTTP status, a stable code and a clear sentence."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # sent with the answer, e.g. Retry-After on a 429
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, "bad_request", message, **extra)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str, **extra: Any) -> ApiError:
    return ApiError(409, "conflict", message, **extra)
