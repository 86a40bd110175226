"""``/api/v1/reports``: e-supervision's summary (on-time rate, satisfaction, trips, clocks,
visit requests), the warning list (cases and visit requests; also as CSV), and the case
export as CSV (supervisors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from fieldhall.field_app_api.clock import now

from ..errors import BadRequest
from ..queries import CaseFilter
from ..reports import cases_csv, summary_report, warnings_csv, warnings_report
from .access import hall_of, supervisor

__all__ = ["ReportController"]


def _instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("report.bad_period", f"{name} is an RFC 3339 instant") from None
    if moment.tzinfo is None:
        raise BadRequest("report.bad_period", f"{name} needs a time zone offset")
    return moment


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/summary", sync_to_thread=True)
    def summary(
        self,
        request: Request[Any, Any, Any],
        matter: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> dict[str, Any]:
        """On-time rate (按期办结率), satisfaction (满意率), trips (跑动次数), clocks, and the
        visit requests' figures (by source and urgency, 按时响应率, closed on time)."""
        supervisor(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            return summary_report(
                session,
                hall.workflow.calendar,
                now(),
                matter=matter,
                since=_instant(since, "since"),
                until=_instant(until, "until"),
            )

    @get("/warnings", sync_to_thread=True)
    def warnings(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Cases whose clock warns (预警) or is overdue, then open visit requests whose
        timers are near or past, each with its escalation step (``kind`` tells them apart)."""
        supervisor(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            found = warnings_report(session, hall.workflow.calendar, now(), visits=True)
        return {"warnings": found}

    @get("/warnings.csv", sync_to_thread=True)
    def warnings_export(self, request: Request[Any, Any, Any]) -> Response[str]:
        """The warning list as CSV: one row per case or visit request."""
        supervisor(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            body = warnings_csv(session, hall.workflow.calendar, now())
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="warnings.csv"'},
        )

    @get("/cases.csv", sync_to_thread=True)
    def export(
        self,
        request: Request[Any, Any, Any],
        case_state: Annotated[str | None, Parameter(query="state")] = None,
        matter: str | None = None,
        grid: str | None = None,
        station: str | None = None,
        overdue: bool | None = None,
        text: str | None = None,
    ) -> Response[str]:
        """The matching cases as CSV (the list's filters)."""
        supervisor(request)
        filters = CaseFilter(case_state, matter, grid, station, overdue, text)
        with hall_of(request).field.read_session() as session:
            body = cases_csv(session, filters, now())
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="cases.csv"'},
        )
