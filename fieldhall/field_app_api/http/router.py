"""The field API's route handlers and its error shape."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, ValidationException

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
    # Name what was wrong ("limit: expected an integer"), not only that something was.
    problems = [
        f"{item.get('key') or item.get('source') or 'body'}: {item.get('message')}"
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict) and item.get("message")
    ]
    reason = "; ".join(problems) or str(exc.detail)
    return Response({"error": "bad_request", "reason": reason}, status_code=400)


# Litestar's own refusals (malformed JSON, unknown route, wrong method, body too large) in
# the API's shape: a client parses one error format, whatever refused it.
_HTTP_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    status = exc.status_code
    if status >= 500:
        raise exc  # a server fault is not dressed up as a client's mistake
    return Response(
        {"error": _HTTP_ERRORS.get(status, "bad_request"), "reason": str(exc.detail)},
        status_code=status,
        headers=exc.headers,
    )


field_error_handlers: dict[Any, Any] = {
    FieldError: _field_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
}


def field_api_router() -> Router:
    return Router(path="/", route_handlers=[DeviceController, AdminController, PublicController])
