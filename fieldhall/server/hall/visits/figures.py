"""Visit requests in figures, for operations and supervision: what is open (by state and
urgency), which timers have lapsed (by milestone), how often the ladder was climbed (by
step), which requests are near or past a timer (the supervisors' warning list), and the
period's figures for the summary report — requests by source and urgency, the taken-on-time
rate (按时响应率) and the closed-on-time rate.

**Near** a timer: less than :data:`NEAR_SHARE` of its span left — the share the case clocks
warn at (``WarningPolicy.percent_left``): the last 6 of a simple ticket's 30 minutes to take
it, the last 24 of an urgent one's 2 hours to be on site. A timer counted in working days
(a simple ticket's 5 days to close) warns as a case's clock does (``Deadline.status``).

**Taken on time**: the response timer is ``take_by`` (an urgent ticket's is its on-site
timer: whoever is on site has taken it), met when taken strictly before it. **Closed on
time**: done strictly before ``close_by``. Both reuse ``timelimits.on_time_rate``: open and
past due counts as late; a request cancelled before its timer lapsed has no outcome
(excluded), one cancelled after it lapsed unmet is late — the resident waited in vain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import rfc3339

from ..tables import utc
from ..timelimits import (
    CaseOutcome,
    ClockStatus,
    EscalationStep,
    OnTimeReport,
    WorkingCalendar,
    on_time_rate,
)
from ..timelimits.deadlines import DEFAULT_WARNING_POLICY
from .ladder import TimerReading, timer_readings
from .tables import HallVisitEscalation, HallVisitRequest
from .views import request_json

__all__ = [
    "NEAR_SHARE",
    "VisitOperations",
    "escalations_by_step",
    "lapsed_timers",
    "open_requests",
    "period_figures",
    "visit_operations",
    "visit_warnings",
]

NEAR_SHARE = DEFAULT_WARNING_POLICY.percent_left / 100
SOURCES = ("hotline", "community", "family", "resident", "hall")
URGENCIES = ("simple", "urgent")


def open_requests(session: Session) -> list[tuple[str, str, int]]:
    """``(state, urgency, count)`` of the open requests."""
    rows = session.exec(
        select(HallVisitRequest.state, HallVisitRequest.urgency, func.count())
        .where(col(HallVisitRequest.is_open).is_(True))
        .group_by(col(HallVisitRequest.state), col(HallVisitRequest.urgency))
    ).all()
    return [(str(state), str(urgency), int(count)) for state, urgency, count in rows]


def _due_requests(session: Session, now: datetime) -> list[HallVisitRequest]:
    """Open requests with a timer due by ``now`` (the sweep's own index)."""
    return list(
        session.exec(
            select(HallVisitRequest).where(
                col(HallVisitRequest.is_open).is_(True),
                col(HallVisitRequest.next_due_at).is_not(None),
                col(HallVisitRequest.next_due_at) <= now,
            )
        )
    )


def lapsed_timers(
    session: Session, calendar: WorkingCalendar, now: datetime
) -> tuple[Counter[str], int]:
    """Open requests' lapsed, unmet timers by milestone, and how many requests have one."""
    by_milestone: Counter[str] = Counter()
    requests = 0
    for request in _due_requests(session, now):
        lapsed = [r for r in timer_readings(calendar, request, now) if _lapsed(r)]
        by_milestone.update(r.milestone.value for r in lapsed)
        requests += bool(lapsed)
    return by_milestone, requests


def _lapsed(reading: TimerReading) -> bool:
    return reading.reached_at is None and reading.step is not EscalationStep.NONE


def escalations_by_step(session: Session) -> dict[int, int]:
    """Escalations ever recorded, by step (the table is append-only: a counter)."""
    rows = session.exec(
        select(HallVisitEscalation.step, func.count()).group_by(col(HallVisitEscalation.step))
    ).all()
    return {int(step): int(count) for step, count in rows}


@dataclass(frozen=True, slots=True)
class VisitOperations:
    """What ``/health`` says about visit requests."""

    open: int
    overdue: int  # open requests with a lapsed timer
    oldest_due_at: datetime | None  # the earliest due instant among them

    def to_json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "overdue": self.overdue,
            "oldest_due_at": rfc3339(self.oldest_due_at),
        }


