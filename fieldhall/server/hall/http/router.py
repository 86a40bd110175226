"""The hall's route handlers (cases, reports, visit requests) and its error shape:
``{"error": <stable code>, "reason"}`` with the status the error's class carries."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router

from ..errors import HallError
from .cases_api import CaseController
from .notifications_api import NotificationController
from .reports_api import ReportController
from .stations_api import StationController, StationEventController
from .visits_api import VisitRequestController

__all__ = ["hall_api_router", "hall_error_handlers"]


def _hall_error(request: Request[Any, Any, Any], exc: HallError) -> Response[dict[str, str]]:
    return Response(exc.to_json(), status_code=exc.status)


hall_error_handlers: dict[Any, Any] = {HallError: _hall_error}


def hall_api_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            CaseController,
            ReportController,
            VisitRequestController,
            StationController,
            StationEventController,
            NotificationController,
        ],
    )
