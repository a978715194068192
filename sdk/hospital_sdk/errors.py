"""Typed errors. Every error answer of the open API is the envelope
{"error": {"code", "message", "details", "request_id"}}; its fields are on the exception."""
from __future__ import annotations

from typing import Any


class OpenApiError(Exception):
    """Base of every SDK error. `status` is the HTTP status (None when no answer came)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: Any = None, request_id: str | None = None, response=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details if details is not None else {}
        self.request_id = request_id
        self.response = response
        # set on the error of a batch upsert that failed part way: the merged result of the
        # chunks that were accepted before it (re-running the whole call is safe: idempotent)
        self.partial_result = None
        self.batch_offset = None

    def __str__(self) -> str:
        parts = [f"{self.status}" if self.status is not None else None, self.code, self.message]
        text = " ".join(p for p in parts if p)
        return f"{text} (request_id={self.request_id})" if self.request_id else text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
                f"message={self.message!r}, request_id={self.request_id!r})")


class ApiConnectionError(OpenApiError):
    """No usable answer: connection refused or dropped, DNS failure, or a timeout (after the
    retries allowed for the call). `__cause__` is the underlying requests exception."""


class ApiTimeout(ApiConnectionError):
    """The connect or read timeout passed."""


class BadRequest(OpenApiError):
    """400 and any other 4xx without a class of its own."""


class AuthenticationError(OpenApiError):
    """401: signature_missing, key_unknown, key_revoked, timestamp_out_of_window,
    signature_invalid, nonce_reused."""


class PermissionDenied(OpenApiError):
    """403, e.g. hospital_suspended, or ids of another hospital."""


class NotFound(OpenApiError):
    """404."""


class Conflict(OpenApiError):
    """409: the current state does not allow the change."""


class ValidationError(OpenApiError):
    """422: `details` maps fields (or item positions) to messages."""


class RateLimited(OpenApiError):
    """429 after the retries allowed; `retry_after` in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(OpenApiError):
    """5xx (after the retries allowed for 502/503/504)."""


_BY_STATUS = {400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound,
              409: Conflict, 422: ValidationError, 429: RateLimited}


def error_class(status: int) -> type[OpenApiError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return BadRequest
    return OpenApiError
