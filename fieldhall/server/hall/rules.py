"""The rules of each staff action, beyond the state machine's table: what a notice, an
acceptance (with deficiencies), a refusal, a step decision, a delivery or a complaint
needs, and what it changes. Each takes the locked case and returns the transitions it made
(and anything else the reply shows); :class:`~fieldhall.server.hall.workflow.Workflow`
calls them in the action's transaction (see its module doc for the error codes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from ulid import ULID

from . import commands as cmd
from .audit import Subject
from .clocks import matter_of
from .context import Tx, Who
from .errors import BadRequest, Conflict, Forbidden
from .machine import State
from .tables import (
    HallCase,
    HallComplaint,
    HallDelivery,
    HallEvent,
    HallItem,
    HallStepDecision,
    HallSuspension,
)
from .timelimits import ComplaintComplexity, complaint_deadline
from .timelimits.localday import hall_date
from .views import complaint_json

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = ["HANDLERS", "apply_delivery"]

Result = tuple[list[HallEvent], dict[str, Any]]


def pass_pre_review(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Note) -> Result:
    return [wf.move(tx, case, "pass_pre_review", who, reason=command.reason)], {}


def issue_notice(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Items) -> Result:
    wf.check(case, "issue_notice")
    matter = matter_of(case)
    for item in command.items:
        if item.material_id is not None and matter.material(item.material_id) is None:
            raise BadRequest(
                "case.unknown_material",
                f"{case.matter_id} ({case.catalog_version}) has no material {item.material_id!r}",
            )
    if case.notices_issued:
        earlier = {
            i.material_id
            for i in tx.session.exec(
                select(HallItem).where(HallItem.case_id == case.id, HallItem.kind == "notice")
            )
        }
        new = sorted(str(i.material_id) for i in command.items if i.material_id not in earlier)
        if new:
            raise Conflict(
                "case.notice_already_issued",
                "one-time notice (一次性告知): a further notice may only name what the "
                f"first one named, not {', '.join(new)}",
            )
    before_acceptance = case.accepted_at is None
    resume = State.RECEIVED.value if before_acceptance else case.state
    items = [_item_doc(i) for i in command.items]
    event = wf.move(tx, case, "issue_notice", who, reason=command.reason, items=items)
    case.resume_state = resume
    case.notices_issued += 1
    for item in command.items:
        tx.session.add(
            HallItem(
                case_id=case.id,
                event_id=event.id,
                kind="notice",
                material_id=item.material_id,
                problem=item.problem,
                due=item.due,
            )
        )
    tx.session.add(HallSuspension(case_id=case.id, started_at=tx.at, started_by_event=event.id))
    case.suspended = True
    wf.refresh_deadlines(tx, case)
    return [event], {}


def accept(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Note) -> Result:
    wf.check(case, "accept")
    missing = wf.missing_materials(tx.session, case)
    if missing:
        raise Conflict(
            "case.materials_missing",
            f"required materials missing: {', '.join(missing)}; issue a one-time notice, "
            "or accept with the deferrable ones as deficiencies",
        )
    event = wf.move(tx, case, "accept", who, reason=command.reason)
    _start_approval(wf, tx, case)
    return [event], {}


def accept_with_deficiencies(
    wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Items
) -> Result:
    wf.check(case, "accept_with_deficiencies")
    matter = matter_of(case)
    today = hall_date(tx.at)
    for item in command.items:
        material = matter.material(item.material_id) if item.material_id else None
        if material is None or not material.deferrable:
            raise BadRequest(
                "case.not_deferrable",
                f"{item.material_id!r} is not a deferrable (容缺) material of "
                f"{case.matter_id} ({case.catalog_version})",
            )
        if item.due is None or item.due < today:
            raise BadRequest("case.bad_due", "every deficiency needs a due date, not past")
    named = {i.material_id for i in command.items}
    missing = [m for m in wf.missing_materials(tx.session, case) if m not in named]
    if missing:
        raise Conflict(
            "case.materials_missing",
            f"required materials missing and not named as deficiencies: {', '.join(missing)}",
        )
    items = [_item_doc(i) for i in command.items]
    event = wf.move(tx, case, "accept_with_deficiencies", who, reason=command.reason, items=items)
    for item in command.items:
        tx.session.add(
            HallItem(
                case_id=case.id,
                event_id=event.id,
                kind="deficiency",
                material_id=item.material_id,
                problem=item.problem,
                due=item.due,
            )
        )
    case.open_deficiencies = len(command.items)
    _start_approval(wf, tx, case)
    return [event], {}


def _start_approval(wf: Workflow, tx: Tx, case: HallCase) -> None:
    case.accepted_at = tx.at
    case.current_step = 0
    wf.refresh_deadlines(tx, case)


def refuse(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Refusal) -> Result:
    wf.check(case, "refuse")
    if case.accepted_at is not None:
        raise Conflict(
            "case.transition_not_allowed",
            "an accepted case is not refused (不予受理) but decided (denied) in approval",
        )
    wf.end_suspension(tx, case, None)
    event = wf.move(tx, case, "refuse", who, reason=command.reason, legal_basis=command.legal_basis)
    return [event], {}


def withdraw(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Reasoned) -> Result:
    wf.check(case, "withdraw")
    wf.end_suspension(tx, case, None)
    event = wf.move(tx, case, "withdraw", who, reason=command.reason)
    case.current_step = None
    return [event], {}


def decide_step(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.DecideStep) -> Result:
    wf.check(case, "decide_step")
    steps = matter_of(case).steps
    index = case.current_step if case.current_step is not None else 0
    step = steps[index]
    if command.step_id is not None and command.step_id != step.id:
        raise Conflict(
            "case.not_current_step", f"the case is at step {step.id}, not {command.step_id}"
        )
    department = command.department or who.department
    if department is None:
        raise Forbidden("case.wrong_department", "this approver account has no department")
    if who.department is not None and department != who.department:
        raise Forbidden(
            "case.wrong_department", f"{who.id} decides for {who.department}, not {department}"
        )
    if department not in step.departments:
        raise Forbidden(
            "case.wrong_department",
            f"step {step.id} is decided by {', '.join(step.departments)}, not {department}",
        )
    decided = {
        d.department: d
        for d in tx.session.exec(
            select(HallStepDecision).where(
                HallStepDecision.case_id == case.id, HallStepDecision.step_id == step.id
            )
        )
    }
    if department in decided:
        raise Conflict(
            "case.step_already_decided", f"{department} has decided step {step.id} already"
        )
    if step.mode == "sequential":
        turn = next(d for d in step.departments if d not in decided)
        if department != turn:
            raise Conflict(
                "case.not_your_turn", f"step {step.id} is sequential: {turn} decides first"
            )
    if command.decision == "denied" and not command.reason:
        raise BadRequest("case.reason_required", "a denial says why")
    step_done = set(step.departments) <= {*decided, department}
    concludes = command.decision == "approved" and step_done and index + 1 == len(steps)
    if concludes and (case.open_deficiencies or case.state != State.ACCEPTED):
        raise Conflict(
            "case.deficiencies_outstanding",
            f"{case.open_deficiencies} deferred material(s) (容缺) have not arrived: "
            "the case cannot be approved before they do",
        )
    decision = {"id": step.id, "department": department, "decision": command.decision}
    event = wf.move(tx, case, "decide_step", who, reason=command.reason, step=decision)
    tx.session.add(
        HallStepDecision(
            case_id=case.id,
            step_index=index,
            step_id=step.id,
            department=department,
            decision=command.decision,
            decided_by=who.id,
            reason=command.reason,
            at=tx.at,
            event_id=event.id,
        )
    )
    events = [event]
    if command.decision == "denied":
        events.append(wf.move(tx, case, "deny", who, reason=command.reason))
        _conclude(wf, tx, case)
    elif concludes:
        events.append(wf.move(tx, case, "approve", who, reason=command.reason))
        _conclude(wf, tx, case)
    elif step_done:
        case.current_step = index + 1
    return events, {}


def _conclude(wf: Workflow, tx: Tx, case: HallCase) -> None:
    case.concluded_at = tx.at
    case.current_step = None


def mark_result_ready(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Note) -> Result:
    event = wf.move(tx, case, "mark_result_ready", who, reason=command.reason)
    case.result_ready_at = tx.at
    return [event], {}


def record_delivery(
    wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Delivery
) -> Result:
    wf.check(case, "record_delivery")
    if command.method == "mail" and not command.tracking_number:
        raise BadRequest("case.tracking_number_required", "a mailed result has a tracking no.")
    delivery = HallDelivery(
        id=f"staff:{ULID()}",
        case_id=case.id,
        source="staff",
        method=command.method,
        delivered_at=tx.at,
        recipient_name=command.recipient_name,
        recipient_relation=command.recipient_relation,
        tracking_number=command.tracking_number,
        rating=command.rating,
        comment=command.comment,
        received_at=tx.at,
        outcome="applied",
    )
    tx.session.add(delivery)
    event = wf.move(tx, case, "record_delivery", who)
    apply_delivery(case, delivery)
    return [event], {}


def close(wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Note) -> Result:
    return [wf.move(tx, case, "close", who, reason=command.reason)], {}


def escalate_complaint(
    wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.Complaint
) -> Result:
    wf.check(case, "escalate_complaint")
    timer = complaint_deadline(wf.calendar, tx.at, ComplaintComplexity(command.complexity))
    complaint = HallComplaint(
        case_id=case.id,
        complexity=command.complexity,
        reason=command.reason,
        opened_by=who.id,
        opened_at=tx.at,
        due_at=timer.due_at,
    )
    tx.session.add(complaint)
    case.open_complaints += 1
    tx.session.add(case)
    tx.session.flush()
    tx.audit(
        who.actor,
        "case.escalate_complaint",
        Subject("case", case.id),
        {
            "complaint_id": complaint.id,
            "complexity": command.complexity,
            "reason": command.reason,
            "due_at": timer.due_at.isoformat(),
        },
    )
    return [], {"complaint": complaint_json(complaint)}


def answer_complaint(
    wf: Workflow, tx: Tx, case: HallCase, who: Who, command: cmd.AnswerComplaint
) -> Result:
    query = select(HallComplaint).where(
        HallComplaint.case_id == case.id, col(HallComplaint.answered_at).is_(None)
    )
    if command.complaint_id is not None:
        query = query.where(HallComplaint.id == command.complaint_id)
    complaint = tx.session.exec(query.order_by(col(HallComplaint.opened_at))).first()
    if complaint is None:
        raise Conflict("case.no_open_complaint", "no open complaint to answer on this case")
    complaint.answered_at = tx.at
    complaint.answered_by = who.id
    complaint.answer = command.answer
    case.open_complaints = max(0, case.open_complaints - 1)
    tx.session.add(complaint)
    tx.session.add(case)
    tx.audit(
        who.actor,
        "case.answer_complaint",
        Subject("case", case.id),
        {"complaint_id": complaint.id, "answer": command.answer},
    )
    return [], {"complaint": complaint_json(complaint)}


def _item_doc(item: cmd.Item) -> dict[str, Any]:
    return {
        "material_id": item.material_id,
        "problem": item.problem,
        "due": item.due.isoformat() if item.due else None,
    }


def apply_delivery(case: HallCase, delivery: HallDelivery) -> None:
    case.delivered_at = delivery.delivered_at
    case.delivery_method = delivery.method
    case.rating = delivery.rating
    if delivery.method == "pickup":
        case.trips += 1  # the applicant came to the hall for the result


HANDLERS: dict[str, Callable[..., Result]] = {
    "pass_pre_review": pass_pre_review,
    "issue_notice": issue_notice,
    "accept": accept,
    "accept_with_deficiencies": accept_with_deficiencies,
    "refuse": refuse,
    "decide_step": decide_step,
    "mark_result_ready": mark_result_ready,
    "record_delivery": record_delivery,
    "close": close,
    "withdraw": withdraw,
    "escalate_complaint": escalate_complaint,
    "answer_complaint": answer_complaint,
}
