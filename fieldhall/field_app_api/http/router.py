"""The field API's route handlers and its error shape."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import ValidationException

from ..errors import FieldError
from .admin_api import AdminController
from .auth import DEVICE_UNAUTHORIZED
from .devices_api import DeviceController
from .public_api import PublicController

__all__ = ["field_api_router", "field_error_handlers"]


def _field_error(request: Request[Any, Any, Any], exc: FieldError) -> Response[dict[str, str]]:
    headers = {"WWW-Authenticate": 'Basic realm="fieldhall"'} if exc.status == 401 else None
    if exc.status == 401 and exc.code == DEVICE_UNAUTHORIZED:
        headers = {"WWW-Authenticate": 'Bearer realm="fieldhall"'}
    return Response(exc.to_json(), status_code=exc.status, headers=headers)


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, str]]:
    return Response({"error": "bad_request", "reason": str(exc.detail)}, status_code=400)


field_error_handlers: dict[Any, Any] = {
    FieldError: _field_error,
    ValidationException: _validation_error,
}


def field_api_router() -> Router:
    return Router(path="/", route_handlers=[DeviceController, AdminController, PublicController])
