"""``/api/v1/visit-requests``: create a home-visit request, the list (filters, keyset
paging), one request with its timeline, and ``POST …/{id}/actions/{dispatch|reassign|cancel}``
(clerks and supervisors; an optional ``Idempotency-Key`` header makes a retry safe)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from ..visits import VisitFilter, VisitOutcome, list_requests, request_detail
from .access import hall_of, visit_staff

__all__ = ["VisitRequestController"]


def _reply(outcome: VisitOutcome) -> Response[dict[str, Any]]:
    headers = {"Idempotency-Replayed": "true"} if outcome.replayed else None
    return Response(outcome.body, status_code=outcome.status, headers=headers)


class VisitRequestController(Controller):
    path = "/api/v1/visit-requests"
    tags = ["visit requests"]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, request: Request[Any, Any, Any], data: dict[str, Any]
    ) -> Response[dict[str, Any]]:
        """A resident's request (12345 hotline, community, family), dispatched at once to
        ``grid_id``/``assigned_agent_id`` when given."""
        account = visit_staff(request)
        key = request.headers.get("idempotency-key")
        return _reply(hall_of(request).visits.create(data, account, idempotency_key=key))

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[Any, Any, Any],
        visit_state: Annotated[str | None, Parameter(query="state")] = None,
        grid: str | None = None,
        urgency: str | None = None,
        overdue: bool | None = None,
        agent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Requests, newest first; ``next`` is the cursor of the following page."""
        visit_staff(request)
        visits = hall_of(request).visits
        filters = VisitFilter(visit_state, grid, urgency, overdue, agent)
        with visits.field.read_session() as session:
            rows, following = list_requests(
                session, filters, visits.clock(), visits.calendar, limit=limit, cursor=cursor
            )
        return {"visit_requests": rows, "next": following}

    @get("/{request_id:str}", sync_to_thread=True)
    def detail(self, request: Request[Any, Any, Any], request_id: str) -> dict[str, Any]:
        """A request in full: timers, escalation, cases filed, timeline."""
        visit_staff(request)
        visits = hall_of(request).visits
        with visits.field.read_session() as session:
            return request_detail(session, request_id, visits.clock(), visits.calendar)

    @post("/{request_id:str}/actions/{action:str}", status_code=HTTP_200_OK, sync_to_thread=True)
    def act(
        self,
        request: Request[Any, Any, Any],
        request_id: str,
        action: str,
        data: dict[str, Any] | None = None,
    ) -> Response[dict[str, Any]]:
        """``dispatch`` (a pending request), ``reassign`` or ``cancel``."""
        account = visit_staff(request)
        key = request.headers.get("idempotency-key")
        visits = hall_of(request).visits
        return _reply(visits.act(request_id, action, data, account, idempotency_key=key))
