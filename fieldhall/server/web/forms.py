"""A posted form as the body the REST API would send: a case action's for ``Workflow.act``,
a visit request's for ``VisitService.create`` and ``VisitService.act``, a station event's
for ``StationEvents.create``, ``change`` and ``cancel``.

Blank fields are left out, so the workflow's own parser (``hall.commands``) decides what is
required and says what is wrong; nothing is validated twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ..hall.timelimits.localday import HALL_TZ

__all__ = [
    "action_body",
    "station_cancel_body",
    "station_event_body",
    "visit_action_body",
    "visit_body",
]


def _text(form: Any, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _fields(form: Any, *names: str) -> dict[str, Any]:
    return {name: value for name in names if (value := _text(form, name)) is not None}


def _items(form: Any, *, with_due: bool) -> list[dict[str, Any]]:
    """Each ticked material with its problem (and due date), then each line of ``other``."""
    items = []
    for material_id in form.getall("material", []):
        item: dict[str, Any] = {"material_id": material_id}
        item.update({"problem": _text(form, f"problem:{material_id}") or ""})
        due = _text(form, f"due:{material_id}")
        if with_due and due:
            item["due"] = due
        items.append(item)
    for line in (_text(form, "other") or "").splitlines():
        if line.strip():
            items.append({"problem": line.strip()})
    return items


def action_body(action: str, form: Any) -> dict[str, Any]:
    if action in ("issue_notice", "accept_with_deficiencies"):
        body: dict[str, Any] = {"items": _items(form, with_due=action != "issue_notice")}
        body.update(_fields(form, "reason"))
        return body
    if action == "refuse":
        return _fields(form, "reason", "legal_basis")
    if action == "decide_step":
        return _fields(form, "decision", "reason", "step_id", "department")
    if action == "record_delivery":
        body = _fields(
            form, "method", "tracking_number", "recipient_name", "recipient_relation", "comment"
        )
        rating = _text(form, "rating")
        if rating is not None:
            body["rating"] = int(rating) if rating.isdigit() else rating
        return body
    if action == "escalate_complaint":
        return _fields(form, "complexity", "reason")
    if action == "answer_complaint":
        return _fields(form, "answer")
    return _fields(form, "reason")


def _target(form: Any) -> dict[str, Any]:
    """Where to dispatch: the pages' one select names a grid (``grid:<id>``, every agent of it)
    or one agent (``agent:<id>``, whose grid the service finds)."""
    kind, _, ident = (_text(form, "target") or "").partition(":")
    if kind == "grid" and ident:
        return {"grid_id": ident}
    if kind == "agent" and ident:
        return {"agent_id": ident}
    return {}


def visit_body(form: Any) -> dict[str, Any]:
    """A new visit request; ``resident`` is nested as the API takes it."""
    body = _fields(form, "source", "urgency", "matter_id", "ticket", "note")
    body["resident"] = {
        name: value
        for name in ("name", "address", "phone")
        if (value := _text(form, f"resident_{name}")) is not None
    }
    target = _target(form)
    if "grid_id" in target:
        body["grid_id"] = target["grid_id"]
    if "agent_id" in target:
        body["assigned_agent_id"] = target["agent_id"]
    return body


def visit_action_body(action: str, form: Any) -> dict[str, Any]:
    if action == "cancel":
        return _fields(form, "reason")
    return {**_target(form), **_fields(form, "reason")}


def _hall_instant(value: str | None) -> str | None:
    """A ``datetime-local`` value is the hall's wall-clock time; anything else is passed on
    as typed, for the service to refuse precisely."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=HALL_TZ)
    return moment.isoformat()


def _revision(form: Any, body: dict[str, Any]) -> None:
    revision = _text(form, "revision")
    if revision is not None:
        body["revision"] = int(revision) if revision.isdigit() else revision


def station_event_body(
    form: Any, *, location: str | None = None, change: bool = False
) -> dict[str, Any]:
    """A new event, or (``change``) the whole event as the form shows it against the form's
    ``revision``. The form has no map: a change keeps the stored ``location`` of the place."""
    body: dict[str, Any] = _fields(form, "title", "catalog_version")
    place = _fields(form, "place_name", "place_address")
    body["place"] = {"name": place.get("place_name"), "address": place.get("place_address")}
    body["place"] = {k: v for k, v in body["place"].items() if v is not None}
    if location:
        body["place"]["location"] = orjson.loads(location)
    for name in ("starts_at", "ends_at"):
        instant = _hall_instant(_text(form, name))
        if instant is not None:
            body[name] = instant
    body["departments"] = list(form.getall("department", []))
    body["matters"] = list(form.getall("matter", []))
    body["staff"] = list(form.getall("agent", []))
    body["devices"] = list(form.getall("device", []))
    note = _text(form, "note")
    if note is not None or change:
        body["note"] = note  # a change with the note emptied clears it
    if change:
        _revision(form, body)
    return body


def station_cancel_body(form: Any) -> dict[str, Any]:
    body = _fields(form, "reason")
    _revision(form, body)
    return body
