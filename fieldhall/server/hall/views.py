"""How hall rows look on the wire (``/api/v1``): plain JSON-ready dicts, one function each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from fieldhall.field_app_api.clock import rfc3339

from .tables import (
    HallCase,
    HallComplaint,
    HallDelivery,
    HallEvent,
    HallItem,
    HallMaterial,
    HallStepDecision,
    HallSupplement,
    HallSuspension,
    utc,
)

__all__ = [
    "case_summary",
    "complaint_json",
    "delivery_json",
    "event_json",
    "item_json",
    "material_json",
    "step_decision_json",
    "supplement_json",
    "suspension_json",
]


def _at(moment: datetime | None) -> str | None:
    return rfc3339(utc(moment))


def case_summary(case: HallCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "state": case.state,
        "matter": {"id": case.matter_id, "catalog_version": case.catalog_version},
        "channel": case.channel,
        "agent_id": case.agent_id,
        "device_id": case.device_id,
        "grid_id": case.grid_id,
        "station_id": case.station_id,
        "request_id": case.request_id,
        "applicant": {"name": case.applicant_name, "address": case.applicant_address},
        "filed_at": _at(case.filed_at),
        "received_at": _at(case.received_at),
        "state_changed_at": _at(case.state_changed_at),
        "accepted_at": _at(case.accepted_at),
        "concluded_at": _at(case.concluded_at),
        "result_ready_at": _at(case.result_ready_at),
        "delivered_at": _at(case.delivered_at),
        "closed_at": _at(case.closed_at),
        "current_step": case.current_step,
        "due": {"legal": _at(case.legal_due_at), "promised": _at(case.promised_due_at)},
        "suspended": case.suspended,
        "open_deficiencies": case.open_deficiencies,
        "open_complaints": case.open_complaints,
        "notices_issued": case.notices_issued,
        "trips": case.trips,
        "delivery_method": case.delivery_method,
        "rating": case.rating,
    }


def event_json(event: HallEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "ordinal": event.ordinal,
        "action": event.action,
        "event": event.event,
        "from": event.from_state,
        "to": event.to_state,
        "actor": {"kind": event.actor_kind, "id": event.actor_id},
        "by_role": event.by_role,
        "department": event.department,
        "reason": event.reason,
        "legal_basis": event.legal_basis,
        "items": orjson.loads(event.items) if event.items else None,
        "step": {"id": event.step_id, "department": event.department, "decision": event.decision}
        if event.step_id
        else None,
        "at": _at(event.at),
        "signed": event.document is not None,
        "published": event.published_at is not None,
    }


def item_json(item: HallItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "event_id": item.event_id,
        "material_id": item.material_id,
        "problem": item.problem,
        "due": item.due.isoformat() if item.due else None,
        "resolved_at": _at(item.resolved_at),
        "resolved_by": item.resolved_by,
    }


def material_json(material: HallMaterial) -> dict[str, Any]:
    return {
        "doc_id": material.doc_id,
        "name": material.name,
        "material_id": material.material_id,
        "sha256": material.sha256,
        "length": material.length,
        "content_type": material.content_type,
        "captured_at": material.captured_at,
    }


def step_decision_json(decision: HallStepDecision) -> dict[str, Any]:
    return {
        "step_id": decision.step_id,
        "department": decision.department,
        "decision": decision.decision,
        "decided_by": decision.decided_by,
        "reason": decision.reason,
        "at": _at(decision.at),
    }


def suspension_json(suspension: HallSuspension) -> dict[str, Any]:
    return {
        "started_at": _at(suspension.started_at),
        "ended_at": _at(suspension.ended_at),
        "started_by_event": suspension.started_by_event,
        "ended_by": suspension.ended_by,
    }


def supplement_json(supplement: HallSupplement) -> dict[str, Any]:
    return {
        "id": supplement.doc_id,
        "answers_event": supplement.answers_event,
        "note": supplement.note,
        "received_at": _at(supplement.received_at),
        "outcome": supplement.outcome,
        "resolved_items": supplement.resolved_items,
    }


def delivery_json(delivery: HallDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "source": delivery.source,
        "method": delivery.method,
        "delivered_at": _at(delivery.delivered_at),
        "recipient": {"name": delivery.recipient_name, "relation": delivery.recipient_relation},
        "tracking_number": delivery.tracking_number,
        "rating": delivery.rating,
        "comment": delivery.comment,
        "outcome": delivery.outcome,
    }


def complaint_json(complaint: HallComplaint) -> dict[str, Any]:
    return {
        "id": complaint.id,
        "complexity": complaint.complexity,
        "reason": complaint.reason,
        "opened_by": complaint.opened_by,
        "opened_at": _at(complaint.opened_at),
        "due_at": _at(complaint.due_at),
        "answered_at": _at(complaint.answered_at),
        "answered_by": complaint.answered_by,
        "answer": complaint.answer,
    }
