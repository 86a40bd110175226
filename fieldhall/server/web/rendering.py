"""Pages from Jinja2 templates, in the visitor's language, with the hall's security headers.

Every string in a template goes through ``_()``; dates and times are shown in the hall's
zone (Asia/Shanghai), instants stay UTC everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Response

from ..hall.timelimits.localday import HALL_TZ
from .i18n import LOCALES, translations
from .labels import ROLES

__all__ = ["SECURITY_HEADERS", "local_time", "page"]

# No inline script or style anywhere: every script and stylesheet is a file under
# /hall/static, so the policy needs no nonces and an injected <script> cannot run.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=PackageLoader("fieldhall.server.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: str | datetime | None, with_time: bool = True) -> str:
    """An RFC 3339 instant (or datetime) as the hall's wall-clock time."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(HALL_TZ)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


_env.filters["local_time"] = local_time


def page(
    template: str,
    locale: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    catalog = translations(locale)
    html = _env.get_template(template).render(
        _=catalog.gettext,
        ngettext=catalog.ngettext,
        locale=locale,
        html_lang=LOCALES[locale][1],
        locales=LOCALES,
        role_names=ROLES,
        **context,
    )
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers={**SECURITY_HEADERS, **(headers or {})},
    )
