"""CouchDB's wire errors, as one table with one constructor.

Hierarchy::

    CouchError                      raised when a request must fail with CouchDB's JSON error
    ├── BadRequest       400        malformed input: JSON, ids, revs, parameters
    ├── Unauthorized     401        no, unknown or wrong credentials
    ├── Forbidden        403        the policy refuses a write or a read
    ├── NotFound         404        missing or deleted document, missing database
    ├── MethodNotAllowed 405        a method the resource does not take
    ├── NotAcceptable    406        an Accept header we cannot honour
    ├── Conflict         409        stale or missing rev on an update
    ├── PreconditionFailed 412      the database exists, a stub names no attachment
    ├── TooLarge         413        a body over the configured maximum
    ├── BadContentType   415        a body in a media type the endpoint does not take
    └── ServiceUnavailable 503      a temporary failure (database busy); never ``forbidden``

Every error carries ``error`` and ``reason`` exactly as CouchDB spells them.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadContentType",
    "BadRequest",
    "Conflict",
    "CouchError",
    "Forbidden",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "PreconditionFailed",
    "ServiceUnavailable",
    "TooLarge",
    "Unauthorized",
]


class CouchError(Exception):
    status: ClassVar[int] = 500
    error: ClassVar[str] = "unknown_error"
    default_reason: ClassVar[str] = "Unknown error"

    def __init__(self, reason: str | None = None, *, error: str | None = None) -> None:
        self.reason = reason if reason is not None else self.default_reason
        self.error_name = error if error is not None else self.error
        super().__init__(f"{self.error_name}: {self.reason}")

    def to_json(self) -> dict[str, str]:
        return {"error": self.error_name, "reason": self.reason}


class BadRequest(CouchError):
    status = 400
    error = "bad_request"
    default_reason = "Bad request"


class Unauthorized(CouchError):
    status = 401
    error = "unauthorized"
    default_reason = "You are not authorized to access this db."


class Forbidden(CouchError):
    status = 403
    error = "forbidden"
    default_reason = "You are not allowed to access this db."


class NotFound(CouchError):
    status = 404
    error = "not_found"
    default_reason = "missing"


class MethodNotAllowed(CouchError):
    status = 405
    error = "method_not_allowed"
    default_reason = "Method not allowed"


class NotAcceptable(CouchError):
    status = 406
    error = "not_acceptable"
    default_reason = "Not acceptable"


class Conflict(CouchError):
    status = 409
    error = "conflict"
    default_reason = "Document update conflict."


class PreconditionFailed(CouchError):
    status = 412
    error = "file_exists"
    default_reason = "The database could not be created, the file already exists."


class TooLarge(CouchError):
    status = 413
    error = "too_large"
    default_reason = "the request entity is too large"


class BadContentType(CouchError):
    status = 415
    error = "bad_content_type"
    default_reason = "Content-Type must be application/json"


class ServiceUnavailable(CouchError):
    status = 503
    error = "service_unavailable"
    default_reason = "The database is temporarily unavailable; retry."
