"""Visit requests, their updates, escalations and cases as the hall API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from fieldhall.field_app_api.clock import rfc3339

from ..timelimits import EscalationStep, WorkingCalendar
from .ladder import timer_readings
from .tables import HallVisitCase, HallVisitEscalation, HallVisitRequest, HallVisitUpdate

__all__ = ["case_link_json", "escalation_json", "request_json", "update_json"]


def request_json(
    request: HallVisitRequest, calendar: WorkingCalendar, now: datetime
) -> dict[str, Any]:
    readings = timer_readings(calendar, request, now)
    return {
        "id": request.id,
        "source": request.source,
        "urgency": request.urgency,
        "ticket": request.ticket,
        "resident": {
            "name": request.resident_name,
            "address": request.resident_address,
            "phone": request.resident_phone,
        },
        "matter_id": request.matter_id,
        "note": request.note,
        "grid_id": request.grid_id,
        "assigned_agent_id": request.assigned_agent_id,
        "state": request.state,
        "open": request.is_open,
        "created_by": request.created_by,
        "requested_at": rfc3339(request.requested_at),
        "created_at": rfc3339(request.created_at),
        "dispatched_at": rfc3339(request.dispatched_at),
        "taken_at": rfc3339(request.taken_at),
        "on_site_at": rfc3339(request.on_site_at),
        "closed_at": rfc3339(request.closed_at),
        "cancelled_at": rfc3339(request.cancelled_at),
        "cancel_reason": request.cancel_reason,
        "deadlines": {
            "dispatch_by": rfc3339(request.dispatch_by),
            "take_by": rfc3339(request.take_by),
            "on_site_by": rfc3339(request.on_site_by),
            "close_by": rfc3339(request.close_by),
        },
        "timers": [r.to_json() for r in readings],
        "overdue": any(r.step is not EscalationStep.NONE for r in readings),
        "escalation_step": request.escalation_step,
        "document": {"version": request.version, "published": request.published_version},
    }


def update_json(update: HallVisitUpdate) -> dict[str, Any]:
    return {
        "kind": "update",
        "doc_id": update.doc_id,
        "status": update.status,
        "agent_id": update.agent_id,
        "device_id": update.device_id,
        "at": rfc3339(update.at),
        "received_at": rfc3339(update.received_at),
        "note": update.note,
        "location": orjson.loads(update.location) if update.location else None,
        "outcome": update.outcome,
    }


def escalation_json(escalation: HallVisitEscalation) -> dict[str, Any]:
    step = EscalationStep(escalation.step)
    return {
        "kind": "escalation",
        "milestone": escalation.milestone,
        "step": int(step),
        "label": step.label_zh,
        "addressee": escalation.addressee,
        "addressee_id": escalation.addressee_id,
        "due_at": rfc3339(escalation.due_at),
        "at": rfc3339(escalation.at),
    }


def case_link_json(link: HallVisitCase) -> dict[str, Any]:
    return {
        "case_id": link.case_id,
        "agent_id": link.agent_id,
        "linked_at": rfc3339(link.linked_at),
        "outcome": link.outcome,
    }
