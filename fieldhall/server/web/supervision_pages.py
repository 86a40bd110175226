"""``/hall/supervision``: e-supervision (电子监察) at a glance — on-time rates, the cases and
home-visit requests whose clocks warn or are overdue, satisfaction, trips per case, cases per
grid and matter — from ``hall.reports`` (the REST reports' own functions), charted as inline
SVG."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide

from fieldhall.field_app_api.clock import now
from fieldhall.schemas import load_catalog

from ..hall.queries import CaseFilter
from ..hall.reports import (
    cases_csv,
    cases_per_grid,
    cases_per_matter,
    summary_report,
    warnings_report,
)
from .access import REPORT_READERS, Visitor, hall_of, visitor
from .charts import bar_chart, gauge
from .i18n import translations
from .labels import CLOCKS, MILESTONES, STATES, VISIT_STATES
from .rendering import SECURITY_HEADERS, page

__all__ = ["SupervisionPages"]


class SupervisionPages(Controller):
    path = "/hall/supervision"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/", sync_to_thread=True)
    def dashboard(self, request: Request[Any, Any, Any], me: Visitor) -> Response[str]:
        me.require(REPORT_READERS)
        hall = hall_of(request)
        at = now()
        with hall.field.read_session() as session:
            summary = summary_report(session, hall.workflow.calendar, at)
            warnings = warnings_report(session, hall.workflow.calendar, at, visits=True)
            grids = cases_per_grid(session)
            matters = cases_per_matter(session)
        _ = translations(me.locale).gettext
        names = {m.id: m.name for m in load_catalog().matters}
        english = me.locale == "en"

        def matter_name(matter_id: str) -> str:
            name = names.get(matter_id)
            return (name.en if english else name.zh) if name else matter_id

        clocks = summary["clocks"]
        ratings = summary["satisfaction"]["by_rating"]
        return page(
            "supervision.html",
            me.locale,
            staff=me.account,
            nav=me.nav,
            csrf=me.session.csrf,
            here="/hall/supervision",
            summary=summary,
            warnings=warnings,
            on_time_legal=gauge(summary["on_time"]["legal"]["rate"]),
            on_time_promised=gauge(summary["on_time"]["promised"]["rate"]),
            satisfaction=gauge(summary["satisfaction"]["rate"]),
            zero_trips=gauge(summary["trips"]["zero_trip_rate"]),
            clock_chart=bar_chart(
                [(_(CLOCKS[k]), clocks.get(k, 0), str(clocks.get(k, 0))) for k in CLOCKS],
                css=["ok", "warn", "late"],
            ),
            rating_chart=bar_chart(
                [
                    (f"{r} ★", ratings.get(str(r), 0), str(ratings.get(str(r), 0)))
                    for r in range(5, 0, -1)
                ]
            ),
            grid_chart=bar_chart([(grid or _("No grid"), n, str(n)) for grid, n in grids]),
            matter_chart=bar_chart([(matter_name(m), n, str(n)) for m, n in matters]),
            matter_name=matter_name,
            states=STATES,
            visit_states=VISIT_STATES,
            milestones=MILESTONES,
        )

    @get("/cases.csv", sync_to_thread=True)
    def export(self, request: Request[Any, Any, Any], me: Visitor) -> Response[str]:
        """Every case as CSV (the REST export's function)."""
        me.require(REPORT_READERS)
        with hall_of(request).field.read_session() as session:
            body = cases_csv(session, CaseFilter(), now())
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": 'attachment; filename="cases.csv"',
            },
        )
