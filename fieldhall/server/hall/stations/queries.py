"""Stations and their events, as staff list them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from fieldhall.field_app_api.clock import rfc3339
from fieldhall.field_app_api.tables import Agent, Device, Station

from ..errors import BadRequest, NotFound
from ..tables import HallStationEvent

__all__ = ["list_events", "list_stations"]


def list_stations(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Every station with its enrolled devices and its next (or current) scheduled event."""
    devices = dict(
        session.exec(
            select(Agent.station_id, func.count(col(Device.id)))
            .join(Device, col(Device.agent_id) == col(Agent.id))
            .where(col(Agent.station_id).is_not(None), col(Device.revoked_at).is_(None))
            .group_by(Agent.station_id)
        ).all()
    )
    found = []
    for station in session.exec(select(Station).order_by(col(Station.id))):
        following = session.exec(
            select(HallStationEvent)
            .where(
                HallStationEvent.station_id == station.id,
                HallStationEvent.status == "scheduled",
                col(HallStationEvent.ends_at) > now,
            )
            .order_by(col(HallStationEvent.starts_at))
        ).first()
        found.append(
            {
                "id": station.id,
                "name": station.name,
                "channel": f"station:{station.id}",
                "devices": int(devices.get(station.id, 0)),
                "next_event": None
                if following is None
                else {
                    "id": following.id,
                    "title": following.title,
                    "starts_at": rfc3339(following.starts_at),
                    "ends_at": rfc3339(following.ends_at),
                },
            }
        )
    return found


def list_events(
    session: Session,
    station_id: str,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[HallStationEvent]:
    """The station's events by start time; ``since``/``until`` keep those overlapping it."""
    if session.get(Station, station_id) is None:
        raise NotFound("station.not_found", f"no station {station_id!r}")
    if status is not None and status not in ("scheduled", "cancelled"):
        raise BadRequest("station_event.bad_request", "status is scheduled or cancelled")
    query = select(HallStationEvent).where(HallStationEvent.station_id == station_id)
    if status:
        query = query.where(HallStationEvent.status == status)
    if since is not None:
        query = query.where(col(HallStationEvent.ends_at) > since)
    if until is not None:
        query = query.where(col(HallStationEvent.starts_at) < until)
    return list(session.exec(query.order_by(col(HallStationEvent.starts_at))))
