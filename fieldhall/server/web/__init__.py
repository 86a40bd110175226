"""The hall's web UI under ``/hall``: server-rendered pages for clerks, approvers,
supervisors and (the stations) admins, in Chinese first (English available).

* **Pages** (Jinja2, ``templates/``) call the same functions as the REST API — the inbox
  ``hall.queries.list_cases``, the case ``hall.detail.case_detail``, every action
  ``Workflow.act`` (with the form's one-time ``Idempotency-Key``), supervision
  ``hall.reports``, the dispatch board ``hall.visits`` (``list_requests``,
  ``request_detail``, ``VisitService.create``/``act`` with the form's key), the mobile
  stations ``hall.stations`` (``list_stations``, ``list_events``, ``event_summary``,
  ``StationEvents.create``/``change``/``cancel`` against the form's revision), a material's
  thumbnail and preview ``photos.case_photos.derivative_path`` — so the UI can do nothing the
  API would not.
* **Sign-in** (``sessions``, ``auth_pages``): server-side sessions behind an HttpOnly,
  SameSite=Lax cookie (Secure behind https), CSRF tokens on every form, the staff module's
  per-account lockout plus a per-address one; logins and logouts are audited.
* **Languages** (``i18n``): Babel catalogs committed as ``.po`` files and compiled in memory
  at first use, so a fresh clone needs no build step.
* **Security headers** (``rendering.SECURITY_HEADERS``): a Content-Security-Policy with no
  inline script or style at all, nosniff, frame denial, same-origin referrers, no-store.
  Every asset is under ``/hall/static``; charts are inline SVG drawn on the server.
"""

from .router import hall_web_router, web_parts

__all__ = ["hall_web_router", "web_parts"]
