"""``/api/v1/cases``: the inbox (filters, keyset paging), a case in full with the
verification of its evidence, and every workflow action as
``POST /api/v1/cases/{case_id}/actions/{action}`` (JSON body per action; an optional
``Idempotency-Key`` header makes a retry safe)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from fieldhall.field_app_api.clock import now

from ..detail import case_detail
from ..queries import CaseFilter, list_cases
from ..views import case_summary
from .access import hall_of, staff, staff_reading

__all__ = ["CaseController"]


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]

    @get("/", sync_to_thread=True)
    def inbox(
        self,
        request: Request[Any, Any, Any],
        case_state: Annotated[str | None, Parameter(query="state")] = None,
        matter: str | None = None,
        grid: str | None = None,
        station: str | None = None,
        overdue: bool | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Cases, newest first; ``next`` is the cursor of the following page."""
        staff_reading(request)
        filters = CaseFilter(case_state, matter, grid, station, overdue, text)
        with hall_of(request).field.read_session() as session:
            rows, following = list_cases(session, filters, now(), limit=limit, cursor=cursor)
            return {"cases": [case_summary(c) for c in rows], "next": following}

    @get("/{case_id:str}", sync_to_thread=True)
    def detail(self, request: Request[Any, Any, Any], case_id: str) -> dict[str, Any]:
        """A case in full: pre-review, steps, clocks, history, verification."""
        staff_reading(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            return case_detail(hall.field, session, case_id, now(), hall.workflow.calendar)

    @post("/{case_id:str}/actions/{action:str}", status_code=HTTP_200_OK, sync_to_thread=True)
    def act(
        self,
        request: Request[Any, Any, Any],
        case_id: str,
        action: str,
        data: dict[str, Any] | None = None,
    ) -> Response[dict[str, Any]]:
        """Carry out ``action`` (see ``GET /api/v1/cases/{id}`` → ``actions``)."""
        account = staff(request)
        key = request.headers.get("idempotency-key")
        outcome = hall_of(request).workflow.act(case_id, action, data, account, idempotency_key=key)
        headers = {"Idempotency-Replayed": "true"} if outcome.replayed else None
        return Response(outcome.body, status_code=outcome.status, headers=headers)
