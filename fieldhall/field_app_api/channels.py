"""Which channels a document of ``/sync/field`` or ``/sync/catalog`` belongs to.

A pure function of the document, evaluated by the store at write time (like Couchbase Sync
Gateway's sync function). Devices read ``agent:<their agent>``, ``grid:<their grid>`` (visit
requests for the grid), ``station:<their station>`` (the event's information, never other
devices' cases) and ``public`` (the catalog). The hall reads everything as admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PUBLIC", "channels_of"]

PUBLIC = "public"

_STATION_INFO_TYPES = frozenset({"station_event"})


def channels_of(doc: Mapping[str, Any]) -> frozenset[str]:
    doc_type = doc.get("type")
    doc_id = str(doc.get("_id", ""))
    if doc_id.startswith("catalog:") or doc_type == "catalog":
        return frozenset({PUBLIC})
    channels: set[str] = {"hall"}
    agent = doc.get("agent_id")
    if isinstance(agent, str) and agent:
        channels.add(f"agent:{agent}")
    if doc_type == "visit_request":
        grid = doc.get("grid_id")
        if isinstance(grid, str) and grid:
            channels.add(f"grid:{grid}")
        assigned = doc.get("assigned_agent_id")
        if isinstance(assigned, str) and assigned:
            channels.add(f"agent:{assigned}")
    if doc_type in _STATION_INFO_TYPES:
        station = doc.get("station_id")
        if isinstance(station, str) and station:
            channels.add(f"station:{station}")
    return frozenset(channels)
