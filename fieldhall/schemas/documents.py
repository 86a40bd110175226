"""JSON Schemas (2020-12, self-contained) of the document types in ``/sync/field``.

One schema per ``type``, with exactly ARCHITECTURE's field names ("Documents in /sync/field").
They are what ``GET /api/v1/schemas/{type}`` publishes, so a third-party field app can check
a document before it signs it. What a schema cannot say — a case's ``form`` against its
matter's form schema, names that must point into ``materials`` — is checked by
:func:`fieldhall.schemas.validation.validate_document`.

Common to every document: ``_id`` = ``<type>:<ULID | UUIDv7>`` in canonical spelling (ULID in
upper case, UUIDv7 in lower case: one document, one id, so a retried upload is never a
duplicate); ``type``; ``contract`` = 1; ``created_at``; ``signature``. CouchDB's own members
(``_rev``, ``_revisions``, ``_attachments``, ``_conflicts``, ``_deleted_conflicts``) are
allowed and not signed; any other member is refused (``additionalProperties: false``
throughout), so contract v1 means exactly these fields. Device documents add ``agent_id``,
``device_id``, ``device_seq`` and ``prev_hash`` (``null`` exactly for ``device_seq`` 1).

Timestamps are RFC 3339 with an explicit offset; ``signature.signed_at`` is UTC (``Z``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ulid import ULID

from fieldhall.schemas.catalog import CHANNELS, DELIVERY_METHODS
from fieldhall.schemas.errors import UnknownType
from fieldhall.schemas.formats import DATE_PATTERN, DATE_TIME_PATTERN, UTC_DATE_TIME_PATTERN
from fieldhall.schemas.ijson import MAX_SAFE_INTEGER
from fieldhall.schemas.sealing import SEAL_ALG
from fieldhall.schemas.station_event import (
    STATION_EVENT_MEMBERS,
    STATION_EVENT_REQUIRED,
    STATION_EVENT_RULES,
)

__all__ = [
    "CONTRACT_VERSION",
    "DEVICE_TYPES",
    "DOCUMENT_TYPES",
    "ID_NUMBER_PATTERN",
    "PHONE_PATTERN",
    "SERVER_TYPES",
    "document_id_pattern",
    "document_schema",
    "new_document_id",
]

CONTRACT_VERSION = 1
DEVICE_TYPES = ("case", "supplement", "delivery", "visit_update")
SERVER_TYPES = ("case_event", "visit_request", "receipt", "station_event")
DOCUMENT_TYPES = DEVICE_TYPES + SERVER_TYPES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ULID_PATTERN = "[0-7][0-9A-HJKMNP-TV-Z]{25}"
UUID7_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
# 公民身份号码 (GB 11643): 6-digit area, birth date, 3-digit sequence, check digit 0-9/X.
ID_NUMBER_PATTERN = (
    "^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$"
)
# A mainland mobile number, or a landline with its area code: 0915-3212345.
PHONE_PATTERN = "^(1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8})$"

EVENTS = (
    "received",
    "pre_review_passed",
    "notice",
    "accepted",
    "accepted_with_deficiencies",
    "refused",
    "step_decided",
    "approved",
    "denied",
    "result_ready",
    "closed",
    "withdrawn",
)
ROLES = ("clerk", "approver", "supervisor", "admin", "system")
VISIT_STATUSES = ("taken", "on_site", "done", "cannot_complete")
VISIT_SOURCES = ("hotline", "community", "family", "resident", "hall")
URGENCIES = ("simple", "urgent")


def document_id_pattern(doc_type: str) -> str:
    """The ``_id`` pattern of a document type: ``^<type>:(<ULID>|<UUIDv7>)$``."""
    return f"^{doc_type}:({ULID_PATTERN}|{UUID7_PATTERN})$"


def new_document_id(doc_type: str) -> str:
    """A fresh ``<type>:<ULID>`` (generate it once, on the device, and keep it for retries)."""
    if doc_type not in DOCUMENT_TYPES:
        raise UnknownType(f"no document type {doc_type!r}", pointer="/type")
    return f"{doc_type}:{ULID()}"


def document_schema(doc_type: str) -> dict[str, Any]:
    """The published JSON Schema of ``doc_type`` (a fresh copy), or :class:`UnknownType`."""
    schema = _SCHEMAS.get(doc_type)
    if schema is None:
        raise UnknownType(f"no document type {doc_type!r}", pointer="/type")
    return copy.deepcopy(schema)


def schema_of(doc_type: str) -> Mapping[str, Any] | None:
    """The shared schema of ``doc_type`` for validators (never mutate), or ``None``."""
    return _SCHEMAS.get(doc_type)


# ------------------------------------------------------------------ building blocks

_DEFS: dict[str, Any] = {
    "timestamp": {"type": "string", "pattern": DATE_TIME_PATTERN, "format": "date-time"},
    "utc_timestamp": {"type": "string", "pattern": UTC_DATE_TIME_PATTERN, "format": "date-time"},
    "date": {"type": "string", "pattern": DATE_PATTERN, "format": "date"},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "identifier": {"type": "string", "minLength": 1, "maxLength": 200},
    "text": {"type": ["string", "null"], "maxLength": 2000},
    "case_id": {"type": "string", "pattern": document_id_pattern("case")},
    "sealed": {
        "description": "A field sealed to the hall with HPKE (see ARCHITECTURE, field sealing).",
        "type": "object",
        "properties": {
            "sealed": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22,}$"},
            "enc": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
            "alg": {"const": SEAL_ALG},
        },
        "required": ["sealed", "enc", "alg"],
        "additionalProperties": False,
    },
    "id_number": {
        "anyOf": [
            {"type": "string", "pattern": ID_NUMBER_PATTERN},
            {"$ref": "#/$defs/sealed"},
        ]
    },
    "phone": {
        "anyOf": [
            {"type": "string", "pattern": PHONE_PATTERN},
            {"$ref": "#/$defs/sealed"},
        ]
    },
    "location": {
        "type": "object",
        "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "accuracy_m": {"type": "number", "minimum": 0},
        },
        "required": ["lat", "lon"],
        "additionalProperties": False,
    },
    "optional_location": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/location"}]},
    "material": {
        "description": "One attached file, bound by its sha256 and length to the signed body.",
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^_]"},
            "material_id": {"type": "string", "minLength": 1, "maxLength": 64},
            "sha256": {"$ref": "#/$defs/sha256"},
            "length": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
            "content_type": {
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$",
            },
            "captured_at": {"$ref": "#/$defs/timestamp"},
            "location": {"$ref": "#/$defs/optional_location"},
        },
        "required": ["name", "material_id", "sha256", "length", "content_type", "captured_at"],
        "additionalProperties": False,
    },
    "materials": {"type": "array", "items": {"$ref": "#/$defs/material"}},
    "device_signature": {
        "type": "object",
        "properties": {
            "alg": {"const": "Ed25519"},
            "kid": {"$ref": "#/$defs/identifier"},
            "signed_at": {"$ref": "#/$defs/utc_timestamp"},
            "sig": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
        },
        "required": ["alg", "kid", "signed_at", "sig"],
        "additionalProperties": False,
    },
    "server_signature": {
        "type": "object",
        "properties": {
            "alg": {"const": "Ed25519"},
            "kid": {"type": "string", "pattern": "^server:[0-9a-f]{16}$"},
            "signed_at": {"$ref": "#/$defs/utc_timestamp"},
            "sig": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
        },
        "required": ["alg", "kid", "signed_at", "sig"],
        "additionalProperties": False,
    },
}

_COUCH_MEMBERS: dict[str, Any] = {
    "_rev": {"type": "string"},
    "_revisions": {"type": "object"},
    "_attachments": {"type": "object"},
    "_conflicts": {"type": "array"},
    "_deleted_conflicts": {"type": "array"},
}

_DEVICE_MEMBERS: dict[str, Any] = {
    "agent_id": {"$ref": "#/$defs/identifier"},
    "device_id": {"$ref": "#/$defs/identifier"},
    "device_seq": {"type": "integer", "minimum": 1, "maximum": MAX_SAFE_INTEGER},
    "prev_hash": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/sha256"}]},
    "signature": {"$ref": "#/$defs/device_signature"},
}

# prev_hash is null for the first document of a device and only for it.
_CHAIN_RULE = {
    "if": {"properties": {"device_seq": {"const": 1}}, "required": ["device_seq"]},
    "then": {"properties": {"prev_hash": {"type": "null"}}},
    "else": {"properties": {"prev_hash": {"$ref": "#/$defs/sha256"}}},
}


def _document(
    doc_type: str,
    description: str,
    properties: dict[str, Any],
    required: list[str],
    *,
    device: bool,
    rules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    members: dict[str, Any] = {
        "_id": {"type": "string", "pattern": document_id_pattern(doc_type)},
        **_COUCH_MEMBERS,
        "type": {"const": doc_type},
        "contract": {"const": CONTRACT_VERSION},
        **properties,
        "created_at": {"$ref": "#/$defs/timestamp"},
    }
    common = ["_id", "type", "contract"]
    if device:
        members.update(_DEVICE_MEMBERS)
        tail = ["agent_id", "device_id", "created_at", "device_seq", "prev_hash", "signature"]
        rules = [_CHAIN_RULE, *(rules or [])]
    else:
        members["signature"] = {"$ref": "#/$defs/server_signature"}
        tail = ["created_at", "signature"]
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": f"fieldhall contract v{CONTRACT_VERSION}: {doc_type}",
        "description": description,
        "type": "object",
        "properties": members,
        "required": common + [name for name in required if name not in common + tail] + tail,
        "additionalProperties": False,
    }
    if rules:
        schema["allOf"] = rules
    schema["$defs"] = copy.deepcopy(_DEFS)
    return schema


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _when(member: str, values: list[Any], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {member: {"enum": values}}, "required": [member]},
        "then": then,
    }


_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_ADDRESS = {"type": "string", "minLength": 1, "maxLength": 500}

_SCHEMAS: dict[str, dict[str, Any]] = {
    "case": _document(
        "case",
        "One application (办件), filed on a device; form answers the matter's form schema "
        "of the named catalog version.",
        {
            "matter": _object(
                {
                    "id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "catalog_version": {"type": "string", "minLength": 1, "maxLength": 32},
                },
                ["id", "catalog_version"],
            ),
            "channel": {"enum": list(CHANNELS)},
            "grid_id": {"$ref": "#/$defs/identifier"},
            "station_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
            "request_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
            "applicant": _object(
                {
                    "name": _NAME,
                    "id_number": {"$ref": "#/$defs/id_number"},
                    "phone": {"$ref": "#/$defs/phone"},
                    "address": _ADDRESS,
                },
                ["name", "id_number"],
            ),
            "form": {"type": "object"},
            "materials": {"$ref": "#/$defs/materials", "minItems": 1},
            "consent": _object(
                {
                    "attachment": {"type": "string", "minLength": 1, "maxLength": 255},
                    "signed_at": {"$ref": "#/$defs/timestamp"},
                },
                ["attachment", "signed_at"],
            ),
            "location": {"$ref": "#/$defs/optional_location"},
        },
        ["matter", "channel", "grid_id", "applicant", "form", "materials", "consent"],
        device=True,
    ),
    "supplement": _document(
        "supplement",
        "Materials supplied after filing, answering a notice or an acceptance with "
        "deficiencies (the case_event named by answers_event).",
        {
            "case_id": {"$ref": "#/$defs/case_id"},
            "answers_event": {"type": "string", "pattern": document_id_pattern("case_event")},
            "materials": {"$ref": "#/$defs/materials"},
            "note": {"$ref": "#/$defs/text"},
        },
        ["case_id", "answers_event", "materials"],
        device=True,
    ),
    "delivery": _document(
        "delivery",
        "The result handed over (送达) and the resident's rating (好差评); an agent's "
        "hand-over names the recipient's signature image among materials.",
        {
            "case_id": {"$ref": "#/$defs/case_id"},
            "method": {"enum": list(DELIVERY_METHODS)},
            "delivered_at": {"$ref": "#/$defs/timestamp"},
            "recipient": _object(
                {"name": _NAME, "relation": {"type": "string", "minLength": 1, "maxLength": 32}},
                ["name", "relation"],
            ),
            "recipient_signature": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
            "materials": {"$ref": "#/$defs/materials"},
            "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
            "comment": {"$ref": "#/$defs/text"},
        },
        ["case_id", "method", "delivered_at", "recipient", "materials"],
        device=True,
        rules=[
            _when(
                "method",
                ["agent"],
                {
                    "properties": {"recipient_signature": {"type": "string"}},
                    "required": ["recipient_signature"],
                },
            )
        ],
    ),
    "visit_update": _document(
        "visit_update",
        "Progress on a home-visit request.",
        {
            "request_id": {"$ref": "#/$defs/identifier"},
            "status": {"enum": list(VISIT_STATUSES)},
            "at": {"$ref": "#/$defs/timestamp"},
            "location": {"$ref": "#/$defs/optional_location"},
            "note": {"$ref": "#/$defs/text"},
        },
        ["request_id", "status", "at"],
        device=True,
    ),
    "case_event": _document(
        "case_event",
        "A hall decision on a case, signed by the server, synced back to the agent.",
        {
            "agent_id": {"$ref": "#/$defs/identifier"},
            "case_id": {"$ref": "#/$defs/case_id"},
            "event": {"enum": list(EVENTS)},
            "items": {
                "type": "array",
                "items": _object(
                    {
                        "material_id": {
                            "type": ["string", "null"],
                            "minLength": 1,
                            "maxLength": 64,
                        },
                        "problem": {"type": "string", "minLength": 1, "maxLength": 500},
                        "due": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/date"}]},
                    },
                    ["material_id", "problem"],
                ),
            },
            "step": _object(
                {
                    "id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "department": {"type": "string", "minLength": 1, "maxLength": 64},
                    "decision": {"enum": ["approved", "denied"]},
                },
                ["id", "department", "decision"],
            ),
            "reason": {"$ref": "#/$defs/text"},
            "by_role": {"enum": list(ROLES)},
            "at": {"$ref": "#/$defs/timestamp"},
        },
        ["agent_id", "case_id", "event", "by_role", "at"],
        device=False,
        rules=[
            # A one-time notice (一次性告知) and an acceptance with deficiencies (容缺受理)
            # list what is missing; a refusal and a denial give their reason; a step decision
            # names the step.
            _when(
                "event",
                ["notice", "accepted_with_deficiencies"],
                {"properties": {"items": {"minItems": 1}}, "required": ["items"]},
            ),
            _when(
                "event",
                ["refused", "denied"],
                {
                    "properties": {"reason": {"type": "string", "minLength": 1}},
                    "required": ["reason"],
                },
            ),
            _when("event", ["step_decided"], {"required": ["step"]}),
        ],
    ),
    "visit_request": _document(
        "visit_request",
        "A home-visit request (from the 12345 hotline, the community, a family member) for "
        "a grid, possibly assigned to one of its agents.",
        {
            "request_id": {"$ref": "#/$defs/identifier"},
            "source": {"enum": list(VISIT_SOURCES)},
            "urgency": {"enum": list(URGENCIES)},
            "resident": _object(
                {"name": _NAME, "address": _ADDRESS, "phone": {"$ref": "#/$defs/phone"}},
                ["name", "address"],
            ),
            "matter_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64},
            "deadlines": _object(
                {
                    "take_by": {"$ref": "#/$defs/timestamp"},
                    "on_site_by": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/timestamp"}]},
                    "close_by": {"$ref": "#/$defs/timestamp"},
                },
                ["take_by", "close_by"],
            ),
            "grid_id": {"$ref": "#/$defs/identifier"},
            "assigned_agent_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
            "note": {"$ref": "#/$defs/text"},
        },
        ["request_id", "source", "urgency", "resident", "deadlines", "grid_id"],
        device=False,
        rules=[
            # Urgent tickets: on site within 2 hours, so the deadline is always set.
            _when(
                "urgency",
                ["urgent"],
                {
                    "properties": {"deadlines": {"properties": {"on_site_by": {"type": "string"}}}},
                    "required": ["deadlines"],
                },
            )
        ],
    ),
    "receipt": _document(
        "receipt",
        "The server's signed acknowledgement of a device document it accepted (回执).",
        {
            "agent_id": {"$ref": "#/$defs/identifier"},
            "device_id": {"$ref": "#/$defs/identifier"},
            "case_id": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/case_id"}]},
            "for": _object(
                {
                    "id": {
                        "type": "string",
                        "pattern": "^(case|supplement|delivery|visit_update):"
                        f"({ULID_PATTERN}|{UUID7_PATTERN})$",
                    },
                    "rev": {"type": "string", "pattern": "^[1-9][0-9]*-[0-9a-f]+$"},
                    "sha256": {"$ref": "#/$defs/sha256"},
                },
                ["id", "rev", "sha256"],
            ),
            "attachments": {
                "type": "object",
                "propertyNames": {"minLength": 1, "maxLength": 255},
                "additionalProperties": {"$ref": "#/$defs/sha256"},
            },
            "received_at": {"$ref": "#/$defs/timestamp"},
        },
        ["agent_id", "device_id", "case_id", "for", "attachments", "received_at"],
        device=False,
    ),
    "station_event": _document(
        "station_event",
        "A mobile service station's event (流动服务站): place, time, departments present, "
        "matters offered, staff and devices; published in the station's channel and revised "
        "in place (revision) when the hall changes or cancels it.",
        STATION_EVENT_MEMBERS,
        STATION_EVENT_REQUIRED,
        device=False,
        rules=STATION_EVENT_RULES,
    ),
}
