"""Errors of the hall domain, each with a stable code clients can switch on.

Hierarchy::

    HallError                   raised when a hall operation cannot be carried out; ``code``
    │                           is stable (``case.transition_not_allowed``), ``status`` the
    │                           HTTP status it maps to
    ├── NotFound                raised when the case (or action, or step) does not exist (404)
    ├── Forbidden               raised when the staff member's role or department may not
    │                           do this (403)
    ├── Conflict                raised when the case's state does not allow it (409)
    └── BadRequest              raised when the request itself is malformed (400/422)

The wire shape is ``{"error": code, "reason": message}``.
"""

from __future__ import annotations

__all__ = ["BadRequest", "Conflict", "Forbidden", "HallError", "NotFound"]


class HallError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        super().__init__(f"{code}: {message}")

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "reason": self.message}


class NotFound(HallError):
    """Raised when the case, action or step does not exist."""

    status = 404


class Forbidden(HallError):
    """Raised when the caller's role or department may not do this."""

    status = 403


class Conflict(HallError):
    """Raised when the case's current state does not allow the operation."""

    status = 409


class BadRequest(HallError):
    """Raised when the request body or parameters are malformed."""

    status = 400
