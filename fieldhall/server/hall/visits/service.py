"""Staff operations on home-visit requests and the escalation sweep.

Every operation runs in one database transaction that checks the caller's role and the
request's state (:mod:`.machine`), changes the row, signs the request's document anew when
the devices must see the change (:mod:`.documents`, published right after the commit),
stores the reply under the ``Idempotency-Key`` if there is one (``hall_idempotency``, as the
case actions do: the same key and request replays the reply, another request is
``idempotency.key_reused``) and appends the audit entries last.

**The sweep** (:meth:`VisitService.sweep`) reads every open request with a timer due by
``now`` (injectable, so tests never sleep), and for each timer not yet met takes the step of
the ladder it has reached (:mod:`.ladder`). A step higher than any recorded for that timer is
recorded in ``hall_visit_escalation`` — unique per (request, milestone, step), the row
locked meanwhile — audited as ``visit.escalated`` and handed to every
:data:`EscalationListener` in the same transaction (a notification written there commits
or rolls back with the escalation). Running the sweep again at the same instant finds
nothing new: it escalates once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from ulid import ULID

from fieldhall.field_app_api.clock import now as wall_clock
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.tables import Agent, Grid, StaffAccount
from fieldhall.schemas import load_catalog
from fieldhall.schemas.errors import UnknownMatter

from ..audit import Actor, Subject
from ..context import Tx
from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..events import EventSigner
from ..tables import HallIdempotency, utc
from ..timelimits import EscalationStep, Milestone, WorkingCalendar, default_calendar
from . import commands as cmd
from .documents import publish_visit_requests, sign_request
from .ladder import addressee_of, refresh_due, request_timers, timer_readings
from .machine import STAFF_ROLES, TRANSITIONS, allowed
from .tables import HallVisitEscalation, HallVisitRequest
from .views import request_json

__all__ = [
    "EscalationListener",
    "VisitEscalation",
    "VisitOutcome",
    "VisitService",
]

Clock = Callable[[], datetime]

# How far back a request may say the resident asked (a ticket typed in late), and how far
# ahead of the hall's clock (a clerk's PC a little fast).
MAX_BACKDATE = timedelta(days=30)
MAX_AHEAD = timedelta(minutes=2)
SWEEP_BATCH = 100


@dataclass(frozen=True, slots=True)
class VisitEscalation:
    """One step of the ladder a request's timer reached (what a notifier is told)."""

    request_id: str
    milestone: str
    step: EscalationStep
    addressee: str  # agent | grid | clerk | supervisor | leadership
    addressee_id: str | None
    grid_id: str | None
    due_at: datetime
    at: datetime


# Called inside the sweep's transaction for each new escalation (see the module doc).
EscalationListener = Callable[[Tx, VisitEscalation], None]


@dataclass(frozen=True, slots=True)
class VisitOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


