"""The demo's mobile service station event (流动服务站) at the Wuyue Plaza mall.

PENDING: station events (place, time, departments, matters offered, staff and devices
assigned, the event summary) are being built in ``fieldhall.server.hall.stations`` on
another branch. Until that lands, :func:`seed_station_event` only makes sure the station
exists; the demo's mall cases are filed by the station's enrolled device (channel
``mobile_station``, ``station_id`` set) on the event's day, so the event will have its
cases to summarise. When ``hall.stations`` is merged, create the event here — this is the
one function to change.
"""

from __future__ import annotations

from sqlmodel import Session

from fieldhall.field_app_api.directory import ensure_station
from fieldhall.field_app_api.tables import Station

from .people import STATION

__all__ = ["seed_station_event"]


def seed_station_event(session: Session) -> Station:
    """The mall station (and, once ``hall.stations`` exists, its event)."""
    station_id, name = STATION
    return ensure_station(session, station_id, name)
