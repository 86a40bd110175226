"""What the visit-request endpoints take: one msgspec Struct per operation, parsed from the
request body, and the canonical form an ``Idempotency-Key`` is bound to."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from fieldhall.schemas.documents import PHONE_PATTERN

from ..errors import BadRequest

__all__ = ["Cancel", "CreateVisit", "Dispatch", "Resident", "parse", "request_hash"]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Instant = Annotated[datetime, msgspec.Meta(tz=True)]


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Resident(_Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    phone: Annotated[str, msgspec.Meta(pattern=PHONE_PATTERN)] | None = None


class CreateVisit(_Body, kw_only=True):
    """A resident's request as the hotline, the community or the family passed it on."""

    source: Literal["hotline", "community", "family", "resident", "hall"]
    urgency: Literal["simple", "urgent"] = "simple"
    resident: Resident
    matter_id: Ident | None = None
    # Where to dispatch it; without a grid it waits (``pending``) for ``dispatch``.
    grid_id: Ident | None = None
    assigned_agent_id: Ident | None = None
    # When the resident asked (the hotline's call); the timers run from it. Default: now.
    requested_at: Instant | None = None
    ticket: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    note: Text | None = None


class Dispatch(_Body, kw_only=True):
    """``dispatch`` a pending request, or ``reassign`` one: a grid (default: its own) and
    possibly one of that grid's agents (none: every agent of the grid sees it)."""

    grid_id: Ident | None = None
    agent_id: Ident | None = None
    reason: Text | None = None


class Cancel(_Body, kw_only=True):
    reason: Text


def parse(kind: type[_Body], body: Mapping[str, Any] | None) -> Any:
    try:
        return msgspec.convert(dict(body or {}), kind)
    except msgspec.ValidationError as exc:
        raise BadRequest("visit.bad_request", str(exc)) from None


def request_hash(target: str, operation: str, command: Any) -> str:
    """SHA-256 of the canonical request an ``Idempotency-Key`` stands for."""
    body = {"target": target, "operation": operation, "body": msgspec.to_builtins(command)}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