class VisitService:
    def __init__(
        self,
        field: FieldService,
        *,
        clock: Clock = wall_clock,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.field = field
        self.clock = clock
        self.calendar = calendar or default_calendar()
        self.escalation_listeners: list[EscalationListener] = []

    @contextmanager
    def transaction(self, at: datetime | None = None) -> Iterator[Tx]:
        with self.field.session() as session:
            tx = Tx(session, at or self.clock(), EventSigner(session))
            yield tx
            tx.finish()

    def publish(self) -> int:
        return publish_visit_requests(self.field)

    # ------------------------------------------------------------------ staff operations

    def create(
        self,
        body: Mapping[str, Any] | None,
        staff: StaffAccount,
        *,
        idempotency_key: str | None = None,
    ) -> VisitOutcome:
        command = cmd.parse(cmd.CreateVisit, body)
        return self._run(staff, "create", None, command, idempotency_key, 201)

    def act(
        self,
        request_id: str,
        operation: str,
        body: Mapping[str, Any] | None,
        staff: StaffAccount,
        *,
        idempotency_key: str | None = None,
    ) -> VisitOutcome:
        """``dispatch``, ``reassign`` or ``cancel`` a request."""
        kinds: dict[str, type[Any]] = {
            "dispatch": cmd.Dispatch,
            "reassign": cmd.Dispatch,
            "cancel": cmd.Cancel,
        }
        if operation not in kinds:
            raise NotFound("visit.unknown_action", f"no action {operation!r}")
        command = cmd.parse(kinds[operation], body)
        return self._run(staff, operation, request_id, command, idempotency_key, 200)

    def _run(
        self,
        staff: StaffAccount,
        operation: str,
        request_id: str | None,
        command: Any,
        key: str | None,
        status: int,
    ) -> VisitOutcome:
        if staff.role not in STAFF_ROLES:
            raise Forbidden(
                "staff.forbidden",
                f"visit requests are for the role {' or '.join(STAFF_ROLES)}, not {staff.role}",
            )
        if key is not None and not 1 <= len(key) <= 200:
            raise BadRequest("idempotency.bad_key", "an Idempotency-Key is 1 to 200 characters")
        digest = cmd.request_hash(request_id or "", operation, command)
        for attempt in range(2):
            try:
                outcome = self._run_once(staff, operation, request_id, command, key, digest, status)
                break
            except IntegrityError:
                # Two requests with one key raced past the lookup: the loser replays.
                if attempt:
                    raise
        self.publish()
        return outcome

    def _run_once(
        self,
        staff: StaffAccount,
        operation: str,
        request_id: str | None,
        command: Any,
        key: str | None,
        digest: str,
        status: int,
    ) -> VisitOutcome:
        with self.transaction() as tx:
            request = self._lock(tx.session, request_id) if request_id else None
            if key is not None:
                stored = tx.session.get(HallIdempotency, (staff.username, key))
                if stored is not None:
                    if stored.request_hash != digest:
                        raise BadRequest(
                            "idempotency.key_reused",
                            "this Idempotency-Key was used for another request",
                            status=422,
                        )
                    return VisitOutcome(stored.status, orjson.loads(stored.response), True)
            if request is None:
                request = self._create(tx, staff, command)
            elif operation == "cancel":
                self._cancel(tx, staff, request, command)
            else:
                self._dispatch(tx, staff, request, operation, command)
            tx.session.flush()
            reply = {"visit_request": request_json(request, self.calendar, tx.at)}
            if key is not None:
                tx.session.add(
                    HallIdempotency(
                        username=staff.username,
                        key=key,
                        request_hash=digest,
                        case_id=request.id,  # the table's subject column: here the request
                        action=f"visit.{operation}",
                        status=status,
                        response=orjson.dumps(reply).decode(),
                        created_at=tx.at,
                    )
                )
                tx.session.flush()
            return VisitOutcome(status, reply)

    def _lock(self, session: Session, request_id: str) -> HallVisitRequest:
        request = session.exec(
            select(HallVisitRequest).where(HallVisitRequest.id == request_id).with_for_update()
        ).first()
        if request is None:
            raise NotFound("visit.not_found", f"no visit request {request_id}")
        return request

    def _create(self, tx: Tx, staff: StaffAccount, command: cmd.CreateVisit) -> HallVisitRequest:
        requested_at = utc(command.requested_at) or tx.at
        if requested_at > tx.at + MAX_AHEAD:
            raise BadRequest("visit.bad_request", "requested_at is in the future")
        if requested_at < tx.at - MAX_BACKDATE:
            raise BadRequest("visit.bad_request", "requested_at is more than 30 days ago")
        if command.matter_id is not None:
            try:
                load_catalog().matter(command.matter_id)
            except UnknownMatter:
                raise BadRequest(
                    "visit.unknown_matter", f"no matter {command.matter_id!r}"
                ) from None
        grid_id, agent_id = self._target(
            tx.session, command.grid_id, command.assigned_agent_id, None
        )
        timers = {
            t.milestone: t for t in request_timers(self.calendar, requested_at, command.urgency)
        }
        on_site = timers.get(Milestone.ON_SITE)
        take = timers.get(Milestone.TAKEN) or on_site
        dispatch = timers.get(Milestone.DISPATCHED)
        assert take is not None  # every urgency has one of the two
        request = HallVisitRequest(
            id=f"visit_request:{ULID()}",
            source=command.source,
            urgency=command.urgency,
            ticket=command.ticket,
            resident_name=command.resident.name,
            resident_address=command.resident.address,
            resident_phone=command.resident.phone,
            matter_id=command.matter_id,
            note=command.note,
            state="pending",
            created_by=staff.username,
            requested_at=requested_at,
            created_at=tx.at,
            dispatch_by=dispatch.due_at if dispatch else None,
            take_by=take.due_at,
            on_site_by=on_site.due_at if on_site else None,
            close_by=timers[Milestone.CLOSED].due_at,
        )
        tx.audit(
            Actor.staff(staff.username),
            "visit.created",
            Subject("visit_request", request.id),
            _clean(
                {
                    "source": request.source,
                    "urgency": request.urgency,
                    "ticket": request.ticket,
                    "matter_id": request.matter_id,
                    "requested_at": requested_at.isoformat(),
                    "role": staff.role,
                }
            ),
        )
        if grid_id is not None:
            self._assign(tx, staff, request, "dispatch", grid_id, agent_id, None)
        else:
            refresh_due(self.calendar, request, tx.at)
        tx.session.add(request)
        return request

    def _dispatch(
        self,
        tx: Tx,
        staff: StaffAccount,
        request: HallVisitRequest,
        operation: str,
        command: cmd.Dispatch,
    ) -> None:
        if not allowed(operation, request.state):
            raise Conflict(
                "visit.transition_not_allowed",
                f"{operation} is not allowed for a request in state {request.state}",
            )
        grid_id, agent_id = self._target(
            tx.session, command.grid_id, command.agent_id, request.grid_id
        )
        if grid_id is None:
            raise BadRequest("visit.bad_request", "dispatch needs a grid_id (or an agent_id)")
        self._assign(tx, staff, request, operation, grid_id, agent_id, command.reason)

    def _assign(
        self,
        tx: Tx,
        staff: StaffAccount,
        request: HallVisitRequest,
        operation: str,
        grid_id: str,
        agent_id: str | None,
        reason: str | None,
    ) -> None:
        previous = (request.grid_id, request.assigned_agent_id, request.state)
        request.grid_id = grid_id
        request.assigned_agent_id = agent_id
        request.state = TRANSITIONS[operation][1]
        if request.dispatched_at is None:
            request.dispatched_at = tx.at
        refresh_due(self.calendar, request, tx.at)
        sign_request(tx, request)
        tx.audit(
            Actor.staff(staff.username),
            f"visit.{operation}ed" if operation == "dispatch" else "visit.reassigned",
            Subject("visit_request", request.id),
            _clean(
                {
                    "grid_id": grid_id,
                    "agent_id": agent_id,
                    "from_grid_id": previous[0] if operation == "reassign" else None,
                    "from_agent_id": previous[1] if operation == "reassign" else None,
                    "from_state": previous[2],
                    "reason": reason,
                    "version": request.version,
                    "role": staff.role,
                }
            ),
        )

    def _cancel(
        self, tx: Tx, staff: StaffAccount, request: HallVisitRequest, command: cmd.Cancel
    ) -> None:
        if not allowed("cancel", request.state):
            raise Conflict(
                "visit.transition_not_allowed",
                f"cancel is not allowed for a request in state {request.state}",
            )
        previous = request.state
        request.state = "cancelled"
        request.is_open = False
        request.cancelled_at = tx.at
        request.cancel_reason = command.reason
        refresh_due(self.calendar, request, tx.at)
        if request.document is not None:
            # Devices drop it: a tombstone whose body says why (see documents).
            request.note = f"已撤销：{command.reason}"
            request.deleted = True
            sign_request(tx, request)
        tx.audit(
            Actor.staff(staff.username),
            "visit.cancelled",
            Subject("visit_request", request.id),
            {"from_state": previous, "reason": command.reason, "role": staff.role},
        )

    def _target(
        self, session: Session, grid_id: str | None, agent_id: str | None, current: str | None
    ) -> tuple[str | None, str | None]:
        """The grid and agent a request goes to: the agent must be active and of the grid
        (an agent alone names its grid)."""
        if agent_id is not None:
            agent = session.get(Agent, agent_id)
            if agent is None or not agent.active:
                raise BadRequest("visit.unknown_agent", f"no active agent {agent_id!r}")
            if agent.grid_id is None:
                raise BadRequest("visit.agent_without_grid", f"agent {agent_id} has no grid")
            if grid_id is not None and agent.grid_id != grid_id:
                raise BadRequest(
                    "visit.agent_of_other_grid",
                    f"agent {agent_id} belongs to grid {agent.grid_id}, not {grid_id}",
                )
            return agent.grid_id, agent_id
        grid_id = grid_id or current
        if grid_id is not None and session.get(Grid, grid_id) is None:
            raise BadRequest("visit.unknown_grid", f"no grid {grid_id!r}")
        return grid_id, None

    # ------------------------------------------------------------------ the sweep

    def sweep(
        self, now: datetime | None = None, *, batch: int = SWEEP_BATCH
    ) -> list[VisitEscalation]:
        """Escalate every lapsed timer one step where due (see the module doc)."""
        at = utc(now) or self.clock()
        escalations: list[VisitEscalation] = []
        if not self._anything_due(at):
            return escalations  # the usual case: no write transaction (and no write lock)
        after: tuple[datetime, str] | None = None
        while True:
            with self.transaction(at) as tx:
                query = select(HallVisitRequest).where(
                    col(HallVisitRequest.is_open).is_(True),
                    col(HallVisitRequest.next_due_at).is_not(None),
                    col(HallVisitRequest.next_due_at) <= at,
                )
                if after is not None:
                    due, last = after
                    query = query.where(
                        (col(HallVisitRequest.next_due_at) > due)
                        | (
                            (col(HallVisitRequest.next_due_at) == due)
                            & (col(HallVisitRequest.id) > last)
                        )
                    )
                rows = list(
                    tx.session.exec(
                        query.order_by(col(HallVisitRequest.next_due_at), col(HallVisitRequest.id))
                        .limit(batch)
                        .with_for_update()
                    )
                )
                for request in rows:
                    escalations.extend(self._escalate(tx, request))
            if len(rows) < batch:
                return escalations
            last_row = rows[-1]
            after = (utc(last_row.next_due_at) or at, last_row.id)

    def _anything_due(self, at: datetime) -> bool:
        with self.field.read_session() as session:
            due = session.exec(
                select(HallVisitRequest.id)
                .where(
                    col(HallVisitRequest.is_open).is_(True),
                    col(HallVisitRequest.next_due_at) <= at,
                )
                .limit(1)
            ).first()
        return due is not None

    def _escalate(self, tx: Tx, request: HallVisitRequest) -> list[VisitEscalation]:
        recorded = dict(
            tx.session.exec(
                select(HallVisitEscalation.milestone, func.max(HallVisitEscalation.step))
                .where(HallVisitEscalation.request_id == request.id)
                .group_by(HallVisitEscalation.milestone)
            ).all()
        )
        made = []
        for reading in timer_readings(self.calendar, request, tx.at):
            milestone = reading.milestone.value
            if reading.step <= recorded.get(milestone, 0):
                continue
            addressee, addressee_id = addressee_of(reading.step, request)
            tx.session.add(
                HallVisitEscalation(
                    request_id=request.id,
                    milestone=milestone,
                    step=int(reading.step),
                    addressee=addressee,
                    addressee_id=addressee_id,
                    due_at=reading.timer.due_at,
                    at=tx.at,
                )
            )
            escalation = VisitEscalation(
                request.id,
                milestone,
                reading.step,
                addressee,
                addressee_id,
                request.grid_id,
                reading.timer.due_at,
                tx.at,
            )
            request.escalation_step = max(request.escalation_step, int(reading.step))
            tx.session.add(request)
            tx.audit(
                Actor.system("visits.sweep"),
                "visit.escalated",
                Subject("visit_request", request.id),
                _clean(
                    {
                        "milestone": milestone,
                        "step": int(reading.step),
                        "label": reading.step.label_zh,
                        "addressee": addressee,
                        "addressee_id": addressee_id,
                        "due_at": reading.timer.due_at.isoformat(),
                    }
                ),
            )
            for listener in self.escalation_listeners:
                listener(tx, escalation)
            made.append(escalation)
        return made


def _clean(details: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if v is not None}
