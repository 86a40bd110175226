"""The hall UI under ``/hall``: its pages, its static files, and how its errors look (a
redirect to the login page, or an HTML error page — never the API's JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore

from ..hall.errors import HallError
from ..settings import Settings
from .access import BadForm, NotSignedIn, WebParts, WrongRole, locale_of
from .auth_pages import AuthController
from .case_pages import CasePages
from .inbox_pages import InboxPages
from .rendering import SECURITY_HEADERS, page
from .sessions import AddressThrottle, WebSessions
from .station_pages import StationEventPages, StationPages
from .supervision_pages import SupervisionPages
from .visit_pages import VisitPages

__all__ = ["hall_web_router", "web_parts"]

STATIC = Path(__file__).parent / "static"


def web_parts(settings: Settings, public_url: str | None) -> WebParts:
    sessions = settings.data_dir / "hall-sessions"
    sessions.mkdir(mode=0o700, parents=True, exist_ok=True)  # a session id is a credential
    store = FileStore(sessions, create_directories=True)
    return WebParts(
        WebSessions(store),
        AddressThrottle(),
        https=bool(public_url and public_url.startswith("https://")),
    )


def _error_page(
    request: Request[Any, Any, Any], status: int, kind: str, **extra: Any
) -> Response[str]:
    return page(
        "error.html",
        locale_of(request),
        status=status,
        kind=kind,
        staff=None,
        nav=[],
        here=request.url.path,
        csrf="",
        **extra,
    )


def _not_signed_in(request: Request[Any, Any, Any], exc: NotSignedIn) -> Response[Any]:
    target = "/hall/login"
    if request.method == "GET":
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        target += "?next=" + quote(path, safe="")
    return Redirect(target, status_code=303, headers=dict(SECURITY_HEADERS))


def _wrong_role(request: Request[Any, Any, Any], exc: WrongRole) -> Response[Any]:
    return _error_page(request, 403, "role", roles=exc.roles)


def _bad_form(request: Request[Any, Any, Any], exc: BadForm) -> Response[Any]:
    return _error_page(request, 403, "form")


def _hall_error(request: Request[Any, Any, Any], exc: HallError) -> Response[Any]:
    return _error_page(request, exc.status, "hall", code=exc.code, reason=exc.message)


def _static_headers(response: Response[Any]) -> Response[Any]:
    for name in ("X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options"):
        response.headers[name] = SECURITY_HEADERS[name]
    return response


def hall_web_router() -> Router:
    static = create_static_files_router(
        path="/hall/static",
        directories=[STATIC],
        name="hall_static",
        cache_control=CacheControlHeader(no_cache=True),
        after_request=_static_headers,
    )
    return Router(
        path="/",
        route_handlers=[
            AuthController,
            InboxPages,
            CasePages,
            VisitPages,
            StationPages,
            StationEventPages,
            SupervisionPages,
            static,
        ],
        exception_handlers={
            NotSignedIn: _not_signed_in,
            WrongRole: _wrong_role,
            BadForm: _bad_form,
            HallError: _hall_error,
        },
        include_in_schema=False,
    )
