"""How station events look on the wire (``/api/v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from fieldhall.field_app_api.clock import rfc3339

from ..tables import HallStationEvent, utc

__all__ = ["event_json", "phase_of"]


def phase_of(event: HallStationEvent, now: datetime) -> str:
    """``cancelled``, ``upcoming``, ``ongoing`` or ``ended`` at ``now``."""
    if event.status == "cancelled":
        return "cancelled"
    starts, ends = utc(event.starts_at), utc(event.ends_at)
    if starts is not None and now < starts:
        return "upcoming"
    if ends is not None and now < ends:
        return "ongoing"
    return "ended"


def event_json(event: HallStationEvent, now: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event.id,
        "station_id": event.station_id,
        "channel": f"station:{event.station_id}",
        "revision": event.revision,
        "status": event.status,
        "title": event.title,
        "place": {
            "name": event.place_name,
            "address": event.place_address,
            "location": orjson.loads(event.location) if event.location else None,
        },
        "starts_at": rfc3339(utc(event.starts_at)),
        "ends_at": rfc3339(utc(event.ends_at)),
        "catalog_version": event.catalog_version,
        "departments": orjson.loads(event.departments),
        "matters": orjson.loads(event.matters),
        "staff": orjson.loads(event.staff),
        "devices": orjson.loads(event.devices),
        "note": event.note,
        "cancel_reason": event.cancel_reason,
        "created_by": event.created_by,
        "created_at": rfc3339(utc(event.created_at)),
        "updated_by": event.updated_by,
        "updated_at": rfc3339(utc(event.updated_at)),
        "published": event.published_revision >= event.revision,
    }
    if now is not None:
        body["phase"] = phase_of(event, now)
    return body
