"""Raising the clocks' warnings (预警) and overdue notices as notifications.

E-supervision warns before a case goes overdue (the seeds: 5,852 warning SMS in Xi'an) and
escalates after (电话提醒 → 书面函告 → 会商约谈 → 现场督办). :func:`sweep_clock_warnings` reads the
legal and promised clocks of the open, accepted, unconcluded cases — ``timelimits`` decides
the status and the escalation step, as ``/api/v1/reports/warnings`` shows them — and raises

* ``warning`` once per clock and due instant when the clock enters its warning window;
* ``overdue`` once per clock, due instant and escalation step: at the due instant, and again
  at each step up the ladder;
* ``complaint_overdue`` once per complaint escalation (办不成事) still unanswered at its
  answer-by instant (simple: at once, general: 3 working days, complex: 5).

The due instant is part of the key, so a clock moved by a suspension warns again for its new
deadline. A clock stopped while the applicant corrects (补正) is not the hall's to warn about.
Only cases whose stored due instant falls within :data:`WINDOW` are read: the sweep runs every
minute and costs what is near its deadline, not the size of the case table.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import rfc3339
from fieldhall.field_app_api.service import FieldService
from fieldhall.schemas.errors import ContractError

from ..audit import Subject
from ..clocks import matter_of
from ..tables import HallCase, HallComplaint, HallSuspension, utc
from ..timelimits import (
    CaseDeadlines,
    ClockStatus,
    Deadline,
    Suspension,
    WorkingCalendar,
    compute_case_deadlines,
    escalation_step,
)
from .records import notify_many, taken_keys

__all__ = ["WINDOW", "sweep_clock_warnings"]

log = logging.getLogger("fieldhall.hall.notifications")

# The warning window is at most 20 % of a limit (timelimits.WarningPolicy): 12 working days of
# the catalog's longest limits, under 20 calendar days — 45 leaves room for the Spring
# Festival and National Day weeks.
WINDOW = timedelta(days=45)


def sweep_clock_warnings(field: FieldService, calendar: WorkingCalendar, now: datetime) -> int:
    """Raise what the clocks say at ``now`` and was not raised yet; returns how many.

    Read first, write only what is new: a sweep that finds nothing new (almost every minute)
    never takes the database's write lock."""
    with field.read_session() as session:
        found = _clock_notices(session, calendar, now) + _complaint_notices(session, now)
        if not found:
            return 0
        known = taken_keys(session, [key for _, key, _, _ in found])
    new = [notice for notice in found if notice[1] not in known]
    if not new:
        return 0
    with field.session() as session:
        return notify_many(
            session,
            [(kind, Subject("case", case_id), payload, key) for kind, key, case_id, payload in new],
            now,
        )


Notice = tuple[str, str, str, dict[str, Any]]  # kind, key, case id, payload


def _clock_notices(session: Session, calendar: WorkingCalendar, now: datetime) -> list[Notice]:
    cases = session.exec(
        select(HallCase).where(
            col(HallCase.closed).is_(False),
            col(HallCase.accepted_at).is_not(None),
            col(HallCase.concluded_at).is_(None),
            # promised_days <= legal_days: when the legal clock warns, the promised one is
            # due before it, so one indexed bound finds both.
            col(HallCase.promised_due_at) <= now + WINDOW,
        )
    ).all()
    found: list[Notice] = []
    stops = _suspensions(session, [case.id for case in cases])
    for case in cases:
        try:
            deadlines = _deadlines(case, stops.get(case.id, []), calendar)
        except ContractError as exc:  # one bad row must not stop every other clock's warning
            log.error("case %s: no clocks to sweep: %s", case.id, exc)
            continue
        if deadlines is None:
            continue
        for clock, deadline in (("legal", deadlines.legal), ("promised", deadlines.promised)):
            if deadline is None or deadline.due_at is None:
                continue
            notice = _clock_notice(case, clock, deadline, now)
            if notice is not None:
                kind, key, payload = notice
                found.append((kind, key, case.id, payload))
    return found


def _suspensions(
    session: Session, case_ids: list[str]
) -> dict[str, list[tuple[datetime | None, datetime | None]]]:
    """Every candidate's clock stops in a few queries, not one per case (what
    ``clocks.case_deadlines`` reads for a single case)."""
    found: dict[str, list[tuple[datetime | None, datetime | None]]] = defaultdict(list)
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        rows = session.exec(
            select(
                HallSuspension.case_id, HallSuspension.started_at, HallSuspension.ended_at
            ).where(col(HallSuspension.case_id).in_(chunk))
        )
        for case_id, started, ended in rows:
            found[case_id].append((utc(started), utc(ended)))
    return found


def _deadlines(
    case: HallCase,
    stops: list[tuple[datetime | None, datetime | None]],
    calendar: WorkingCalendar,
) -> CaseDeadlines | None:
    accepted_at = utc(case.accepted_at)
    if accepted_at is None:
        return None
    limits = matter_of(case).limits
    return compute_case_deadlines(
        calendar,
        accepted_at,
        legal_days=limits.legal_days,
        promised_days=limits.promised_days,
        suspensions=[Suspension(started or accepted_at, ended) for started, ended in stops],
    )


def _complaint_notices(session: Session, now: datetime) -> list[Notice]:
    late = session.exec(
        select(HallComplaint, HallCase)
        .join(HallCase, col(HallCase.id) == col(HallComplaint.case_id))
        .where(col(HallComplaint.answered_at).is_(None), col(HallComplaint.due_at) <= now)
    ).all()
    return [
        (
            "complaint_overdue",
            f"complaint:{complaint.id}:overdue",
            case.id,
            {
                "case_id": case.id,
                "complaint_id": complaint.id,
                "complexity": complaint.complexity,
                "opened_at": rfc3339(utc(complaint.opened_at)),
                "due_at": rfc3339(utc(complaint.due_at)),
                "opened_by": complaint.opened_by,
                "matter_id": case.matter_id,
                "agent_id": case.agent_id,
                "grid_id": case.grid_id,
                "station_id": case.station_id,
            },
        )
        for complaint, case in late
    ]


def _clock_notice(
    case: HallCase, clock: str, deadline: Deadline, now: datetime
) -> tuple[str, str, dict[str, Any]] | None:
    reading = deadline.reading(now)
    if reading.suspended or reading.status is ClockStatus.ON_TIME:
        return None
    step = escalation_step(deadline, now)
    due = rfc3339(deadline.due_at)
    payload: dict[str, Any] = {
        "case_id": case.id,
        "matter_id": case.matter_id,
        "clock": clock,
        "status": reading.status.value,
        "due_at": due,
        "working_days": deadline.working_days,
        "left_days": reading.left,
        "overdue_days": reading.overdue_days,
        "escalation": {"step": int(step), "label_zh": step.label_zh},
        "agent_id": case.agent_id,
        "grid_id": case.grid_id,
        "station_id": case.station_id,
        "state": case.state,
    }
    if reading.status is ClockStatus.WARNING:
        return "warning", f"clock:{case.id}:{clock}:warning:{due}", payload
    return "overdue", f"clock:{case.id}:{clock}:overdue:{due}:{int(step)}", payload
