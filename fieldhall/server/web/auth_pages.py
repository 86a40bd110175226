"""``/hall/login``, ``/hall/logout``, ``/hall/lang/{locale}`` and ``/hall/`` (each role's
first page).

The login form is protected against login CSRF by a double-submit token: the form's hidden
``_csrf`` must equal the ``hall_login_csrf`` cookie set with it (SameSite=Strict, so another
site can neither read nor send it). After the login every form carries the session's own
token instead.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.response import Redirect
from sqlmodel import Session

from fieldhall.field_app_api.staff import verify_staff
from fieldhall.field_app_api.tables import StaffAccount

from ..hall.audit import Actor, Subject, append
from .access import (
    CASE_READERS,
    LANG_COOKIE,
    REPORT_READERS,
    BadForm,
    NotSignedIn,
    Visitor,
    check_form,
    hall_of,
    locale_of,
    visitor,
    web_of,
)
from .i18n import LOCALES
from .rendering import SECURITY_HEADERS, page
from .sessions import COOKIE

__all__ = ["AuthController", "home_of", "safe_next"]

LOGIN_CSRF_COOKIE = "hall_login_csrf"
MAX_PASSWORD = 1024  # longer is never a password: refused before argon2 spends time on it


def safe_next(value: str | None) -> str | None:
    """A path inside the UI to return to after the login (never another site's URL)."""
    if not value or not value.startswith("/hall/") or value.startswith("/hall//"):
        return None
    return None if any(c in value for c in "\\\r\n") else value


def home_of(role: str) -> str:
    if role in REPORT_READERS:
        return "/hall/supervision"
    if role in CASE_READERS:
        return "/hall/cases"
    return "/hall/account"


def _secure(request: Request[Any, Any, Any]) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return web_of(request).https or request.url.scheme == "https" or forwarded == "https"


def _redirect(location: str, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(location, status_code=303, headers=dict(SECURITY_HEADERS), cookies=cookies)


def _login_form(
    request: Request[Any, Any, Any], *, error: str | None = None, status: int = 200
) -> Response[str]:
    token = secrets.token_urlsafe(32)
    response = page(
        "login.html",
        locale_of(request),
        status=status,
        csrf=token,
        error=error,
        next=safe_next(request.query_params.get("next")) or "",
        username=request.query_params.get("username", ""),
        staff=None,
        nav=[],
        here=request.url.path,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/hall/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=3600,
    )
    return response


def _authenticate(
    request: Request[Any, Any, Any], username: str, secret: str, address: str
) -> StaffAccount | None:
    """The account, its login audited (failures are counted by the lockouts instead: an
    anonymous caller must not be able to fill the audit log). argon2 runs outside the
    database's write lock (``verify_staff``)."""
    field = hall_of(request).field
    account = verify_staff(field, username, secret)
    if account is not None:
        with field.session() as session:
            _audit(session, account.username, "staff.logged_in", address)
    return account


def _audit(session: Session, username: str, action: str, address: str) -> None:
    details = {"via": "hall_web", "address": address}
    append(session, Actor.staff(username), action, Subject("staff", username), details)


def _logged_out(request: Request[Any, Any, Any], username: str, address: str) -> None:
    with hall_of(request).field.session() as session:
        _audit(session, username, "staff.logged_out", address)


def _address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/hall"

    @get("/", dependencies={"me": Provide(visitor)})
    async def home(self, me: Visitor) -> Redirect:
        return _redirect(home_of(me.role))

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            me = await visitor(request)
        except NotSignedIn:
            return _login_form(request)
        return _redirect(home_of(me.role))

    @post("/login")
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        offered = form.get("_csrf") or ""
        if not expected or not hmac.compare_digest(str(offered), expected):
            raise BadForm
        web = web_of(request)
        address = _address(request)
        wait = web.throttle.blocked_for(address)
        if wait > 0:
            minutes = int(wait // 60) + 1
            return _login_form(request, error=f"throttled:{minutes}", status=429)
        username = str(form.get("username") or "").strip()
        secret = str(form.get("password") or "")
        account: StaffAccount | None = None
        if username and secret and len(secret) <= MAX_PASSWORD:
            account = await to_thread.run_sync(_authenticate, request, username, secret, address)
        if account is None:
            web.throttle.failed(address)
            return _login_form(request, error="wrong", status=401)
        session = await web.sessions.begin(account.username)
        target = safe_next(str(form.get("next") or "")) or home_of(account.role)
        secure = _secure(request)
        return _redirect(
            target,
            cookies=[
                Cookie(
                    key=COOKIE,
                    value=session.id,
                    path="/hall",
                    httponly=True,
                    samesite="lax",
                    secure=secure,
                    # No max_age: a browser-session cookie. The server ends the session after
                    # IDLE without use or LIFETIME after login; a cookie expiring IDLE after
                    # login would log out a clerk who never stopped working.
                ),
                Cookie(key=LOGIN_CSRF_COOKIE, value="", path="/hall/login", max_age=0),
            ],
        )

    @post("/logout", dependencies={"me": Provide(visitor)})
    async def logout(self, request: Request[Any, Any, Any], me: Visitor) -> Redirect:
        check_form(me.session.csrf, await request.form())
        await web_of(request).sessions.end(me.session.id)
        await to_thread.run_sync(_logged_out, request, me.account.username, _address(request))
        return _redirect(
            "/hall/login", cookies=[Cookie(key=COOKIE, value="", path="/hall", max_age=0)]
        )

    @get("/lang/{chosen:str}")
    async def language(self, request: Request[Any, Any, Any], chosen: str) -> Redirect:
        """Switch the UI's language (a preference, not a privilege: no token needed)."""
        target = safe_next(request.query_params.get("next")) or "/hall/"
        if chosen not in LOCALES:
            return _redirect(target)
        cookie = Cookie(
            key=LANG_COOKIE,
            value=chosen,
            path="/hall",
            samesite="lax",
            secure=_secure(request),
            max_age=365 * 24 * 3600,
        )
        return _redirect(target, cookies=[cookie])

    @get("/{rest:path}")
    async def not_found(self, request: Request[Any, Any, Any], rest: str) -> Response[str]:
        """Any other address under /hall: a page, not the API's JSON."""
        return page(
            "error.html",
            locale_of(request),
            status=404,
            kind="missing",
            staff=None,
            nav=[],
            here=request.url.path,
            csrf="",
        )

    @get("/account", dependencies={"me": Provide(visitor)})
    async def account(self, me: Visitor) -> Response[str]:
        """Who is signed in; the only page of a role with no casework here (admins)."""
        return page(
            "account.html",
            me.locale,
            staff=me.account,
            nav=me.nav,
            csrf=me.session.csrf,
            here="/hall/account",
        )
