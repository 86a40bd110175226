"""``/hall/visits``: the dispatch board for home-visit requests (上门服务工单) — the open
requests by state with the hotline's timers (time left, or how late and which step of the
escalation ladder), one request with its timeline and the cases filed on it, and the forms
that create, dispatch, reassign and cancel requests.

Every form posts to ``VisitService.create`` / ``VisitService.act`` with the body the REST API
takes and the form's one-time ``Idempotency-Key``, so a double click or a resent form
replays the first reply instead of acting twice; the lists and the detail are the REST
API's own ``list_requests`` and ``request_detail``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Redirect
from sqlmodel import col, select

from fieldhall.field_app_api.tables import Agent, Grid
from fieldhall.schemas import load_catalog

from ..hall.errors import HallError
from ..hall.visits import VisitFilter, list_requests, request_detail
from ..hall.visits.machine import OPEN_STATES, allowed
from ..hall.visits.queries import MAX_PAGE
from .access import VISIT_STAFF, Visitor, check_form, hall_of, visitor
from .forms import visit_action_body, visit_body
from .labels import (
    ADDRESSEES,
    CASE_LINKS,
    MILESTONES,
    SOURCES,
    STEPS,
    UPDATE_OUTCOMES,
    URGENCIES,
    VISIT_ACTIONS,
    VISIT_STATES,
)
from .rendering import SECURITY_HEADERS, page

__all__ = ["TimerView", "VisitPages", "timer_views"]

# The board's columns, left to right; done and cancelled requests are listed on request.
BOARD = [state for state in VISIT_STATES if state in OPEN_STATES]
STAFF_ACTIONS = ("dispatch", "reassign", "cancel")


@dataclass(frozen=True, slots=True)
class TimerView:
    """One of a request's timers read now: met (when), running (minutes left) or late
    (minutes past due, and the step of the ladder it reached)."""

    milestone: str
    due_at: str
    reached_at: str | None
    met: bool | None
    minutes: int  # left while running, past due once late; 0 when reached
    step: int

    @property
    def status(self) -> str:
        if self.reached_at is not None:
            return "met" if self.met else "met_late"
        return "late" if self.minutes < 0 or self.step else "running"


def timer_views(visit: dict[str, Any], at: datetime) -> list[TimerView]:
    views = []
    for timer in visit["timers"]:
        due = datetime.fromisoformat(timer["due_at"])
        seconds = (due - at).total_seconds()
        minutes = 0 if timer["reached_at"] else int(seconds / 60)  # whole minutes, towards 0
        views.append(
            TimerView(
                timer["milestone"],
                timer["due_at"],
                timer["reached_at"],
                timer["met"],
                minutes,
                int(timer["escalation_step"]),
            )
        )
    return views


def _choices(session: Any) -> list[dict[str, Any]]:
    """Every grid with its active agents: the options of the dispatch select."""
    grids = session.exec(select(Grid).order_by(col(Grid.id))).all()
    agents = session.exec(
        select(Agent).where(col(Agent.active).is_(True)).order_by(col(Agent.name))
    ).all()
    return [{"grid": grid, "agents": [a for a in agents if a.grid_id == grid.id]} for grid in grids]


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _labels() -> dict[str, Any]:
    return {
        "states": VISIT_STATES,
        "actions": VISIT_ACTIONS,
        "sources": SOURCES,
        "urgencies": URGENCIES,
        "milestones": MILESTONES,
        "steps": STEPS,
        "addressees": ADDRESSEES,
        "outcomes": UPDATE_OUTCOMES,
        "case_links": CASE_LINKS,
    }


def _common(me: Visitor) -> dict[str, Any]:
    return {
        "staff": me.account,
        "nav": me.nav,
        "csrf": me.session.csrf,
        "here": "/hall/visits",
        "L": _labels(),
        "matters": {m.id: m.name for m in load_catalog().matters},
    }


def _board(
    request: Request[Any, Any, Any],
    me: Visitor,
    filters: VisitFilter,
) -> dict[str, Any]:
    visits = hall_of(request).visits
    at = visits.clock()
    shown = [filters.state] if filters.state else BOARD
    groups = []
    with visits.field.read_session() as session:
        for state in shown:
            rows, more = list_requests(
                session,
                VisitFilter(state, filters.grid, filters.urgency, filters.overdue),
                at,
                visits.calendar,
                limit=MAX_PAGE,
            )
            groups.append(
                {
                    "state": state,
                    "more": more is not None,
                    "rows": [{"visit": r, "timers": timer_views(r, at)} for r in rows],
                }
            )
        choices = _choices(session)
    return {
        **_common(me),
        "groups": groups,
        "filters": filters,
        "choices": choices,
        "idempotency_key": secrets.token_urlsafe(18),
    }


def _detail(request: Request[Any, Any, Any], me: Visitor, request_id: str) -> dict[str, Any]:
    visits = hall_of(request).visits
    at = visits.clock()
    with visits.field.read_session() as session:
        visit = request_detail(session, request_id, at, visits.calendar)
        choices = _choices(session)
    return {
        **_common(me),
        "visit": visit,
        "timers": timer_views(visit, at),
        "choices": choices,
        "actions": [a for a in STAFF_ACTIONS if allowed(a, visit["state"])],
        "idempotency_key": secrets.token_urlsafe(18),
        "done": None,
        "error": None,
        "failed_action": None,
        "form": {},
    }


def _new(me: Visitor, request: Request[Any, Any, Any]) -> dict[str, Any]:
    with hall_of(request).field.read_session() as session:
        choices = _choices(session)
    return {
        **_common(me),
        "choices": choices,
        "idempotency_key": secrets.token_urlsafe(18),
        "error": None,
        "form": {},
    }


def _redirect(path: str) -> Redirect:
    return Redirect(path, status_code=303, headers=dict(SECURITY_HEADERS))


class VisitPages(Controller):
    path = "/hall/visits"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/", sync_to_thread=True)
    def board(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        visit_state: Annotated[str | None, Parameter(query="state")] = None,
        grid: str | None = None,
        urgency: str | None = None,
        overdue: str | None = None,
        done: str | None = None,
    ) -> Response[str]:
        me.require(VISIT_STAFF)
        filters = VisitFilter(
            state=_blank(visit_state) if _blank(visit_state) in VISIT_STATES else None,
            grid=_blank(grid),
            urgency=_blank(urgency) if _blank(urgency) in URGENCIES else None,
            overdue=True if overdue == "true" else None,
        )
        context = _board(request, me, filters)
        context["done"] = done if done in VISIT_ACTIONS else None
        return page("visits.html", me.locale, **context)

    @get("/new", sync_to_thread=True)
    def new(self, request: Request[Any, Any, Any], me: Visitor) -> Response[str]:
        me.require(VISIT_STAFF)
        return page("visit_new.html", me.locale, **_new(me, request))

    @post("/")
    async def create(self, request: Request[Any, Any, Any], me: Visitor) -> Response[Any]:
        me.require(VISIT_STAFF)
        form = await request.form()
        check_form(me.session.csrf, form)
        key = str(form.get("_key") or "") or None
        visits = hall_of(request).visits
        try:
            outcome = await to_thread.run_sync(
                lambda: visits.create(visit_body(form), me.account, idempotency_key=key)
            )
        except HallError as exc:
            context = await to_thread.run_sync(_new, me, request)
            context.update(error=exc, form=dict(form))
            return page("visit_new.html", me.locale, status=exc.status, **context)
        created = outcome.body["visit_request"]["id"]
        return _redirect(f"/hall/visits/{created}?done=create")

    @get("/{request_id:str}", sync_to_thread=True)
    def visit(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        request_id: str,
        done: str | None = None,
    ) -> Response[str]:
        me.require(VISIT_STAFF)
        context = _detail(request, me, request_id)
        context["done"] = done if done in VISIT_ACTIONS else None
        return page("visit.html", me.locale, **context)

    @post("/{request_id:str}/actions/{action:str}")
    async def act(
        self, request: Request[Any, Any, Any], me: Visitor, request_id: str, action: str
    ) -> Response[Any]:
        """``dispatch``, ``reassign`` or ``cancel``; back to where the form was (the board's
        own dispatch forms say ``_back=board``)."""
        me.require(VISIT_STAFF)
        form = await request.form()
        check_form(me.session.csrf, form)
        key = str(form.get("_key") or "") or None
        visits = hall_of(request).visits
        try:
            await to_thread.run_sync(
                lambda: visits.act(
                    request_id,
                    action,
                    visit_action_body(action, form),
                    me.account,
                    idempotency_key=key,
                )
            )
        except HallError as exc:
            if exc.code in ("visit.not_found", "visit.unknown_action"):
                raise
            context = await to_thread.run_sync(_detail, request, me, request_id)
            context.update(error=exc, failed_action=action, form=dict(form))
            return page("visit.html", me.locale, status=exc.status, **context)
        if form.get("_back") == "board":
            return _redirect(f"/hall/visits?done={action}#{request_id}")
        return _redirect(f"/hall/visits/{request_id}?done={action}")
