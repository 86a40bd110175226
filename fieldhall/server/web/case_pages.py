"""``/hall/cases/{id}``: one case — applicant, form answers, materials with the evidence
checks, timeline — and every workflow action the visitor's role may take, each a form
posting to ``/hall/cases/{id}/actions/{action}``, carried out by the same ``Workflow.act``
as the REST API, with the form's one-time ``Idempotency-Key`` (a double click or a resent
form replays the first reply instead of acting twice)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect
from sqlmodel import col, select

from fieldhall.field_app_api.clock import now
from fieldhall.schemas import load_catalog

from ..hall.clocks import matter_of
from ..hall.detail import case_detail, get_case
from ..hall.errors import HallError, NotFound
from ..hall.tables import HallMaterial
from ..hall.timelimits.localday import hall_date
from ..photos.case_photos import VARIANTS, derivative_path
from ..photos.tables import PhotoStatus
from .access import CASE_READERS, Visitor, check_form, hall_of, visitor
from .answers import labelled_answers
from .applicant import SEAL_OPENERS, open_sealed_fields, present_sealed, signed_case
from .forms import action_body
from .labels import (
    ACTIONS,
    CHANNELS,
    CHECKS,
    CLOCKS,
    DECISIONS,
    DELIVERY_METHODS,
    EVENTS,
    ITEM_KINDS,
    OUTCOMES,
    ROLES,
    STATES,
)
from .rendering import SECURITY_HEADERS, page

__all__ = ["CasePages"]

# Files a browser may show inline from the case page; anything else is downloaded.
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")

# A device's file is never a page: no script, its own origin. The browser's image viewer
# styles the image inline: that alone is allowed.
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _timeline(detail: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [{"kind": "event", "at": e["at"], "event": e} for e in detail["events"]]
    entries += [
        {"kind": "supplement", "at": s["received_at"], "supplement": s}
        for s in detail["supplements"]
    ]
    entries += [
        {"kind": "delivery", "at": d["delivered_at"], "delivery": d} for d in detail["deliveries"]
    ]
    return sorted(entries, key=lambda e: e["at"] or "")


def _material_urls(case_id: str, material: dict[str, Any], names: list[str]) -> dict[str, str]:
    """The original's address, and its derivatives' when the photo worker made them; a
    supplement may reuse a file name, so then its document too."""
    path = f"/hall/cases/{quote(case_id, safe=':')}/materials/{quote(material['name'], safe='')}"
    query = (
        f"?doc={quote(material['doc_id'], safe=':')}" if names.count(material["name"]) > 1 else ""
    )
    urls = {"url": path + query}
    if (material.get("photo") or {}).get("status") == PhotoStatus.DERIVED:
        urls |= {f"{variant}_url": f"{path}/{variant}{query}" for variant in VARIANTS}
    return urls


def _my_step(detail: dict[str, Any], department: str | None) -> dict[str, Any] | None:
    """The current approval step if the approver's department still has to decide it."""
    for step in detail["steps"]:
        if not step["current"]:
            continue
        for entry in step["departments"]:
            if entry["department"] == department and entry["decision"] is None:
                found: dict[str, Any] = step
                return found
    return None


def _case_context(request: Request[Any, Any, Any], me: Visitor, case_id: str) -> dict[str, Any]:
    hall = hall_of(request)
    at = now()
    with hall.field.read_session() as session:
        detail = case_detail(hall.field, session, case_id, at, hall.workflow.calendar)
        case = get_case(session, case_id)
        matter = matter_of(case)
    doc = signed_case(hall.field, case_id)
    catalog = load_catalog(case.catalog_version)
    actions = [a["action"] for a in detail["actions"] if me.role in a["roles"]]
    missing = [m for m in matter.materials if m.id in detail["pre_review"]["missing"]]
    names = [m["name"] for m in detail["materials"]]
    return {
        "staff": me.account,
        "nav": me.nav,
        "csrf": me.session.csrf,
        "here": "/hall/cases",
        "case": detail,
        "matter": matter,
        "departments": catalog.departments,
        "applicant": doc.get("applicant") or {},
        "sealed": present_sealed(doc),
        "may_open": me.may(SEAL_OPENERS),
        "opened": None,
        "answers": labelled_answers(doc.get("form") or {}, matter.form_schema),
        "materials": [
            {
                **m,
                "label": (spec.name if (spec := matter.material(m["material_id"])) else None),
                "inline": m["content_type"] in INLINE_TYPES,
                **_material_urls(case_id, m, names),
            }
            for m in detail["materials"]
        ],
        # Present once the photo worker flags a photo seen in another case (hall.detail).
        "duplicates": detail.get("duplicate_photos") or [],
        "missing": missing,
        "deferrable": [m for m in missing if m.deferrable],
        "timeline": _timeline(detail),
        "actions": actions,
        "my_step": _my_step(detail, me.account.department) if "decide_step" in actions else None,
        "idempotency_key": secrets.token_urlsafe(18),
        "default_due": (hall_date(at) + timedelta(days=10)).isoformat(),
        "labels": {
            "states": STATES,
            "actions": ACTIONS,
            "events": EVENTS,
            "channels": CHANNELS,
            "checks": CHECKS,
            "clocks": CLOCKS,
            "roles": ROLES,
            "decisions": DECISIONS,
            "item_kinds": ITEM_KINDS,
            "delivery": DELIVERY_METHODS,
            "outcomes": OUTCOMES,
        },
        "done": None,
        "error": None,
        "failed_action": None,
    }