def visit_operations(session: Session, now: datetime) -> VisitOperations:
    """Cheap enough for every health probe: two indexed aggregates."""
    open_count = session.exec(
        select(func.count())
        .select_from(HallVisitRequest)
        .where(col(HallVisitRequest.is_open).is_(True))
    ).one()
    overdue, oldest = session.exec(
        select(func.count(), func.min(HallVisitRequest.next_due_at)).where(
            col(HallVisitRequest.is_open).is_(True),
            col(HallVisitRequest.next_due_at).is_not(None),
            col(HallVisitRequest.next_due_at) <= now,
        )
    ).one()
    return VisitOperations(int(open_count), int(overdue), utc(oldest))


# ---------------------------------------------------------------------- supervision


def _near(reading: TimerReading, now: datetime) -> bool:
    if reading.reached_at is not None or reading.step is not EscalationStep.NONE:
        return False
    timer = reading.timer
    if timer.deadline is not None:
        return timer.deadline.status(now) is ClockStatus.WARNING
    span = timer.due_at - timer.started_at
    return timer.due_at - now <= span * NEAR_SHARE


def visit_warnings(
    session: Session, calendar: WorkingCalendar, now: datetime
) -> list[dict[str, Any]]:
    """Open requests with a timer near or past due, the most urgent first: each with its
    timers, its worst step now, and the highest step the sweep has recorded."""
    candidates = session.exec(
        select(HallVisitRequest).where(
            col(HallVisitRequest.is_open).is_(True),
            col(HallVisitRequest.next_due_at).is_not(None),
        )
    )
    found: list[dict[str, Any]] = []
    for request in candidates:
        readings = timer_readings(calendar, request, now)
        flagged = [r for r in readings if _lapsed(r) or _near(r, now)]
        if not flagged:
            continue
        step = max(r.step for r in readings)
        first = min(flagged, key=lambda r: r.timer.due_at)
        found.append(
            {
                "visit_request": request_json(request, calendar, now),
                "status": "overdue" if step is not EscalationStep.NONE else "warning",
                "milestone": first.milestone.value,
                "due_at": rfc3339(first.timer.due_at),
                "escalation": {
                    "step": int(step),
                    "label_zh": step.label_zh,
                    "recorded_step": request.escalation_step,
                },
            }
        )
    found.sort(key=lambda w: (-w["escalation"]["step"], w["due_at"]))
    return found


def _outcome(due: datetime | None, reached: datetime | None, request: HallVisitRequest) -> Any:
    due, reached = utc(due), utc(reached)
    cancelled = utc(request.cancelled_at)
    if reached is None and cancelled is not None:
        if due is None or cancelled < due:
            return CaseOutcome(due_at=None, has_limit=False)
        return CaseOutcome(due_at=due, concluded_at=cancelled)  # lapsed, then given up
    return CaseOutcome(due_at=due, concluded_at=reached)


def _rate_json(report: OnTimeReport) -> dict[str, Any]:
    return {
        "rate": report.rate,
        "on_time": report.on_time,
        "late": report.late,
        "overdue_open": report.overdue_open,
        "pending": report.pending,
        "excluded": report.excluded,
    }


def period_figures(requests: Iterable[HallVisitRequest], now: datetime) -> dict[str, Any]:
    """The summary report's visit figures over the requests of a period."""
    rows = list(requests)
    by_source = {s: 0 for s in SOURCES}
    by_urgency = {u: 0 for u in URGENCIES}
    states: Counter[str] = Counter()
    for request in rows:
        by_source[request.source] = by_source.get(request.source, 0) + 1
        by_urgency[request.urgency] = by_urgency.get(request.urgency, 0) + 1
        states[request.state] += 1
    taken = on_time_rate((_outcome(r.take_by, r.taken_at, r) for r in rows), now)
    closed = on_time_rate((_outcome(r.close_by, r.closed_at, r) for r in rows), now)
    escalated = sum(1 for r in rows if r.escalation_step > 0)
    return {
        "requests": len(rows),
        "by_source": by_source,
        "by_urgency": by_urgency,
        "by_state": dict(sorted(states.items())),
        "taken_on_time": _rate_json(taken),
        "closed_on_time": _rate_json(closed),
        "escalated": escalated,
    }
