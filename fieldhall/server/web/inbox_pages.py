"""``/hall/cases``: the inbox — cases by state, newest first, with their deadline badges,
the REST inbox's filters (``hall.queries``) and its keyset paging."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter

from fieldhall.field_app_api.clock import now
from fieldhall.schemas import load_catalog

from ..hall.clocks import case_deadlines, matter_of
from ..hall.queries import CaseFilter, list_cases
from ..hall.reports import cases_per_state
from ..hall.tables import HallCase
from ..hall.timelimits import WorkingCalendar
from .access import CASE_READERS, Visitor, hall_of, visitor
from .labels import CHANNELS, STATES
from .rendering import page

__all__ = ["InboxPages", "deadline_badge"]

PAGE = 50


def deadline_badge(session: Any, case: HallCase, calendar: WorkingCalendar, at: Any) -> Any:
    """The promised clock of the case read now (None before acceptance or after the
    decision: nothing is running)."""
    if case.closed or case.concluded_at is not None:
        return None
    deadlines = case_deadlines(session, case, calendar)
    if deadlines is None or deadlines.promised is None:
        return None
    return deadlines.promised.reading(at)


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


class InboxPages(Controller):
    path = "/hall/cases"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/", sync_to_thread=True)
    def inbox(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        case_state: Annotated[str | None, Parameter(query="state")] = None,
        matter: str | None = None,
        grid: str | None = None,
        station: str | None = None,
        overdue: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> Response[str]:
        me.require(CASE_READERS)
        hall = hall_of(request)
        at = now()
        filters = CaseFilter(
            state=_blank(case_state) if _blank(case_state) in STATES else None,
            matter=_blank(matter),
            grid=_blank(grid),
            station=_blank(station),
            overdue=True if overdue == "true" else None,
            text=_blank(q),
        )
        with hall.field.read_session() as session:
            cases, following = list_cases(session, filters, at, limit=PAGE, cursor=cursor or None)
            rows = [
                {
                    "case": case,
                    "matter": matter_of(case).name,
                    "clock": deadline_badge(session, case, hall.workflow.calendar, at),
                }
                for case in cases
            ]
            counts = cases_per_state(session)
        catalog = load_catalog()
        return page(
            "inbox.html",
            me.locale,
            staff=me.account,
            nav=me.nav,
            csrf=me.session.csrf,
            here="/hall/cases",
            rows=rows,
            following=following,
            filters=filters,
            query={k: v for k, v in request.query_params.items() if k != "cursor"},
            matters=catalog.matters,
            states=STATES,
            counts=counts,
            channels=CHANNELS,
        )
