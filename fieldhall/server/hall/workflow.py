"""Carrying out the case workflow (:mod:`~fieldhall.server.hall.machine` decides what may
happen; this module makes it happen).

Every transition, whoever triggers it — a staff action, or a device document the projector
received — goes through :meth:`Workflow.move`, inside one database transaction that

1. checks the machine's table (state and role), then the action's own rules;
2. records the transition in ``hall_case_event`` with who (account, role, department), when
   and why, and the server-signed ``case_event`` it emits (valid against the published
   schema) as the outbox row that :func:`~fieldhall.server.hall.events.publish_events`
   writes into the agent's channel right after the commit;
3. updates the case, its items, step decisions, suspensions and deadlines (from
   ``timelimits``: legal and promised limits of the case's catalog version, counted from
   acceptance, minus the suspensions);
4. appends the audit entries — last, as :mod:`~fieldhall.server.hall.audit` requires.

Staff actions may carry an ``Idempotency-Key``: the key, the hash of the request it came with
and the reply are stored in the action's own transaction (``hall_idempotency``), keyed by
(staff account, key). The same key with the same request replays the stored reply and does
nothing; with another request it is refused (``idempotency.key_reused``, 422). The case row
is locked before the key is looked up, so two concurrent retries serialise on the case and
the second one sees the first one's key.

Rules beyond the table, each with its stable error code:

* ``case.materials_missing`` — acceptance needs every required material; one missing and
  deferrable (容缺) may only be named as a deficiency;
* ``case.not_deferrable`` — a deficiency must be a deferrable material, with a due date;
* ``case.notice_already_issued`` — one-time notice: a later notice may only name what an
  earlier one named (the applicant's correction was still wrong), never something new;
* ``case.deficiencies_outstanding`` — a case cannot be approved while deficiencies are due;
* ``case.wrong_department`` / ``case.not_your_turn`` / ``case.step_already_decided`` /
  ``case.not_current_step`` — approval: each department decides its own step once; a
  sequential step's departments decide in the catalog's order, a parallel step's in any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from ulid import ULID

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.tables import StaffAccount

from . import arrivals, rules
from . import commands as cmd
from .audit import Subject
from .clocks import case_deadlines, matter_of
from .context import Tx, Who
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .events import EventSigner, build_case_event, new_event_id, publish_events
from .machine import FINAL_STATES, TRANSITIONS, State, roles_for, sources_of
from .notifications.records import raise_decision
from .rows import new_row
from .tables import (
    HallCase,
    HallDelivery,
    HallEvent,
    HallIdempotency,
    HallItem,
    HallMaterial,
    HallSupplement,
    HallSuspension,
)
from .timelimits import WorkingCalendar, default_calendar
from .views import case_summary, event_json

__all__ = ["ActionOutcome", "Tx", "Who", "Workflow"]

_materials: Table = HallMaterial.__table__  # type: ignore[attr-defined]

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _clean(details: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if v is not None}


class Workflow:
    def __init__(
        self,
        field: FieldService,
        *,
        clock: Clock = now,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.field = field
        self.clock = clock
        self.calendar = calendar or default_calendar()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.field.session() as session:
            tx = Tx(session, self.clock(), EventSigner(session))
            yield tx
            tx.finish()

    def publish(self) -> int:
        return publish_events(self.field)

    # ------------------------------------------------------------------ staff actions

    def act(
        self,
        case_id: str,
        action: str,
        body: Mapping[str, Any] | None,
        staff: StaffAccount,
        *,
        idempotency_key: str | None = None,
    ) -> ActionOutcome:
        """Carry out a staff action on a case (see the module doc), then publish its events."""
        allowed = roles_for(action)
        if not allowed:
            raise NotFound("case.unknown_action", f"no action {action!r}")
        if staff.role not in allowed:
            raise Forbidden(
                "staff.forbidden",
                f"{action} needs the role {' or '.join(sorted(allowed))}, not {staff.role}",
            )
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise BadRequest("idempotency.bad_key", "an Idempotency-Key is 1 to 200 characters")
        command = cmd.parse_command(action, body)
        digest = cmd.request_hash(case_id, action, command)
        who = Who.staff(staff)
        for attempt in range(2):
            try:
                outcome = self._act_once(case_id, action, command, who, idempotency_key, digest)
                break
            except IntegrityError:
                # Two requests with one key raced past the lookup (PostgreSQL): the loser
                # retries and replays the winner's reply.
                if attempt:
                    raise
        self.publish()
        return outcome

    def _act_once(
        self,
        case_id: str,
        action: str,
        command: Any,
        who: Who,
        key: str | None,
        digest: str,
    ) -> ActionOutcome:
        with self.transaction() as tx:
            case = self._lock_case(tx.session, case_id)
            if key is not None:
                stored = tx.session.get(HallIdempotency, (who.id, key))
                if stored is not None:
                    if stored.request_hash != digest:
                        raise BadRequest(
                            "idempotency.key_reused",
                            "this Idempotency-Key was used for another request",
                            status=422,
                        )
                    return ActionOutcome(stored.status, orjson.loads(stored.response), True)
            events, extra = rules.HANDLERS[action](self, tx, case, who, command)
            body = {"case": case_summary(case), "events": [event_json(e) for e in events]}
            body.update(extra)
            if key is not None:
                tx.session.add(
                    HallIdempotency(
                        username=who.id,
                        key=key,
                        request_hash=digest,
                        case_id=case_id,
                        action=action,
                        status=200,
                        response=orjson.dumps(body).decode(),
                        created_at=tx.at,
                    )
                )
                tx.session.flush()
            return ActionOutcome(200, body)

    def _lock_case(self, session: Session, case_id: str) -> HallCase:
        case = session.exec(
            select(HallCase).where(HallCase.id == case_id).with_for_update()
        ).first()
        if case is None:
            raise NotFound("case.not_found", f"no case {case_id}")
        return case

    # ------------------------------------------------------------------ the one way to move

    def check(self, case: HallCase, name: str) -> None:
        """Raise ``case.transition_not_allowed`` unless the table allows ``name`` now."""
        current = State(case.state) if case.state else None
        if current is None or current not in sources_of(name):
            raise Conflict(
                "case.transition_not_allowed",
                f"{name} is not allowed for a case in state {case.state or '(new)'}",
            )

    def move(
        self,
        tx: Tx,
        case: HallCase,
        name: str,
        who: Who,
        *,
        reason: str | None = None,
        legal_basis: str | None = None,
        items: Sequence[Mapping[str, Any]] | None = None,
        step: Mapping[str, str] | None = None,
    ) -> HallEvent:
        """Carry out transition ``name`` of the table on ``case`` (already locked)."""
        t = TRANSITIONS[name]
        current = State(case.state) if case.state else None
        if (current is None and t.sources) or (current is not None and current not in t.sources):
            raise Conflict(
                "case.transition_not_allowed",
                f"{name} is not allowed for a case in state {case.state or '(new)'}",
            )
        if who.role not in t.roles:
            raise Forbidden("staff.forbidden", f"{name} is not for the role {who.role}")
        if t.returns:
            target = State(case.resume_state or State.RECEIVED)
        else:
            target = t.target or current or State.RECEIVED
        ordinal = case.events + 1
        text = reason if not legal_basis else f"{reason}（依据：{legal_basis}）"
        document = None
        if t.event is not None:
            event_id = new_event_id()
            unsigned = build_case_event(
                event_id,
                agent_id=case.agent_id,
                case_id=case.id,
                event=t.event,
                by_role=who.role,
                at=tx.at,
                items=items,
                step=step,
                reason=text,
            )
            document = orjson.dumps(tx.signer.sign(unsigned, tx.at)).decode()
        else:
            event_id = f"transition:{ULID()}"
        row = new_row(
            HallEvent,
            id=event_id,
            case_id=case.id,
            ordinal=ordinal,
            action=name,
            event=t.event,
            from_state=current.value if current else None,
            to_state=target.value,
            actor_kind=who.kind,
            actor_id=who.id,
            by_role=who.role,
            department=(step or {}).get("department") or who.department,
            reason=reason,
            legal_basis=legal_basis,
            items=orjson.dumps(list(items)).decode() if items is not None else None,
            step_id=(step or {}).get("id"),
            decision=(step or {}).get("decision"),
            at=tx.at,
            document=document,
        )
        tx.session.add(row)
        case.events = ordinal
        if target.value != case.state:
            case.state = target.value
            case.state_changed_at = tx.at
        if target in FINAL_STATES:
            case.closed = True
            case.closed_at = tx.at
        tx.session.add(case)
        tx.audit(
            who.actor,
            f"case.{name}",
            Subject("case", case.id),
            _clean(
                {
                    "event_id": event_id,
                    "event": t.event,
                    "from": row.from_state,
                    "to": row.to_state,
                    "role": who.role,
                    "department": row.department,
                    "reason": reason,
                    "legal_basis": legal_basis,
                    "items": list(items) if items is not None else None,
                    "step": dict(step) if step else None,
                }
            ),
        )
        raise_decision(tx, case, row)  # a decision's notification, in this transaction
        return row

    # ------------------------------------------------------------------ device documents

    def receive_case(self, tx: Tx, doc: Mapping[str, Any], seq: int) -> HallCase:
        return arrivals.receive_case(self, tx, doc, seq)

    def receive_supplement(self, tx: Tx, doc: Mapping[str, Any]) -> HallSupplement:
        return arrivals.receive_supplement(self, tx, doc)

    def receive_delivery(self, tx: Tx, doc: Mapping[str, Any]) -> HallDelivery:
        return arrivals.receive_delivery(self, tx, doc)

    # ------------------------------------------------------------------ helpers

    def add_materials(self, tx: Tx, case_id: str, doc: Mapping[str, Any]) -> None:
        # No ORM objects, one insert per transaction: rows written once and never changed.
        rows = [
            {
                "case_id": case_id,
                "doc_id": doc["_id"],
                "name": material["name"],
                "material_id": material["material_id"],
                "sha256": material["sha256"],
                "length": material["length"],
                "content_type": material["content_type"],
                "captured_at": material.get("captured_at"),
            }
            for material in doc.get("materials") or []
        ]
        tx.insert_at_end(_materials, rows)

    def missing_materials(self, session: Session, case: HallCase) -> list[str]:
        """Required materials of the case's matter that no case or supplement brought."""
        present = set(
            session.exec(select(HallMaterial.material_id).where(HallMaterial.case_id == case.id))
        )
        return [m.id for m in matter_of(case).materials if m.required and m.id not in present]

    def open_suspension(self, session: Session, case: HallCase) -> HallSuspension | None:
        return session.exec(
            select(HallSuspension).where(
                HallSuspension.case_id == case.id, col(HallSuspension.ended_at).is_(None)
            )
        ).first()

    def end_suspension(self, tx: Tx, case: HallCase, by: str | None) -> None:
        suspension = self.open_suspension(tx.session, case)
        if suspension is not None:
            suspension.ended_at = tx.at
            suspension.ended_by = by
            tx.session.add(suspension)
        case.suspended = False

    def resolve_items(self, tx: Tx, event_id: str, materials: set[Any] | None, by: str) -> int:
        """Resolve the open items of ``event_id`` (those of ``materials``, or all)."""
        resolved = 0
        for item in tx.session.exec(
            select(HallItem).where(
                HallItem.event_id == event_id, col(HallItem.resolved_at).is_(None)
            )
        ):
            if materials is None or item.material_id in materials:
                item.resolved_at = tx.at
                item.resolved_by = by
                tx.session.add(item)
                resolved += 1
        tx.session.flush()
        return resolved

    def count_open(self, session: Session, case_id: str, kind: str) -> int:
        return len(
            session.exec(
                select(HallItem.id).where(
                    HallItem.case_id == case_id,
                    HallItem.kind == kind,
                    col(HallItem.resolved_at).is_(None),
                )
            ).all()
        )

    def refresh_deadlines(self, tx: Tx, case: HallCase) -> None:
        """Legal and promised due instants from acceptance, minus the suspensions."""
        tx.session.flush()
        deadlines = case_deadlines(tx.session, case, self.calendar)
        legal = deadlines.legal if deadlines else None
        promised = deadlines.promised if deadlines else None
        case.legal_due_at = legal.due_at if legal else None
        case.promised_due_at = promised.due_at if promised else None
        tx.session.add(case)
