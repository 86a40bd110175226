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
``GET /api/v1/stations``, ``…/{id}/events``  clerk, approver, supervisor, admin
``GET /api/v1/station-events/{id}``
``POST /api/v1/stations/{id}/events``        supervisor, admin
``PATCH``, ``POST …/station-events/{id}/cancel``
``GET …/station-events/{id}/summary(.csv)``  supervisor, admin
``GET /api/v1/notifications``,              supervisor, admin
``POST …/notifications/{id}/retry``
==========================================  ==========================================

Admins manage accounts, agents and devices; they do no casework and read no cases (the
separation of duties a hall's e-supervision expects). Station events are organisation, not
casework: supervisors plan them with the departments and admins, who enroll the stations'
devices, keep them right; every staff member may read them. An event's summary holds counts,
never a case, and notifications are the operator's to watch (a webhook that fails at 3 a.m.),
so admins read both with supervisors.
"""

from __future__ import annotations

from typing import Any, Protocol

from litestar import Request

from fieldhall.field_app_api.http.auth import require_staff
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.tables import StaffAccount

from ...photos.material_photos import MaterialPhotos
from ..notifications import NotificationDispatcher
from ..projector import Projector
from ..stations import StationEvents
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
    "station_manager",
    "station_reader",
    "supervisor",
    "supervisor_or_admin",
    "visit_staff",
]

CASE_READERS = ("clerk", "approver", "supervisor")
REPORT_READERS = ("supervisor",)
STATION_READERS = ("clerk", "approver", "supervisor", "admin")
STATION_MANAGERS = ("supervisor", "admin")


class HallContext(Protocol):
    """What the handlers need of the composed hall (``app.state.hall``)."""

    field: FieldService
    workflow: Workflow
    projector: Projector
    visits: VisitService
    photos: MaterialPhotos
    stations: StationEvents
    notifications: NotificationDispatcher


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


def station_reader(request: Request[Any, Any, Any]) -> StaffAccount:
    return require_staff(request, *STATION_READERS)


def station_manager(request: Request[Any, Any, Any]) -> StaffAccount:
    return require_staff(request, *STATION_MANAGERS)


def supervisor_or_admin(request: Request[Any, Any, Any]) -> StaffAccount:
    """Event summaries and notifications."""
    return require_staff(request, *STATION_MANAGERS)
