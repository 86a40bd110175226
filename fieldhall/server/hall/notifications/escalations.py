"""Home-visit escalations as notifications: the listener the visit requests' sweep calls in
its own transaction for each new step of the ladder (电话提醒 → 书面函告 → 会商约谈 → 现场督办),
so the notification commits or rolls back with the escalation it reports."""

from __future__ import annotations

from fieldhall.field_app_api.clock import rfc3339

from ..audit import Subject
from ..context import Tx
from ..visits import VisitEscalation
from .records import notify

__all__ = ["notify_visit_escalation"]


def notify_visit_escalation(tx: Tx, escalation: VisitEscalation) -> None:
    """Raise ``escalation`` once per request, milestone and step."""
    notify(
        tx,
        "escalation",
        Subject("visit_request", escalation.request_id),
        {
            "request_id": escalation.request_id,
            "milestone": escalation.milestone,
            "step": int(escalation.step),
            "label_zh": escalation.step.label_zh,
            "addressee": escalation.addressee,
            "addressee_id": escalation.addressee_id,
            "grid_id": escalation.grid_id,
            "due_at": rfc3339(escalation.due_at),
            "at": rfc3339(escalation.at),
        },
        key=f"visit:{escalation.request_id}:{escalation.milestone}:{int(escalation.step)}",
    )
