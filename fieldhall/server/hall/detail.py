"""One case in full, as the case page shows it: its state, what pre-review sees (required
materials missing, files of a type the catalog does not accept), its approval steps and
each department's decision, its clocks read now, its history, whether its evidence
verifies (:mod:`~fieldhall.server.hall.verification`), and each material's thumbnail and the
warnings of its photo used again in another case (:mod:`~fieldhall.server.photos.case_photos`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import rfc3339
from fieldhall.field_app_api.service import FieldService

from ..photos.case_photos import material_photos
from .clocks import case_deadlines, matter_of
from .errors import NotFound
from .machine import API_ACTIONS, State, roles_for, sources_of
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
)
from .timelimits import Deadline, WorkingCalendar
from .verification import verify_device_document
from .views import (
    case_summary,
    complaint_json,
    delivery_json,
    event_json,
    item_json,
    material_json,
    step_decision_json,
    supplement_json,
    suspension_json,
)

__all__ = ["case_detail", "clock_json", "get_case"]


def get_case(session: Session, case_id: str) -> HallCase:
    case = session.get(HallCase, case_id)
    if case is None:
        raise NotFound("case.not_found", f"no case {case_id}")
    return case


def clock_json(deadline: Deadline | None, now: datetime) -> dict[str, Any] | None:
    if deadline is None:
        return None
    reading = deadline.reading(now)
    return {
        "working_days": deadline.working_days,
        "due_at": rfc3339(reading.due_at),
        "status": reading.status.value,
        "used": reading.used,
        "left": reading.left,
        "overdue_days": reading.overdue_days,
        "suspended": reading.suspended,
        "calendar_warnings": [w.message_zh for w in reading.warnings],
    }


def case_detail(
    field: FieldService,
    session: Session,
    case_id: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> dict[str, Any]:
    case = get_case(session, case_id)
    matter = matter_of(case)

    def rows(model: Any, *order: Any) -> list[Any]:
        return list(session.exec(select(model).where(model.case_id == case_id).order_by(*order)))

    materials = rows(HallMaterial, col(HallMaterial.id))
    decisions = rows(HallStepDecision, col(HallStepDecision.id))
    present = {m.material_id for m in materials}
    wrong_type = [
        {"name": m.name, "material_id": m.material_id, "content_type": m.content_type}
        for m in materials
        if (spec := matter.material(m.material_id)) is not None
        and m.content_type not in spec.accept
    ]
    steps = []
    for index, step in enumerate(matter.steps):
        by_department = {d.department: d for d in decisions if d.step_id == step.id}
        steps.append(
            {
                "index": index,
                "id": step.id,
                "mode": step.mode,
                "current": case.current_step == index,
                "departments": [
                    {
                        "department": department,
                        **(
                            step_decision_json(by_department[department])
                            if department in by_department
                            else {"decision": None}
                        ),
                    }
                    for department in step.departments
                ],
            }
        )
    deadlines = case_deadlines(session, case, calendar)
    photos = material_photos(session, case_id, materials)
    materials_out = [{**material_json(m), **photos[int(m.id or 0)]} for m in materials]
    return {
        **case_summary(case),
        "matter_name": {"zh": matter.name.zh, "en": matter.name.en},
        "pre_review": {
            "missing": [m.id for m in matter.materials if m.required and m.id not in present],
            "wrong_type": wrong_type,
        },
        "materials": materials_out,
        # The clerk's flag: this case's photos seen in other cases, each naming the other.
        "duplicate_photos": [
            {"material": m["name"], "doc_id": m["doc_id"], **_other(d)}
            for m in materials_out
            for d in m["duplicates"]
        ],
        "items": [item_json(i) for i in rows(HallItem, col(HallItem.id))],
        "steps": steps,
        "clocks": {
            "legal": clock_json(deadlines.legal if deadlines else None, now),
            "promised": clock_json(deadlines.promised if deadlines else None, now),
        },
        "suspensions": [suspension_json(s) for s in rows(HallSuspension, col(HallSuspension.id))],
        "events": [event_json(e) for e in rows(HallEvent, col(HallEvent.ordinal))],
        "supplements": [
            supplement_json(s) for s in rows(HallSupplement, col(HallSupplement.received_at))
        ],
        "deliveries": [delivery_json(d) for d in rows(HallDelivery, col(HallDelivery.received_at))],
        "complaints": [complaint_json(c) for c in rows(HallComplaint, col(HallComplaint.id))],
        "verification": verify_device_document(field, session, case_id),
        "actions": _available_actions(case),
    }


def _other(duplicate: dict[str, Any]) -> dict[str, Any]:
    """A material's duplicate, its fields named as the other case's."""
    renamed = {"case_id": "other_case_id", "material": "other_material", "doc_id": "other_doc_id"}
    return {renamed.get(key, key): value for key, value in duplicate.items()}


def _available_actions(case: HallCase) -> list[dict[str, Any]]:
    """The staff actions the machine allows in the case's state, and who may take them."""
    state = State(case.state)
    available = []
    for name in API_ACTIONS:
        if state in sources_of(name):
            available.append({"action": name, "roles": sorted(roles_for(name))})
    return available
