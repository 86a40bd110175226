"""Finding visit requests: the list with its filters and keyset paging, and one request in
full with its timeline.

Requests are listed newest first by (``created_at``, ``id``); a page's cursor is the last pair
it showed, so a page costs what it returns and requests created meanwhile never shift a
page. ``overdue`` means open with a timer due and not met (``next_due_at`` passed).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, col, select

from ..errors import BadRequest, NotFound
from ..tables import utc
from ..timelimits import WorkingCalendar
from .machine import STATES
from .tables import HallVisitCase, HallVisitEscalation, HallVisitRequest, HallVisitUpdate
from .views import case_link_json, escalation_json, request_json, update_json

__all__ = ["MAX_PAGE", "VisitFilter", "list_requests", "request_detail"]

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class VisitFilter:
    state: str | None = None
    grid: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    agent: str | None = None


def _encode(created_at: datetime, request_id: str) -> str:
    raw = orjson.dumps([created_at.isoformat(), request_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, request_id = orjson.loads(raw)
        moment = utc(datetime.fromisoformat(stamp))
        if moment is None or not isinstance(request_id, str):
            raise ValueError
        return moment, request_id
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("visit.bad_cursor", "the cursor is not one this server gave") from None


def list_requests(
    session: Session,
    filters: VisitFilter,
    now: datetime,
    calendar: WorkingCalendar,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of requests (newest first) and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest("visit.bad_limit", f"limit is 1 to {MAX_PAGE}")
    if filters.state is not None and filters.state not in STATES:
        raise BadRequest("visit.bad_filter", f"state is one of {', '.join(STATES)}")
    if filters.urgency is not None and filters.urgency not in ("simple", "urgent"):
        raise BadRequest("visit.bad_filter", "urgency is simple or urgent")
    query = select(HallVisitRequest)
    if filters.state:
        query = query.where(HallVisitRequest.state == filters.state)
    if filters.grid:
        query = query.where(HallVisitRequest.grid_id == filters.grid)
    if filters.urgency:
        query = query.where(HallVisitRequest.urgency == filters.urgency)
    if filters.agent:
        query = query.where(HallVisitRequest.assigned_agent_id == filters.agent)
    if filters.overdue is not None:
        late = (
            col(HallVisitRequest.is_open).is_(True)
            & col(HallVisitRequest.next_due_at).is_not(None)
            & (col(HallVisitRequest.next_due_at) <= now)
        )
        query = query.where(late if filters.overdue else ~late)
    if cursor:
        created, last = _decode(cursor)
        query = query.where(
            (col(HallVisitRequest.created_at) < created)
            | ((col(HallVisitRequest.created_at) == created) & (col(HallVisitRequest.id) < last))
        )
    rows = list(
        session.exec(
            query.order_by(
                col(HallVisitRequest.created_at).desc(), col(HallVisitRequest.id).desc()
            ).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    following = None
    if more and rows:
        last_row = rows[-1]
        following = _encode(utc(last_row.created_at) or now, last_row.id)
    return [request_json(r, calendar, now) for r in rows], following


def request_detail(
    session: Session, request_id: str, now: datetime, calendar: WorkingCalendar
) -> dict[str, Any]:
    """A request in full: its clocks, the cases filed on it, and its timeline (the agent's
    updates at the instant they were signed, and the ladder's escalations, oldest first)."""
    request = session.get(HallVisitRequest, request_id)
    if request is None:
        raise NotFound("visit.not_found", f"no visit request {request_id}")
    updates = session.exec(
        select(HallVisitUpdate).where(HallVisitUpdate.request_id == request_id)
    ).all()
    escalations = session.exec(
        select(HallVisitEscalation).where(HallVisitEscalation.request_id == request_id)
    ).all()
    cases = session.exec(
        select(HallVisitCase)
        .where(HallVisitCase.request_id == request_id)
        .order_by(col(HallVisitCase.linked_at))
    ).all()
    timeline = sorted(
        [(utc(u.at), 0, update_json(u)) for u in updates]
        + [(utc(e.at), 1, escalation_json(e)) for e in escalations],
        key=lambda entry: (entry[0], entry[1]),
    )
    body = request_json(request, calendar, now)
    body["cases"] = [case_link_json(c) for c in cases]
    body["timeline"] = [entry for _, _, entry in timeline]
    return body
