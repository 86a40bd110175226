"""What devices' documents do to visit requests, as the projector receives them.

A ``visit_update`` moves its request through :mod:`.machine` when it may: the request exists
and is open, the device's agent belongs to the request's grid, and the request is assigned
to that agent or to nobody yet (whoever takes an unassigned request is assigned it, and the
document is signed anew so the grid sees it is taken). Anything else is **recorded, never
raised** — the projector must not stop on a device's mistake — with its outcome:
``unknown_request``, ``other_grid``, ``not_assigned``, ``not_dispatched``, ``closed`` (done or
cancelled) or ``stale`` (a status the current state does not allow, e.g. a repeated
``taken``). Milestones take the instant the device signed (``at``: the phone may have been
offline), never earlier than the request was dispatched nor later than its arrival; a
milestone reached once keeps its first instant (the hotline's timers measure the resident's
wait, not each agent's). Skipped milestones are filled in: ``done`` implies on site and
taken.

A ``case`` naming a ``request_id`` is linked to its request (``hall_visit_case``; outcome
``linked``, ``unknown_request`` or ``other_grid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import select

from fieldhall.field_app_api.tables import Agent

from ..audit import Actor, Subject
from ..context import Tx
from ..tables import HallCase, utc
from ..timelimits import WorkingCalendar
from .documents import sign_request
from .ladder import refresh_due
from .machine import TRANSITIONS, allowed
from .tables import HallVisitCase, HallVisitRequest, HallVisitUpdate

__all__ = ["link_case", "receive_update"]


def receive_update(tx: Tx, doc: Mapping[str, Any], calendar: WorkingCalendar) -> HallVisitUpdate:
    """Record a ``visit_update`` and apply it to its request if it may (module doc)."""
    status = str(doc.get("status"))
    location = doc.get("location")
    update = HallVisitUpdate(
        doc_id=str(doc["_id"]),
        request_id=str(doc.get("request_id")),
        agent_id=str(doc.get("agent_id")),
        device_id=str(doc.get("device_id")),
        status=status,
        at=_instant(doc.get("at")) or tx.at,
        note=doc.get("note"),
        location=orjson.dumps(location).decode() if location is not None else None,
        received_at=tx.at,
        outcome="unknown_request",
    )
    tx.session.add(update)
    request = tx.session.exec(
        select(HallVisitRequest).where(HallVisitRequest.id == update.request_id).with_for_update()
    ).first()
    if request is None:
        return update
    agent = tx.session.get(Agent, update.agent_id)
    update.outcome = _refusal(request, agent, status) or "applied"
    if update.outcome != "applied":
        return update
    at = min(max(update.at, utc(request.dispatched_at) or tx.at), tx.at)
    if status in ("taken", "on_site", "done") and request.taken_at is None:
        request.taken_at = at
    if status in ("on_site", "done") and request.on_site_at is None:
        request.on_site_at = at
    if status == "done":
        request.closed_at = at
        request.is_open = False
    previous = request.state
    request.state = TRANSITIONS[status][1]
    request.updates += 1
    refresh_due(calendar, request, tx.at)
    if request.assigned_agent_id is None and status != "cannot_complete":
        request.assigned_agent_id = update.agent_id
        sign_request(tx, request)
    tx.session.add(request)
    tx.audit(
        Actor.device(update.device_id),
        f"visit.{status}",
        Subject("visit_request", request.id),
        {"update_id": update.doc_id, "from_state": previous, "to_state": request.state},
    )
    return update


def _refusal(request: HallVisitRequest, agent: Agent | None, status: str) -> str | None:
    if request.state == "pending":
        return "not_dispatched"  # no grid yet: nobody's to take
    if agent is None or agent.grid_id is None or agent.grid_id != request.grid_id:
        return "other_grid"
    if request.assigned_agent_id is not None and request.assigned_agent_id != agent.id:
        return "not_assigned"
    if not request.is_open:
        return "closed"
    if status not in TRANSITIONS or not allowed(status, request.state):
        return "stale"
    return None


def link_case(tx: Tx, case: HallCase) -> HallVisitCase | None:
    """Link a case filed on a visit (its ``request_id``) to the request."""
    if not case.request_id:
        return None
    request = tx.session.get(HallVisitRequest, case.request_id)
    if request is None:
        outcome = "unknown_request"
    elif request.grid_id != case.grid_id:
        outcome = "other_grid"
    else:
        outcome = "linked"
    link = HallVisitCase(
        case_id=case.id,
        request_id=case.request_id,
        agent_id=case.agent_id,
        linked_at=tx.at,
        outcome=outcome,
    )
    tx.session.add(link)
    tx.audit(
        Actor.device(case.device_id),
        "visit.case_filed",
        Subject("visit_request", case.request_id),
        {"case_id": case.id, "outcome": outcome},
    )
    return link


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        return None
