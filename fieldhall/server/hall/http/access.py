"""Who may call what: staff by HTTP Basic (the field contract's staff accounts), with the
roles of each endpoint in one table. The workflow adds the per-action roles of the state
machine (``machine.roles_for``) and approvers' departments.

==========================================  ==========================================
endpoint                                    roles
==========================================  ==========================================
``GET /api/v1/cases``, ``…/cases/{id}``    clerk, approver, supervisor
``GET …/cases/{id}/materials/{name}/…``     clerk, approver, supervisor (thumbnail, preview)
``POST …/cases/{id}/actions/{action}``      any staff account; the action's roles decide
``GET /api/v1/reports/…`` (and CSV)         supervisor
``/api/v1/visit-requests`` (every method)   clerk, supervisor
==========================================  ==========================================

Admins manage accounts, agents and devices; they do no casework and read no cases (the
separation of duties a hall's e-supervision expects).
"""

from __future__ import annotations

from typing import Any, Protocol

from litestar import Request

from fieldhall.field_app_api.http.auth import require_staff
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.tables import StaffAccount

from ...photos.material_photos import MaterialPhotos
from ..projector import Projector
from ..visits import VisitService
from ..visits.machine import STAFF_ROLES as VISIT_STAFF
from ..workflow import Workflow

__all__ = [
    "CASE_READERS",
    "REPORT_READERS",
    "VISIT_STAFF",
    "HallContext",
    "hall_of",
    "staff",
    "staff_reading",
    "supervisor",
    "visit_staff",
]

CASE_READERS = ("clerk", "approver", "supervisor")
REPORT_READERS = ("supervisor",)


class HallContext(Protocol):
    """What the handlers need of the composed hall (``app.state.hall``)."""

    field: FieldService
    workflow: Workflow
    projector: Projector
    visits: VisitService
    photos: MaterialPhotos


def hall_of(request: Request[Any, Any, Any]) -> HallContext:
    hall: HallContext = request.app.state.hall
    return hall


def staff(request: Request[Any, Any, Any]) -> StaffAccount:
    """Any authenticated staff account (401 otherwise)."""
    return require_staff(request)


def staff_reading(request: Request[Any, Any, Any]) -> StaffAccount:
    return require_staff(request, *CASE_READERS)


def supervisor(request: Request[Any, Any, Any]) -> StaffAccount:
    return require_staff(request, *REPORT_READERS)


def visit_staff(request: Request[Any, Any, Any]) -> StaffAccount:
    """Who handles home-visit requests: the window clerks and the supervisors."""
    return require_staff(request, *VISIT_STAFF)
