"""What device documents do to cases, as the projector receives them: a case arrives
(``receive``), a supplement answers a notice (``supplement_received``: the clock runs again)
or supplies deferred materials (``deficiencies_supplied`` once none is due), the agent's
signed delivery hands the result over (``delivered``). A document that answers nothing —
another agent's case, an unknown or superseded event, a result not ready — is recorded with
its outcome and changes no case."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from .context import Tx, Who
from .machine import State
from .rows import new_row
from .rules import apply_delivery
from .search import index_case
from .tables import HallCase, HallDelivery, HallEvent, HallSupplement, utc
from .visits import link_case

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = ["receive_case", "receive_delivery", "receive_supplement"]


def receive_case(wf: Workflow, tx: Tx, doc: Mapping[str, Any], seq: int) -> HallCase:
    """A case arrived: its row, its materials, the ``receive`` transition. (Called once per
    case: the projector projects each device document once.)"""
    applicant = doc.get("applicant") or {}
    matter = doc["matter"]
    name = str(applicant.get("name", ""))
    address = applicant.get("address")
    case = new_row(
        HallCase,
        id=doc["_id"],
        received_order=seq,
        rev=doc["_rev"],
        matter_id=matter["id"],
        catalog_version=matter["catalog_version"],
        channel=doc.get("channel", ""),
        agent_id=doc["agent_id"],
        device_id=doc["device_id"],
        grid_id=doc.get("grid_id"),
        station_id=doc.get("station_id"),
        request_id=doc.get("request_id"),
        applicant_name=name,
        applicant_address=address if isinstance(address, str) else None,
        search_text=" ".join(
            [doc["_id"], name, address if isinstance(address, str) else "", matter["id"]]
        ).lower(),
        filed_at=_parse_instant(doc.get("created_at")) or tx.at,
        received_at=tx.at,
        state="",
        state_changed_at=tx.at,
        # 跑动次数: filed at the hall's window costs the applicant a trip; a home,
        # hospital or mobile-station filing does not.
        trips=1 if doc.get("channel") == "hall" else 0,
    )
    tx.session.add(case)
    index_case(tx, case)
    wf.add_materials(tx, case.id, doc)
    wf.move(tx, case, "receive", Who.device(doc["device_id"]))
    link_case(tx, case)  # filed on a home visit: the request shows it
    return case


def receive_supplement(wf: Workflow, tx: Tx, doc: Mapping[str, Any]) -> HallSupplement:
    """A supplement arrived: match it to the notice or acceptance it answers."""
    supplement = new_row(
        HallSupplement,
        doc_id=doc["_id"],
        case_id=doc["case_id"],
        answers_event=doc["answers_event"],
        note=doc.get("note"),
        received_at=tx.at,
        outcome="unmatched",
    )
    tx.session.add(supplement)
    case = tx.session.exec(
        select(HallCase).where(HallCase.id == doc["case_id"]).with_for_update()
    ).first()
    answered = tx.session.get(HallEvent, doc["answers_event"])
    if (
        case is None
        or case.agent_id != doc.get("agent_id")
        or answered is None
        or answered.case_id != case.id
    ):
        return supplement
    wf.add_materials(tx, case.id, doc)
    who = Who.device(doc["device_id"])
    if answered.event == "notice":
        suspension = wf.open_suspension(tx.session, case)
        if case.state != State.NOTICE or suspension is None:
            supplement.outcome = "stale"
            return supplement
        if suspension.started_by_event != answered.id:
            supplement.outcome = "stale"
            return supplement
        supplement.resolved_items = wf.resolve_items(tx, answered.id, None, doc["_id"])
        wf.end_suspension(tx, case, doc["_id"])
        wf.move(tx, case, "supplement_received", who, reason="补正材料已收到")
        case.resume_state = None
        supplement.outcome = "answered_notice"
        wf.refresh_deadlines(tx, case)
        _settle_deficiencies(wf, tx, case, who)
    elif answered.event == "accepted_with_deficiencies":
        supplied = {m.get("material_id") for m in doc.get("materials") or []}
        supplement.resolved_items = wf.resolve_items(tx, answered.id, supplied, doc["_id"])
        supplement.outcome = "answered_deficiency" if supplement.resolved_items else "stale"
        case.open_deficiencies = wf.count_open(tx.session, case.id, "deficiency")
        _settle_deficiencies(wf, tx, case, who)
    return supplement


def _settle_deficiencies(wf: Workflow, tx: Tx, case: HallCase, who: Who) -> None:
    if case.state == State.ACCEPTED_WITH_DEFICIENCIES and not case.open_deficiencies:
        wf.move(tx, case, "deficiencies_supplied", who, reason="容缺材料已补齐")


def receive_delivery(wf: Workflow, tx: Tx, doc: Mapping[str, Any]) -> HallDelivery:
    """The agent's signed delivery: the case is delivered if its result was ready."""
    recipient = doc.get("recipient") or {}
    delivery = new_row(
        HallDelivery,
        id=doc["_id"],
        case_id=doc["case_id"],
        source="device",
        method=doc["method"],
        delivered_at=_parse_instant(doc.get("delivered_at")) or tx.at,
        recipient_name=recipient.get("name"),
        recipient_relation=recipient.get("relation"),
        rating=doc.get("rating"),
        comment=doc.get("comment"),
        received_at=tx.at,
        outcome="ignored",
    )
    tx.session.add(delivery)
    case = tx.session.exec(
        select(HallCase).where(HallCase.id == doc["case_id"]).with_for_update()
    ).first()
    if (
        case is not None
        and case.agent_id == doc.get("agent_id")
        and case.state == State.RESULT_READY
    ):
        wf.add_materials(tx, case.id, doc)
        wf.move(tx, case, "delivered", Who.device(doc["device_id"]))
        apply_delivery(case, delivery)
        delivery.outcome = "applied"
    return delivery


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        return None
