"""What e-supervision (电子监察) reports: on-time rate (按期办结率) under the legal and the
promised limit, satisfaction (满意率) from delivery ratings, trips per case (跑动次数), the
cases in warning or overdue with their escalation step, and the case export (CSV).

* **On-time**: ``timelimits.on_time_rate`` over the cases received in the period, each with
  its due instant as the workflow keeps it (from acceptance, minus suspensions) and its
  conclusion (approval or denial). Cases never accepted (refused, withdrawn, still in
  pre-review) have no clock and are reported as excluded.
* **Satisfaction**: of the rated deliveries, the share rated 3 to 5 — the 好差评 scale's
  非常满意 (5), 满意 (4) and 基本满意 (3) are 好评; 不满意 (2), 非常不满意 (1) are 差评.
* **Visit requests** (上门服务): the period's requests by source, urgency and state, the
  taken-on-time rate (按时响应率) and the closed-on-time rate (``visits.figures``); the
  warning list names the open requests whose timers are near or past, with their step.
* **Trips**: each case's 跑动次数 — 0 for a case filed at home, in hospital or at a mobile
  station and delivered by the agent or by mail; filing at the hall's window and picking
  the result up each cost one. Zero-trip cases count 0, so the average is over all cases.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import rfc3339

from .clocks import case_deadlines
from .detail import clock_json
from .machine import State
from .queries import CaseFilter, iter_cases
from .tables import HallCase, HallComplaint, utc
from .timelimits import (
    CaseOutcome,
    ClockStatus,
    OnTimeReport,
    WorkingCalendar,
    escalation_step,
    on_time_rate,
)
from .views import case_summary
from .visits.figures import period_figures, visit_warnings
from .visits.tables import HallVisitRequest

__all__ = [
    "SATISFIED_FROM",
    "cases_csv",
    "cases_per_grid",
    "cases_per_matter",
    "cases_per_state",
    "summary_report",
    "warnings_csv",
    "warnings_report",
]

SATISFIED_FROM = 3  # 基本满意 and better count as satisfied (好评)


def _period(
    session: Session, matter: str | None, since: datetime | None, until: datetime | None
) -> list[HallCase]:
    query = select(HallCase)
    if matter:
        query = query.where(HallCase.matter_id == matter)
    if since is not None:
        query = query.where(col(HallCase.received_at) >= since)
    if until is not None:
        query = query.where(col(HallCase.received_at) < until)
    return list(session.exec(query))


def _on_time_json(report: OnTimeReport) -> dict[str, Any]:
    return {
        "rate": report.rate,
        "on_time": report.on_time,
        "late": report.late,
        "overdue_open": report.overdue_open,
        "pending": report.pending,
        "excluded": report.excluded,
    }


def _outcome(case: HallCase, due: datetime | None) -> CaseOutcome:
    if case.accepted_at is None or case.state == State.WITHDRAWN:
        return CaseOutcome(due_at=None, has_limit=False)
    return CaseOutcome(due_at=utc(due), concluded_at=utc(case.concluded_at))


def summary_report(
    session: Session,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    matter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    cases = _period(session, matter, since, until)
    ratings = [c.rating for c in cases if c.rating is not None]
    satisfied = sum(1 for r in ratings if r >= SATISFIED_FROM)
    trips = [c.trips for c in cases]
    statuses = {s.value: 0 for s in ClockStatus}
    for case in _open_in_approval(cases):
        deadlines = case_deadlines(session, case, calendar)
        if deadlines is not None and deadlines.promised is not None:
            statuses[deadlines.promised.status(now).value] += 1
    overdue_complaints = session.exec(
        select(HallComplaint).where(
            col(HallComplaint.answered_at).is_(None), col(HallComplaint.due_at) <= now
        )
    ).all()
    visits = select(HallVisitRequest)
    if matter:
        visits = visits.where(HallVisitRequest.matter_id == matter)
    if since is not None:
        visits = visits.where(col(HallVisitRequest.requested_at) >= since)
    if until is not None:
        visits = visits.where(col(HallVisitRequest.requested_at) < until)
    return {
        "as_of": rfc3339(now),
        "period": {"since": rfc3339(since), "until": rfc3339(until), "matter": matter},
        "cases": len(cases),
        "on_time": {
            "legal": _on_time_json(on_time_rate((_outcome(c, c.legal_due_at) for c in cases), now)),
            "promised": _on_time_json(
                on_time_rate((_outcome(c, c.promised_due_at) for c in cases), now)
            ),
        },
        "satisfaction": {
            "rate": satisfied / len(ratings) if ratings else None,
            "rated": len(ratings),
            "satisfied": satisfied,
            "by_rating": {str(r): ratings.count(r) for r in range(1, 6)},
        },
        "trips": {
            "total": sum(trips),
            "average": sum(trips) / len(trips) if trips else None,
            "zero_trip_cases": trips.count(0),
            "zero_trip_rate": trips.count(0) / len(trips) if trips else None,
        },
        "clocks": statuses,
        "complaints_overdue": len(overdue_complaints),
        "visits": period_figures(session.exec(visits), now),
    }


def _open_in_approval(cases: Iterable[HallCase]) -> list[HallCase]:
    return [c for c in cases if not c.closed and c.accepted_at and c.concluded_at is None]


def warnings_report(
    session: Session, calendar: WorkingCalendar, now: datetime, *, visits: bool = False
) -> list[dict[str, Any]]:
    """Open, accepted, unconcluded cases whose promised or legal clock warns or is overdue;
    with ``visits``, then the open visit requests whose timers are near or past
    (``visits.figures.visit_warnings``). Every entry names its ``kind``."""
    open_cases = session.exec(
        select(HallCase).where(
            col(HallCase.closed).is_(False),
            col(HallCase.accepted_at).is_not(None),
            col(HallCase.concluded_at).is_(None),
        )
    )
    found: list[dict[str, Any]] = []
    for case in open_cases:
        deadlines = case_deadlines(session, case, calendar)
        if deadlines is None:
            continue
        clocks = {"legal": deadlines.legal, "promised": deadlines.promised}
        worst = [
            d for d in clocks.values() if d is not None and d.status(now) is not ClockStatus.ON_TIME
        ]
        if not worst:
            continue
        step = max(escalation_step(d, now) for d in worst)
        found.append(
            {
                "kind": "case",
                "case": case_summary(case),
                "clocks": {name: clock_json(d, now) for name, d in clocks.items()},
                "escalation": {"step": int(step), "label_zh": step.label_zh},
            }
        )
    found.sort(key=lambda w: w["case"]["due"]["promised"] or "")
    if visits:
        found.extend({"kind": "visit_request", **w} for w in visit_warnings(session, calendar, now))
    return found


WARNING_COLUMNS = (
    "kind",
    "id",
    "subject",
    "state",
    "grid_id",
    "agent_id",
    "status",
    "clock",
    "due_at",
    "escalation_step",
    "escalation_label",
)


_SEVERITY = {"on_time": 0, "warning": 1, "overdue": 2}


def warnings_csv(session: Session, calendar: WorkingCalendar, now: datetime) -> str:
    """The warning list, cases and visit requests, as CSV (UTF-8 with a BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(WARNING_COLUMNS)
    for w in warnings_report(session, calendar, now, visits=True):
        if w["kind"] == "case":
            case = w["case"]
            # The worse of the two clocks (the promised one when they are alike).
            name, clock = max(
                ((n, c) for n, c in w["clocks"].items() if c is not None),
                key=lambda item: (_SEVERITY[item[1]["status"]], item[0] == "promised"),
            )
            row = [
                "case",
                case["id"],
                case["matter"]["id"],
                case["state"],
                case.get("grid_id") or "",
                case.get("agent_id") or "",
                clock.get("status") or "",
                name,
                clock.get("due_at") or "",
            ]
        else:
            visit = w["visit_request"]
            row = [
                "visit_request",
                visit["id"],
                visit["resident"]["name"],
                visit["state"],
                visit["grid_id"] or "",
                visit["assigned_agent_id"] or "",
                w["status"],
                w["milestone"],
                w["due_at"],
            ]
        row += [w["escalation"]["step"], w["escalation"]["label_zh"]]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


CSV_COLUMNS = (
    "id",
    "matter_id",
    "catalog_version",
    "state",
    "channel",
    "agent_id",
    "grid_id",
    "station_id",
    "applicant_name",
    "received_at",
    "accepted_at",
    "concluded_at",
    "promised_due_at",
    "legal_due_at",
    "on_time_promised",
    "trips",
    "delivery_method",
    "rating",
)


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def cases_csv(session: Session, filters: CaseFilter, now: datetime) -> str:
    """The matching cases as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese
    names right), newest first."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for case in iter_cases(session, filters, now):
        due = utc(case.promised_due_at)
        concluded = utc(case.concluded_at)
        if concluded is not None:
            on_time = "yes" if due is None or concluded < due else "no"
        elif due is not None and now >= due:
            on_time = "no"
        else:
            on_time = ""
        row = [
            case.id,
            case.matter_id,
            case.catalog_version,
            case.state,
            case.channel,
            case.agent_id,
            case.grid_id or "",
            case.station_id or "",
            case.applicant_name,
            rfc3339(utc(case.received_at)),
            rfc3339(utc(case.accepted_at)) or "",
            rfc3339(concluded) or "",
            rfc3339(due) or "",
            rfc3339(utc(case.legal_due_at)) or "",
            on_time,
            case.trips,
            case.delivery_method or "",
            "" if case.rating is None else case.rating,
        ]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# ---------------------------------------------------------------------- tallies
# Cases counted per state (the inbox's tabs), per grid and per matter (the supervision
# page's charts): one GROUP BY each, over every case whatever its period.


def cases_per_grid(session: Session, limit: int = 12) -> list[tuple[str | None, int]]:
    """The ``limit`` grids with the most cases, most first (None: filed without a grid)."""
    count = func.count(col(HallCase.id))
    rows = session.exec(
        select(HallCase.grid_id, count)
        .group_by(HallCase.grid_id)
        .order_by(count.desc(), col(HallCase.grid_id))
        .limit(limit)
    ).all()
    return [(grid, int(n)) for grid, n in rows]


def cases_per_matter(session: Session) -> list[tuple[str, int]]:
    count = func.count(col(HallCase.id))
    rows = session.exec(
        select(HallCase.matter_id, count)
        .group_by(HallCase.matter_id)
        .order_by(count.desc(), col(HallCase.matter_id))
    ).all()
    return [(matter, int(n)) for matter, n in rows]


def cases_per_state(session: Session) -> dict[str, int]:
    count = func.count(col(HallCase.id))
    rows = session.exec(select(HallCase.state, count).group_by(HallCase.state)).all()
    return {state: int(n) for state, n in rows}
