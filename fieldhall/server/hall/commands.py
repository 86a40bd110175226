"""What each staff action takes: one msgspec Struct per action, parsed from the request body.

``parse_command(action, body)`` returns the typed command or raises ``BadRequest``
(``case.bad_request``); :func:`canonical` is the form an ``Idempotency-Key`` is bound to (so
key order and whitespace do not make a retry look like another request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
import orjson

from .errors import BadRequest, NotFound

__all__ = [
    "AnswerComplaint",
    "Complaint",
    "DecideStep",
    "Delivery",
    "Item",
    "Items",
    "Note",
    "Reasoned",
    "Refusal",
    "parse_command",
    "request_hash",
]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Problem = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class _Command(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Note(_Command):
    """An action that needs nothing but may say why."""

    reason: Text | None = None


class Reasoned(_Command):
    """An action that must say why (withdrawal)."""

    reason: Text


class Item(_Command):
    problem: Problem
    material_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    due: date | None = None


class Items(_Command):
    """A one-time notice, or the deficiencies of an acceptance: every item at once."""

    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=100)]
    reason: Text | None = None


class Refusal(_Command):
    reason: Text
    legal_basis: Text


class DecideStep(_Command):
    decision: Literal["approved", "denied"]
    reason: Text | None = None
    step_id: Short | None = None
    department: Short | None = None


class Delivery(_Command):
    """A delivery the hall records itself: by mail (with its tracking number) or pickup."""

    method: Literal["mail", "pickup"]
    tracking_number: Short | None = None
    recipient_name: Short | None = None
    recipient_relation: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    comment: Text | None = None


class Complaint(_Command):
    complexity: Literal["simple", "general", "complex"]
    reason: Text


class AnswerComplaint(_Command):
    answer: Text
    complaint_id: int | None = None


COMMANDS: dict[str, type[_Command]] = {
    "pass_pre_review": Note,
    "issue_notice": Items,
    "accept": Note,
    "accept_with_deficiencies": Items,
    "refuse": Refusal,
    "decide_step": DecideStep,
    "mark_result_ready": Note,
    "record_delivery": Delivery,
    "close": Note,
    "withdraw": Reasoned,
    "escalate_complaint": Complaint,
    "answer_complaint": AnswerComplaint,
}


def parse_command(action: str, body: Mapping[str, Any] | None) -> Any:
    kind = COMMANDS.get(action)
    if kind is None:
        raise NotFound("case.unknown_action", f"no action {action!r}")
    try:
        return msgspec.convert(dict(body or {}), kind)
    except msgspec.ValidationError as exc:
        raise BadRequest("case.bad_request", str(exc)) from None


def request_hash(case_id: str, action: str, command: Any) -> str:
    """SHA-256 of the canonical request an ``Idempotency-Key`` stands for."""
    body = {"case_id": case_id, "action": action, "body": msgspec.to_builtins(command)}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
