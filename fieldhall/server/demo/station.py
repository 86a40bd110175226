"""The demo's mobile service station (流动服务站) at the Wuyue Plaza mall, and its event.

The station is made with the grids (:func:`ensure_mall_station`); once its staff member's
phone is enrolled, the supervisor plans the event (:func:`seed_station_event`) through
:class:`StationEvents` — the call behind ``POST /api/v1/stations/{id}/events`` — the working
day before it, for the opening hours of the day the plan files its ``mobile_station`` cases,
offering exactly their matters with every department those matters need. The station's cases
are then filed within the event, so its summary counts each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from fieldhall.field_app_api.directory import ensure_station
from fieldhall.field_app_api.tables import StaffAccount, Station
from fieldhall.schemas import load_catalog

from ..hall.stations import StationEvents
from ..hall.tables import HallStationEvent
from .people import STATION

__all__ = ["EVENT_TITLE", "ensure_mall_station", "seed_station_event"]

EVENT_TITLE = "政务服务进商圈 · 高频事项集中办理"
PLACE = {
    "name": "吾悦广场一楼中庭",
    "address": "陕西省安康市汉滨区吾悦广场购物中心一楼",
    "location": {"lat": 32.7036, "lon": 109.0138, "accuracy_m": 20},
}


def ensure_mall_station(session: Session) -> Station:
    station_id, name = STATION
    return ensure_station(session, station_id, name)


def seed_station_event(
    stations: StationEvents,
    planner: StaffAccount,
    *,
    opens: datetime,
    closes: datetime,
    planned_at: datetime,
    matters: Sequence[str],
    catalog_version: str,
    staff: Sequence[str],
    devices: Sequence[str],
) -> HallStationEvent:
    """The mall event, created by ``planner`` at ``planned_at`` (the service's clock is set
    to it for the one call, so the audit log and ``created_at`` read as the plan's)."""
    catalog = load_catalog(catalog_version)
    offered = list(dict.fromkeys(matters))
    departments = list(dict.fromkeys(d for m in offered for d in catalog.matter(m).departments))
    body = {
        "title": EVENT_TITLE,
        "place": PLACE,
        "starts_at": opens.isoformat(),
        "ends_at": closes.isoformat(),
        "catalog_version": catalog_version,
        "departments": departments,
        "matters": offered,
        "staff": list(staff),
        "devices": list(devices),
        "note": "工作日营业时间在商场中庭设点，工作人员携带移动终端现场受理，材料当场拍照上传。",
    }
    real_clock = stations.clock
    stations.clock = lambda: planned_at
    try:
        return stations.create(STATION[0], body, planner)
    finally:
        stations.clock = real_clock
