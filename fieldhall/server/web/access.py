"""Who is looking at the hall UI: the signed-in staff member, their language, and what their
role may see. Not signed in: :class:`NotSignedIn` (the router answers with a redirect to the
login page); the wrong role: :class:`WrongRole` (a 403 page); a form without its session's
CSRF token: :class:`BadForm` (a 403 page).

The roles of each page follow the REST API's table (``hall.http.access``): cases for
clerks, approvers and supervisors; home visits for clerks and supervisors; supervision for
supervisors; mobile stations for every role, planned by supervisors and admins (admins do no
casework).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from litestar import Request

from fieldhall.field_app_api.tables import StaffAccount

from ..hall.http.access import (
    CASE_READERS,
    REPORT_READERS,
    STATION_MANAGERS,
    STATION_READERS,
    VISIT_STAFF,
    HallContext,
)
from .i18n import pick_locale
from .sessions import COOKIE, AddressThrottle, WebSession, WebSessions

__all__ = [
    "CASE_READERS",
    "LANG_COOKIE",
    "REPORT_READERS",
    "STATION_MANAGERS",
    "STATION_READERS",
    "VISIT_STAFF",
    "BadForm",
    "NotSignedIn",
    "Visitor",
    "WebParts",
    "WrongRole",
    "check_form",
    "locale_of",
    "visitor",
    "web_of",
]

LANG_COOKIE = "hall_lang"


class NotSignedIn(Exception):
    """Raised when a page needs a signed-in staff member and there is none."""


class WrongRole(Exception):
    """Raised when the signed-in staff member's role may not see the page or do the action."""

    def __init__(self, roles: tuple[str, ...] | frozenset[str]) -> None:
        super().__init__(", ".join(sorted(roles)))
        self.roles = tuple(sorted(roles))


class BadForm(Exception):
    """Raised when a posted form lacks the CSRF token of the session it claims to be from."""


@dataclass
class WebParts:
    """The UI's own state, next to the hall's (``app.state.hall_web``)."""

    sessions: WebSessions
    throttle: AddressThrottle
    https: bool  # the public URL is https: every cookie is Secure


@dataclass(frozen=True, slots=True)
class Visitor:
    account: StaffAccount
    session: WebSession
    locale: str

    @property
    def role(self) -> str:
        return self.account.role

    def may(self, roles: tuple[str, ...] | frozenset[str]) -> bool:
        return self.account.role in roles

    def require(self, roles: tuple[str, ...] | frozenset[str]) -> None:
        if not self.may(roles):
            raise WrongRole(roles)

    @property
    def nav(self) -> list[tuple[str, str]]:
        """(path, message id) of the pages this role may open, in menu order."""
        items = []
        if self.may(CASE_READERS):
            items.append(("/hall/cases", "Cases"))
        if self.may(VISIT_STAFF):
            items.append(("/hall/visits", "Home visits"))
        if self.may(STATION_READERS):
            items.append(("/hall/stations", "Mobile stations"))
        if self.may(REPORT_READERS):
            items.append(("/hall/supervision", "Supervision"))
        return items


def web_of(request: Request[Any, Any, Any]) -> WebParts:
    parts: WebParts = request.app.state.hall_web
    return parts


def hall_of(request: Request[Any, Any, Any]) -> HallContext:
    hall: HallContext = request.app.state.hall
    return hall


def locale_of(request: Request[Any, Any, Any]) -> str:
    return pick_locale(request.cookies.get(LANG_COOKIE))


def _account(hall: HallContext, username: str) -> StaffAccount | None:
    with hall.field.read_session() as session:
        account = session.get(StaffAccount, username)
        if account is None or not account.active:
            return None
        session.expunge(account)
        return account


async def visitor(request: Request[Any, Any, Any]) -> Visitor:
    """The signed-in staff member (a dependency of every page but the login page)."""
    sessions = web_of(request).sessions
    session = await sessions.find(request.cookies.get(COOKIE))
    if session is None:
        raise NotSignedIn
    account = await to_thread.run_sync(_account, hall_of(request), session.username)
    if account is None:  # deactivated since: the session dies with the account
        await sessions.end(session.id)
        raise NotSignedIn
    return Visitor(account, session, locale_of(request))


def check_form(expected: str, form: Any) -> None:
    """The form's ``_csrf`` must be ``expected`` (compared in constant time)."""
    offered = form.get("_csrf") or ""
    if not isinstance(offered, str) or not hmac.compare_digest(offered, expected):
        raise BadForm