def _case_page(me: Visitor, context: dict[str, Any], status: int = 200) -> Response[str]:
    # The action forms are macros: they get the page's context as one value.
    return page("case.html", me.locale, status=status, ctx=dict(context), **context)


class CasePages(Controller):
    path = "/hall/cases/{case_id:str}"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/", sync_to_thread=True)
    def case(
        self, request: Request[Any, Any, Any], me: Visitor, case_id: str, done: str | None = None
    ) -> Response[str]:
        me.require(CASE_READERS)
        context = _case_context(request, me, case_id)
        context["done"] = done if done in ACTIONS else None
        return _case_page(me, context)

    @post("/applicant")
    async def open_applicant(
        self, request: Request[Any, Any, Any], me: Visitor, case_id: str
    ) -> Response[str]:
        """Show the sealed applicant fields, once, audited."""
        me.require(CASE_READERS)
        check_form(me.session.csrf, await request.form())
        me.require(SEAL_OPENERS)
        hall = hall_of(request)
        opened = await to_thread.run_sync(open_sealed_fields, hall.field, case_id, me.account)
        context = await to_thread.run_sync(_case_context, request, me, case_id)
        context["opened"] = opened
        return _case_page(me, context)

    @post("/actions/{action:str}")
    async def act(
        self, request: Request[Any, Any, Any], me: Visitor, case_id: str, action: str
    ) -> Response[Any]:
        me.require(CASE_READERS)
        form = await request.form()
        check_form(me.session.csrf, form)
        key = str(form.get("_key") or "") or None
        hall = hall_of(request)
        try:
            await to_thread.run_sync(
                lambda: hall.workflow.act(
                    case_id, action, action_body(action, form), me.account, idempotency_key=key
                )
            )
        except HallError as exc:
            if exc.code in ("case.not_found", "case.unknown_action"):
                raise
            context = await to_thread.run_sync(_case_context, request, me, case_id)
            context.update(error=exc, failed_action=action)
            return _case_page(me, context, status=exc.status)
        return Redirect(
            f"/hall/cases/{case_id}?done={action}",
            status_code=303,
            headers=dict(SECURITY_HEADERS),
        )

    @get("/materials/{name:str}", sync_to_thread=True)
    def material(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        case_id: str,
        name: str,
        doc: str | None = None,
    ) -> Response[bytes]:
        """A material's original bytes, as the device sent them (staff only); ``doc`` picks
        the document when the case and a supplement carry files of the same name."""
        me.require(CASE_READERS)
        hall = hall_of(request)
        query = select(HallMaterial).where(
            HallMaterial.case_id == case_id, HallMaterial.name == name
        )
        if doc is not None:
            query = query.where(HallMaterial.doc_id == doc)
        with hall.field.read_session() as session:
            row = session.exec(query.order_by(col(HallMaterial.id).desc())).first()
        if row is None or not hall.field.store.blobs.exists(row.sha256):
            raise NotFound("material.not_found", f"no material {name} in {case_id}")
        data = hall.field.store.blobs.read(row.sha256)
        inline = row.content_type in INLINE_TYPES
        disposition = "inline" if inline else "attachment"
        return Response(
            data,
            media_type=row.content_type if inline else "application/octet-stream",
            headers={
                **SECURITY_HEADERS,
                "Content-Security-Policy": FILE_POLICY,
                "Content-Disposition": f'{disposition}; filename="{_ascii(name)}"',
                "Cache-Control": "private, max-age=3600",
            },
        )

    @get("/materials/{name:str}/thumbnail", sync_to_thread=True)
    def thumbnail(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        case_id: str,
        name: str,
        doc: str | None = None,
    ) -> Response[bytes]:
        """The case page's small picture of a photo (the photo worker's derivative)."""
        return _derivative(request, me, case_id, name, "thumbnail", doc)

    @get("/materials/{name:str}/preview", sync_to_thread=True)
    def preview(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        case_id: str,
        name: str,
        doc: str | None = None,
    ) -> Response[bytes]:
        """A screen-sized, oriented copy of a photo without its metadata."""
        return _derivative(request, me, case_id, name, "preview", doc)


def _derivative(
    request: Request[Any, Any, Any],
    me: Visitor,
    case_id: str,
    name: str,
    variant: str,
    doc: str | None,
) -> Response[bytes]:
    """A derivative file, found by the photos module (``photo.pending``, ``photo.not_derived``
    … as a 404 page when there is none); it never changes, so the browser may keep it."""
    me.require(CASE_READERS)
    hall = hall_of(request)
    with hall.field.read_session() as session:
        path = derivative_path(session, hall.photos.store, case_id, name, variant, doc)
    etag = f'"{path.parent.name}-{variant}"'
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": FILE_POLICY,
        "Cache-Control": "private, max-age=86400",
        "ETag": etag,
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(path.read_bytes(), media_type="image/jpeg", headers=headers)


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
