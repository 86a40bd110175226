"""``/api/v1/cases``: the inbox (filters, keyset paging), a case in full with the
verification of its evidence and its photos' duplicate warnings, each material's thumbnail and
preview (``GET /api/v1/cases/{case_id}/materials/{name}/thumbnail|preview``), and every
workflow action as
``POST /api/v1/cases/{case_id}/actions/{action}`` (JSON body per action; an optional
``Idempotency-Key`` header makes a retry safe)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from fieldhall.field_app_api.clock import now

from ...photos.case_photos import derivative_path
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

    @get("/{case_id:str}/materials/{name:str}/thumbnail", sync_to_thread=True)
    def thumbnail(
        self, request: Request[Any, Any, Any], case_id: str, name: str, doc: str | None = None
    ) -> Response[bytes]:
        """The material's 256 px JPEG, oriented, without any metadata (404 for a PDF)."""
        return _derivative(request, case_id, name, "thumbnail", doc)

    @get("/{case_id:str}/materials/{name:str}/preview", sync_to_thread=True)
    def preview(
        self, request: Request[Any, Any, Any], case_id: str, name: str, doc: str | None = None
    ) -> Response[bytes]:
        """The material's 1280 px JPEG, oriented, without any metadata (404 for a PDF)."""
        return _derivative(request, case_id, name, "preview", doc)

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


def _derivative(
    request: Request[Any, Any, Any], case_id: str, name: str, variant: str, doc: str | None
) -> Response[bytes]:
    staff_reading(request)
    hall = hall_of(request)
    with hall.field.read_session() as session:
        path = derivative_path(session, hall.photos.store, case_id, name, variant, doc)
    # Derivatives of an original never change (its sha256 names them); a person's documents
    # stay out of shared caches.
    etag = f'"{path.parent.name}-{variant}"'
    headers = {
        "Cache-Control": "private, max-age=86400",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(path.read_bytes(), media_type="image/jpeg", headers=headers)
