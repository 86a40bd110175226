"""Mobile service stations (流动服务站): their events, published to the station's devices, and
each event's summary. Modules: ``requests`` (what staff send), ``service`` (create, change,
cancel, with the rules), ``publishing`` (the signed documents into ``/sync/field``),
``queries`` (stations and their events), ``summary`` (cases by matter and department, JSON
and CSV), ``views``."""

from __future__ import annotations

from .publishing import publish_station_events, unpublished_station_events
from .queries import list_events, list_stations
from .service import StationEvents, station_document
from .summary import event_summary, event_summary_csv
from .views import event_json

__all__ = [
    "StationEvents",
    "event_json",
    "event_summary",
    "event_summary_csv",
    "list_events",
    "list_stations",
    "publish_station_events",
    "station_document",
    "unpublished_station_events",
]
