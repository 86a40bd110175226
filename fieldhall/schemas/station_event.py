"""The ``station_event`` document: a mobile service station's event (流动服务站) as the hall
publishes it, server-signed, into the channel ``station:<station_id>``, which the devices
enrolled for the station read.

One document per event, revised in place (a new CouchDB revision, signed again) whenever staff
change or cancel the event: ``revision`` counts the hall's versions (1, 2, 3…), so a device
that holds two revisions keeps the higher one. A cancelled event stays, with
``status: cancelled`` and its ``cancel_reason``, so a device shows why the station is not there.

Only the members; :mod:`fieldhall.schemas.documents` wraps them into the published schema
(``_id``, ``type``, ``contract``, ``created_at``, ``signature``, the shared ``$defs``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["STATION_EVENT_MEMBERS", "STATION_EVENT_REQUIRED", "STATION_EVENT_RULES", "STATUSES"]

STATUSES = ("scheduled", "cancelled")

# Catalog ids of matters and departments (CONTRACT, "The catalog").
_CATALOG_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"}
_STATION_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$"}

STATION_EVENT_MEMBERS: dict[str, Any] = {
    "station_id": _STATION_ID,
    "channel": {
        "description": "The channel the event is published in: station:<station_id>.",
        "type": "string",
        "pattern": "^station:[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$",
    },
    "revision": {"type": "integer", "minimum": 1, "maximum": 1000000},
    "status": {"enum": list(STATUSES)},
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "place": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "address": {"type": "string", "minLength": 1, "maxLength": 500},
            "location": {"$ref": "#/$defs/optional_location"},
        },
        "required": ["name", "address"],
        "additionalProperties": False,
    },
    "starts_at": {"$ref": "#/$defs/timestamp"},
    "ends_at": {"$ref": "#/$defs/timestamp"},
    "catalog_version": {"type": "string", "minLength": 1, "maxLength": 32},
    "departments": {
        "description": "Departments present (ids of the catalog's departments).",
        "type": "array",
        "items": _CATALOG_ID,
        "minItems": 1,
        "maxItems": 50,
        "uniqueItems": True,
    },
    "matters": {
        "description": "Matters offered (ids of the named catalog version's matters).",
        "type": "array",
        "items": _CATALOG_ID,
        "minItems": 1,
        "maxItems": 200,
        "uniqueItems": True,
    },
    "staff": {
        "description": "The station's staff on duty (agents).",
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "agent_id": {"$ref": "#/$defs/identifier"},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
            },
            "required": ["agent_id", "name"],
            "additionalProperties": False,
        },
        "maxItems": 100,
    },
    "devices": {
        "description": "Ids of the devices assigned to the event.",
        "type": "array",
        "items": {"$ref": "#/$defs/identifier"},
        "maxItems": 100,
        "uniqueItems": True,
    },
    "note": {"$ref": "#/$defs/text"},
    "cancel_reason": {"$ref": "#/$defs/text"},
    "updated_at": {"$ref": "#/$defs/timestamp"},
}

STATION_EVENT_REQUIRED = [
    "station_id",
    "channel",
    "revision",
    "status",
    "title",
    "place",
    "starts_at",
    "ends_at",
    "catalog_version",
    "departments",
    "matters",
    "staff",
    "devices",
    "updated_at",
]

STATION_EVENT_RULES: list[dict[str, Any]] = [
    # A cancelled event says why.
    {
        "if": {"properties": {"status": {"const": "cancelled"}}, "required": ["status"]},
        "then": {
            "properties": {"cancel_reason": {"type": "string", "minLength": 1}},
            "required": ["cancel_reason"],
        },
    }
]
