"""Document schemas: every type accepts a correct example and refuses each missing field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fieldhall.schemas import DOCUMENT_TYPES, document_schema, new_document_id, validate_document
from fieldhall.schemas.documents import DEVICE_TYPES, SERVER_TYPES, document_id_pattern
from fieldhall.schemas.errors import (
    ContractError,
    SchemaInvalid,
    UnknownCatalogVersion,
    UnknownMatter,
    UnknownType,
)

from .examples import OLD_CATALOG, form_example, signed, unsigned_case

# Each type's required members, as ARCHITECTURE lists them.
REQUIRED = {
    "case": {
        "matter",
        "channel",
        "agent_id",
        "device_id",
        "grid_id",
        "applicant",
        "form",
        "materials",
        "consent",
    },
    "supplement": {"case_id", "answers_event", "materials"},
    "delivery": {"case_id", "method", "delivered_at", "recipient", "materials"},
    "visit_update": {"request_id", "status", "at"},
    "case_event": {"agent_id", "case_id", "event", "by_role", "at"},
    "visit_request": {"request_id", "source", "urgency", "resident", "deadlines", "grid_id"},
    "receipt": {"agent_id", "device_id", "case_id", "for", "attachments", "received_at"},
    "station_event": {
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
    },
}
COMMON = {"_id", "type", "contract", "created_at", "signature"}
DEVICE = {"agent_id", "device_id", "device_seq", "prev_hash"}


def _refused(doc: Any) -> ContractError:
    with pytest.raises(ContractError) as refused:
        validate_document(doc)
    return refused.value


def test_the_types_are_those_of_architecture() -> None:
    assert set(DOCUMENT_TYPES) == set(REQUIRED)
    assert set(DEVICE_TYPES) == {"case", "supplement", "delivery", "visit_update"}
    assert set(SERVER_TYPES) == {"case_event", "visit_request", "receipt", "station_event"}


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_each_schema_is_self_contained_2020_12(doc_type: str) -> None:
    schema = document_schema(doc_type)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    refs = [part for part in json.dumps(schema).split('"$ref": ')[1:]]
    assert all(ref.startswith('"#/$defs/') for ref in refs)
    assert set(schema["required"]) == REQUIRED[doc_type] | COMMON | (
        DEVICE if doc_type in DEVICE_TYPES else set()
    )


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_a_correct_example_is_accepted(doc_type: str) -> None:
    validate_document(signed(doc_type))


@pytest.mark.parametrize(
    ("doc_type", "member"),
    [(t, m) for t in DOCUMENT_TYPES for m in sorted(set(document_schema(t)["required"]))],
)
def test_each_missing_required_member_is_refused(doc_type: str, member: str) -> None:
    doc = signed(doc_type)
    del doc[member]
    refused = _refused(doc)
    if member == "type":
        assert isinstance(refused, UnknownType)
        return
    assert isinstance(refused, SchemaInvalid)
    assert refused.reason == f"schema_invalid: /{member}: required member is missing"


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_an_unknown_member_is_refused(doc_type: str) -> None:
    doc = signed(doc_type)
    doc["priority"] = "high"
    assert _refused(doc).reason == "schema_invalid: /priority: member is not allowed here"


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_couchdb_members_are_allowed(doc_type: str) -> None:
    doc = signed(doc_type)
    doc.update(
        _rev="1-abc",
        _revisions={"start": 1, "ids": ["abc"]},
        _attachments={"id_front.jpg": {"stub": True}},
    )
    validate_document(doc)
    doc["_deleted"] = True
    assert _refused(doc).pointer == "/_deleted"


def test_an_unknown_type_is_refused_with_its_code() -> None:
    for doc in ({"type": "invoice"}, {"type": 3}, {}):
        refused = _refused(doc)
        assert isinstance(refused, UnknownType)
        assert refused.reason == "unknown_type: /type: not a document type of contract v1"
    with pytest.raises(UnknownType):
        document_schema("invoice")
    assert isinstance(_refused(["case"]), SchemaInvalid)


def test_document_ids_are_type_prefixed_ulids_or_uuid7s_in_canonical_spelling() -> None:
    fresh = new_document_id("case")
    assert fresh.startswith("case:") and len(fresh) == 31
    doc = signed("case")
    for good in (fresh, "case:0195563a-7b1c-7d2e-8f30-4a5b6c7d8e9f"):
        validate_document(dict(doc, _id=good))
    for bad in (
        "supplement:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z",  # another type's prefix
        "case:01jn8y5z6q7r8s9t0v1w2x3y4z",  # ULID in lower case: a second id for one doc
        "case:0195563A-7B1C-7D2E-8F30-4A5B6C7D8E9F",
        "case:0195563a-7b1c-4d2e-8f30-4a5b6c7d8e9f",  # UUIDv4
        "case:81JN8Y5Z6Q7R8S9T0V1W2X3Y4Z",  # beyond the ULID range
    ):
        assert _refused(dict(doc, _id=bad)).pointer == "/_id"
    assert document_id_pattern("case").startswith("^case:")
    with pytest.raises(UnknownType):
        new_document_id("invoice")


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d.update(contract=2), "/contract"),
        (lambda d: d.update(channel="street"), "/channel"),
        (lambda d: d.update(device_seq=0), "/device_seq"),
        (lambda d: d.update(device_seq=2**53), "/device_seq"),
        (lambda d: d.update(prev_hash="ab" * 32), "/prev_hash"),  # the first names no hash
        (lambda d: d.update(device_seq=2, prev_hash=None), "/prev_hash"),
        (lambda d: d.update(created_at="2026-03-02 10:15:00"), "/created_at"),
        (lambda d: d.update(created_at="2026-02-30T10:15:00+08:00"), "/created_at"),
        (
            lambda d: d["signature"].update(signed_at="2026-03-02T10:15:00+08:00"),
            "/signature/signed_at",
        ),
        (lambda d: d["signature"].update(alg="RS256"), "/signature/alg"),
        (lambda d: d["signature"].update(sig="c2ln"), "/signature/sig"),
        (
            lambda d: d["signature"].update(kid="server:0123456789abcdef", extra=1),
            "/signature/extra",
        ),
        (lambda d: d["applicant"].update(id_number="22010419420315122"), "/applicant/id_number"),
        (lambda d: d["applicant"].update(phone="4001234567"), "/applicant/phone"),
        (
            lambda d: d["applicant"].update(id_number={"sealed": "x" * 40, "enc": "y" * 43}),
            "/applicant/id_number/alg",
        ),
        (lambda d: d["applicant"].pop("name"), "/applicant/name"),
        (lambda d: d["matter"].pop("catalog_version"), "/matter/catalog_version"),
        (lambda d: d.update(materials=[]), "/materials"),
        (lambda d: d["materials"][0].update(sha256="ABC"), "/materials/0/sha256"),
        (lambda d: d["materials"][0].update(length=0), "/materials/0/length"),
        (lambda d: d["materials"][0].update(name="_design.jpg"), "/materials/0/name"),
        (lambda d: d["materials"][0].update(content_type="JPEG"), "/materials/0/content_type"),
        (lambda d: d["materials"][0].pop("captured_at"), "/materials/0/captured_at"),
        (lambda d: d["materials"][1].update(name="id_front.jpg"), "/materials/1/name"),
        (lambda d: d["consent"].update(attachment="missing.png"), "/consent/attachment"),
        (lambda d: d.update(location={"lat": 91, "lon": 0}), "/location/lat"),
        (lambda d: d.update(location="长春"), "/location"),
        (lambda d: d.update(channel="mobile_station"), None),  # allowed for senior cards
        (lambda d: d.update(location=None, station_id="station-wuyue"), None),
    ],
)
def test_case_rules(change: Any, pointer: str | None) -> None:
    doc = signed("case")
    change(doc)
    if pointer is None:
        validate_document(doc)
        return
    refused = _refused(doc)
    assert (refused.code, refused.pointer) == ("schema_invalid", pointer)


def test_a_case_is_judged_by_its_catalog_version_and_matter() -> None:
    signature = signed("case")["signature"]
    doc = unsigned_case(matter={"id": "senior_citizen_card", "catalog_version": "2019.1"})
    refused = _refused(dict(doc, signature=signature))
    assert isinstance(refused, UnknownCatalogVersion)
    assert refused.reason.startswith("unknown_catalog_version: /matter/catalog_version: ")

    doc = unsigned_case(matter={"id": "gas_account_opening", "catalog_version": OLD_CATALOG})
    refused = _refused(dict(doc, signature=signature))
    assert isinstance(refused, UnknownMatter)
    assert refused.pointer == "/matter/id"

    # The same answers are right for 2026.1 and wrong for 2025.2, whose form asked for more.
    doc = unsigned_case("senior_citizen_card", "2026.1", signature=signature)
    validate_document(doc)
    doc["matter"]["catalog_version"] = OLD_CATALOG
    refused = _refused(doc)
    assert refused.pointer == "/form/hukou_address"
    doc["form"] = form_example("senior_citizen_card", OLD_CATALOG)
    doc["materials"].append(doc["materials"][0] | {"name": "x.jpg", "material_id": "hukou_booklet"})
    validate_document(doc)


def test_a_case_names_only_materials_and_channels_of_its_matter() -> None:
    doc = signed("case")
    doc["materials"][0]["material_id"] = "passport"
    assert _refused(doc).reason.startswith("schema_invalid: /materials/0/material_id: ")

    doc = unsigned_case("old_age_allowance", channel="mobile_station")
    doc["signature"] = signed("case")["signature"]
    refused = _refused(doc)
    assert refused.pointer == "/channel"
    assert "home_visit, hospital, hall" in refused.message


def test_the_form_is_validated_with_form_pointers() -> None:
    doc = signed("case")
    doc["form"]["emergency_contact"]["relation"] = "朋友"
    assert _refused(doc).pointer == "/form/emergency_contact/relation"


def test_sealed_fields_are_accepted_where_the_contract_allows_them() -> None:
    sealed = {"sealed": "A" * 40, "enc": "B" * 43, "alg": "HPKE-X25519-SHA256-A256GCM"}
    case = signed("case")
    case["applicant"]["id_number"] = sealed
    case["applicant"]["phone"] = sealed
    validate_document(case)
    request = signed("visit_request")
    request["resident"]["phone"] = sealed
    validate_document(request)
    case["applicant"]["name"] = sealed
    assert _refused(case).pointer == "/applicant/name"
    case = signed("case")
    case["applicant"]["id_number"] = dict(sealed, alg="HPKE-P256")
    assert _refused(case).pointer == "/applicant/id_number/alg"


@pytest.mark.parametrize(
    ("doc_type", "change", "pointer"),
    [
        ("supplement", lambda d: d.update(answers_event="notice:1"), "/answers_event"),
        ("supplement", lambda d: d.update(case_id="case:xyz"), "/case_id"),
        ("delivery", lambda d: d.update(method="courier"), "/method"),
        ("delivery", lambda d: d.update(rating=6), "/rating"),
        ("delivery", lambda d: d.update(recipient_signature=None), "/recipient_signature"),
        ("delivery", lambda d: d.update(recipient_signature="other.png"), "/recipient_signature"),
        ("delivery", lambda d: d.update(method="pickup", recipient_signature=None), None),
        ("delivery", lambda d: d.update(rating=None, comment=None), None),
        ("visit_update", lambda d: d.update(status="lost"), "/status"),
        ("visit_update", lambda d: d.update(location=None), None),
        ("case_event", lambda d: d.update(event="approved", items=[]), None),
        ("case_event", lambda d: d.update(items=[]), "/items"),
        ("case_event", lambda d: d.pop("items"), "/items"),
        ("case_event", lambda d: d.update(event="refused"), "/reason"),
        ("case_event", lambda d: d.update(event="refused", reason="不属于本机关职权范围"), None),
        ("case_event", lambda d: d.update(event="step_decided"), "/step"),
        (
            "case_event",
            lambda d: d.update(
                event="step_decided",
                step={"id": "joint_review", "department": "taxation", "decision": "approved"},
            ),
            None,
        ),
        ("case_event", lambda d: d.update(by_role="mayor"), "/by_role"),
        ("case_event", lambda d: d["items"][0].update(due="2026-13-01"), "/items/0/due"),
        ("case_event", lambda d: d["signature"].update(kid="device-bob"), "/signature/kid"),
        (
            "visit_request",
            lambda d: d["deadlines"].update(on_site_by=None),
            "/deadlines/on_site_by",
        ),
        (
            "visit_request",
            lambda d: (d.update(urgency="simple"), d["deadlines"].update(on_site_by=None)),
            None,
        ),
        ("visit_request", lambda d: d.update(assigned_agent_id=None, matter_id=None), None),
        ("visit_request", lambda d: d["resident"].update(phone="110"), "/resident/phone"),
        ("receipt", lambda d: d["for"].update(rev="abc"), "/for/rev"),
        ("receipt", lambda d: d["for"].update(id="receipt:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z"), "/for/id"),
        ("receipt", lambda d: d["attachments"].update({"a.jpg": "xyz"}), "/attachments/a.jpg"),
        ("receipt", lambda d: d.update(case_id=None), None),
    ],
)
def test_type_rules(doc_type: str, change: Any, pointer: str | None) -> None:
    doc = signed(doc_type)
    change(doc)
    if pointer is None:
        validate_document(doc)
        return
    refused = _refused(doc)
    assert (refused.code, refused.pointer) == ("schema_invalid", pointer)


def test_the_published_schema_is_a_fresh_copy() -> None:
    schema = document_schema("case")
    schema["properties"].clear()
    assert document_schema("case")["properties"]


def test_a_published_schema_alone_validates_the_example() -> None:
    # What a third-party app does with GET /api/v1/schemas/case (no fieldhall code).
    for doc_type in DOCUMENT_TYPES:
        Draft202012Validator(document_schema(doc_type)).validate(signed(doc_type))
